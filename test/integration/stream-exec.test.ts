/**
 * Streamed exec against real runc: a busybox container of its own (temp images dir, runc root, cgroup parent),
 * driven through startStreamExec with and without a pseudo-terminal. Ends with a leak check.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { RuntaError } from "../../src/api/index.js";
import { createBusyboxImage } from "../helpers/busybox-image.js";
import { startStreamExec as startExec, type StreamExecOptions } from "../../src/engine/stream-exec.js";
import { sessionMembers } from "../../src/engine/proc.js";
import type { StreamProcess } from "../../src/engine/types.js";
import { Runc } from "../../src/engine/runc.js";
import { buildExecProcess } from "../../src/engine/spec.js";

const RUNC = "/usr/bin/runc";
const tag = randomBytes(4).toString("hex");
const runcRoot = `/run/runta-test-${tag}/runc`;
const cgroupParent = `runta-test-${tag}`;
const containerId = `se-${tag}`;
let tmp: string;
let workDir: string;

const live: StreamProcess[] = [];

/** Starts an exec and remembers it, so a failing test cannot leave its shell running for the next one. */
async function startStreamExec(opts: StreamExecOptions): Promise<StreamProcess> {
  const p = await startExec(opts);
  live.push(p);
  return p;
}

afterEach(async () => {
  for (const p of live.splice(0)) {
    p.hangup();
    await p.wait().catch(() => undefined);
  }
});

function runc(...args: string[]): string {
  return execFileSync(RUNC, ["--root", runcRoot, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** The options of one exec: the process the engine would build (spec.ts), against this file's container and runc. */
function execOpts(
  args: string[],
  extra: { tty?: boolean; rows?: number; cols?: number; runcPath?: string; oomCount?: () => Promise<number> } = {},
): StreamExecOptions {
  return {
    runc: new Runc({ path: extra.runcPath ?? RUNC, root: runcRoot }),
    containerId,
    workDir,
    oomCount: extra.oomCount,
    process: buildExecProcess({ argv: args, cwd: "/", env: { PS1: "$ " }, tty: extra.tty ?? false, rows: extra.rows, cols: extra.cols }),
  };
}

/** busybox ash's prompt; its line editor follows it with a cursor-position query (ESC [6n). */
const PROMPT = /\$ (\x1b\[6n)?$/;

/** Collects a stream's output and lets a test wait for a pattern in it. */
function collect(p: StreamProcess, which: "stdout" | "stderr" = "stdout") {
  let buf = Buffer.alloc(0);
  const waiters: Array<() => void> = [];
  const on = which === "stdout" ? p.onStdout.bind(p) : p.onStderr.bind(p);
  on((chunk) => {
    buf = Buffer.concat([buf, chunk]);
    for (const w of waiters.splice(0)) w();
  });
  return {
    text: () => buf.toString("latin1"),
    bytes: () => buf,
    async waitFor(pattern: RegExp, ms = 5000): Promise<string> {
      const deadline = Date.now() + ms;
      while (!pattern.test(buf.toString("latin1"))) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern}; got ${JSON.stringify(buf.toString("latin1"))}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 50);
        });
      }
      return buf.toString("latin1");
    },
  };
}

function cgroupProcs(): number[] {
  const file = `/sys/fs/cgroup/pids/${cgroupParent}/${containerId}/cgroup.procs`;
  return readFileSync(file, "utf8").split("\n").filter(Boolean).map(Number);
}

function initPid(): number {
  return JSON.parse(runc("state", containerId)).pid as number;
}

/** Processes in the container besides its init; waits briefly because the kernel reaps asynchronously. */
async function strayProcesses(): Promise<number[]> {
  const init = initPid();
  for (let i = 0; i < 40; i++) {
    const others = cgroupProcs().filter((p) => p !== init);
    if (others.length === 0) return others;
    await new Promise((r) => setTimeout(r, 50));
  }
  return cgroupProcs().filter((p) => p !== init);
}

beforeAll(async () => {
  tmp = mkdtempSync("/tmp/runta-test-stream-");
  workDir = join(tmp, "work");
  mkdirSync(workDir);
  await createBusyboxImage(join(tmp, "images"));
  const bundle = join(tmp, "bundle");
  mkdirSync(bundle);
  execFileSync(RUNC, ["spec"], { cwd: bundle });
  const config = JSON.parse(readFileSync(join(bundle, "config.json"), "utf8"));
  config.root = { path: join(tmp, "images", "busybox", "rootfs"), readonly: true };
  config.process.terminal = false;
  config.process.args = ["sleep", "1000000"];
  // Absolute: runc resolves a relative cgroupsPath under the test process's own cgroup.
  config.linux.cgroupsPath = `/${cgroupParent}/${containerId}`;
  config.linux.resources.memory = { limit: 64 * 1024 * 1024, swap: 64 * 1024 * 1024 };
  config.mounts.push({ destination: "/tmp", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "mode=1777"] });
  writeFileSync(join(bundle, "config.json"), JSON.stringify(config));
  execFileSync(RUNC, ["--root", runcRoot, "run", "-d", "--pid-file", join(tmp, "init.pid"), containerId], {
    cwd: bundle,
    stdio: "ignore",
  });
});

afterAll(async () => {
  try {
    runc("kill", containerId, "KILL");
  } catch {
    // Not running.
  }
  for (let i = 0; i < 50; i++) {
    try {
      if (JSON.parse(runc("state", containerId)).status === "stopped") break;
    } catch {
      break;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  try {
    runc("delete", containerId);
  } catch {
    // Already deleted.
  }
  for (const controller of readdirSync("/sys/fs/cgroup")) {
    const dir = `/sys/fs/cgroup/${controller}/${cgroupParent}`;
    try {
      execFileSync("rmdir", [`${dir}/${containerId}`], { stdio: "ignore" });
    } catch {
      // Not there.
    }
    try {
      execFileSync("rmdir", [dir], { stdio: "ignore" });
    } catch {
      // Not there.
    }
  }
  rmSync(`/run/runta-test-${tag}`, { recursive: true, force: true });
  const leftoverWork = existsSync(workDir) ? readdirSync(workDir) : [];
  rmSync(tmp, { recursive: true, force: true });
  // Leak check: no exec files left, no cgroup, no runc state, no container.
  expect(leftoverWork).toEqual([]);
  for (const controller of readdirSync("/sys/fs/cgroup")) {
    expect(existsSync(`/sys/fs/cgroup/${controller}/${cgroupParent}`)).toBe(false);
  }
  expect(existsSync(`/run/runta-test-${tag}`)).toBe(false);
  expect(processesMentioning(runcRoot)).toEqual([]);
});

/** Pids whose command line mentions `needle` (a runc still running against our state root would). */
function processesMentioning(needle: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(needle)) found.push(Number(entry));
    } catch {
      // Exited meanwhile.
    }
  }
  return found;
}

describe("with a tty", () => {
  test("echoes a typed command and prints its output", async () => {
    const p = await startStreamExec(execOpts(["sh"], { tty: true }));
    const out = collect(p);
    await out.waitFor(PROMPT);
    p.write(Buffer.from("echo hi-$((40+2))\r"));
    await out.waitFor(/\nhi-42\r+\n/);
    p.write(Buffer.from("exit\r"));
    expect((await p.wait()).code).toBe(0);
  });

  test("has the requested size from the start, and follows a resize", async () => {
    const first = await startStreamExec(execOpts(["stty", "size"], { tty: true, rows: 33, cols: 101 }));
    const out1 = collect(first);
    expect((await first.wait()).code).toBe(0);
    expect(out1.text().trim()).toBe("33 101");

    const p = await startStreamExec(execOpts(["sh"], { tty: true, rows: 24, cols: 80 }));
    const out = collect(p);
    await out.waitFor(PROMPT);
    p.resize(40, 120);
    await new Promise((r) => setTimeout(r, 100));
    p.write(Buffer.from("stty size\r"));
    await out.waitFor(/\n40 120\r+\n/);
    p.write(Buffer.from("exit 3\r"));
    expect(await p.wait()).toEqual({ code: 3, signal: null, oomKilled: false });
  });

  test("Ctrl-C reaches the program through the terminal", async () => {
    const p = await startStreamExec(execOpts(["sleep", "100"], { tty: true }));
    const started = Date.now();
    await new Promise((r) => setTimeout(r, 200));
    p.write(Buffer.from("\x03"));
    expect(await p.wait()).toEqual({ code: 130, signal: "INT", oomKilled: false });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  test("closeStdin types ^D, which ends cat", async () => {
    const p = await startStreamExec(execOpts(["cat"], { tty: true }));
    const out = collect(p);
    p.write(Buffer.from("abc\r"));
    await out.waitFor(/abc\r+\nabc\r+\n/);
    p.closeStdin();
    expect((await p.wait()).code).toBe(0);
  });

  test("hangup ends a shell that ignores SIGHUP, and its background job, leaving no process", async () => {
    const p = await startStreamExec(execOpts(["sh"], { tty: true }));
    const out = collect(p);
    await out.waitFor(PROMPT);
    p.write(Buffer.from("trap '' HUP; sleep 1000 & echo started\r"));
    await out.waitFor(/\nstarted\r+\n/);
    expect(cgroupProcs().length).toBeGreaterThanOrEqual(3);
    const began = Date.now();
    p.hangup();
    const exit = await p.wait();
    expect(exit.code).toBe(137);
    expect(Date.now() - began).toBeGreaterThanOrEqual(1500);
    expect(await strayProcesses()).toEqual([]);
  });
});

describe("stdin backlog (what the websocket's input flow control reads)", () => {
  for (const tty of [true, false]) {
    test(`grows while the command does not read and falls to 0 once it does (${tty ? "tty" : "pipes"})`, async () => {
      // In canonical mode a tty discards input past 4095 bytes a line and so never pushes back: make it non-canonical.
      const script = tty ? "stty -icanon -echo; sleep 1; cat >/dev/null" : "sleep 1; cat >/dev/null";
      const p = await startStreamExec(execOpts(["sh", "-c", script], { tty }));
      expect(p.stdinBacklog!()).toBe(0);
      // Far more than a pipe or a tty's input queue holds; printable bytes, since a tty would act on control characters.
      for (let i = 0; i < 8; i++) p.write(Buffer.alloc(256 * 1024, 0x61));
      await new Promise((r) => setTimeout(r, 300));
      expect(p.stdinBacklog!()).toBeGreaterThan(1024 * 1024);
      const deadline = Date.now() + 10_000;
      while (p.stdinBacklog!() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(p.stdinBacklog!()).toBe(0);
      p.hangup();
      await p.wait();
    });
  }
});

describe("without a tty", () => {
  test("honours stdin EOF: cat ends when stdin closes", async () => {
    const p = await startStreamExec(execOpts(["cat"]));
    const out = collect(p);
    p.write(Buffer.from("hello\n"));
    await out.waitFor(/hello\n/);
    p.closeStdin();
    expect(await p.wait()).toEqual({ code: 0, signal: null, oomKilled: false });
    expect(out.text()).toBe("hello\n");
  });

  test("keeps stdout and stderr apart and passes every byte value through", async () => {
    const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const p = await startStreamExec(execOpts(["sh", "-c", "cat; printf 'to-stderr' >&2"]));
    const out = collect(p);
    const err = collect(p, "stderr");
    p.write(Buffer.concat([all, all]));
    p.closeStdin();
    expect((await p.wait()).code).toBe(0);
    expect(out.bytes().equals(Buffer.concat([all, all]))).toBe(true);
    expect(err.text()).toBe("to-stderr");
  });

  test("output written after stdin EOF still arrives", async () => {
    const p = await startStreamExec(execOpts(["sh", "-c", "read x; sleep 0.3; echo got-$x"]));
    const out = collect(p);
    p.write(Buffer.from("line\n"));
    p.closeStdin();
    expect((await p.wait()).code).toBe(0);
    expect(out.text()).toBe("got-line\n");
  });

  test("signal TERM ends the command's process group with 143", async () => {
    const p = await startStreamExec(execOpts(["sh", "-c", "sleep 100 & sleep 100"]));
    await new Promise((r) => setTimeout(r, 100));
    p.signal("TERM");
    expect(await p.wait()).toEqual({ code: 143, signal: "TERM", oomKilled: false });
    expect(await strayProcesses()).toEqual([]);
  });

  test("hangup kills sleep 1000 and leaves no process", async () => {
    const p = await startStreamExec(execOpts(["sleep", "1000"]));
    expect(cgroupProcs().length).toBe(2);
    p.hangup();
    expect(await p.wait()).toEqual({ code: 129, signal: "HUP", oomKilled: false });
    expect(await strayProcesses()).toEqual([]);
  });

  test("a command the OOM killer ends is reported as oomKilled", async () => {
    const oomFile = `/sys/fs/cgroup/memory/${cgroupParent}/${containerId}/memory.oom_control`;
    const oomCount = async () => Number(/oom_kill (\d+)/.exec(readFileSync(oomFile, "utf8"))?.[1] ?? 0);
    // dd fills a 256 MiB buffer in a runtime limited to 64 MiB.
    const p = await startStreamExec(execOpts(["dd", "if=/dev/zero", "of=/dev/null", "bs=256M", "count=1"], { oomCount }));
    expect(await p.wait()).toEqual({ code: 137, signal: "KILL", oomKilled: true });
    const killed = await startStreamExec(execOpts(["sleep", "100"], { oomCount }));
    killed.signal("KILL");
    expect(await killed.wait()).toEqual({ code: 137, signal: "KILL", oomKilled: false });
  });

  test("exit codes pass through, 255 included", async () => {
    const p = await startStreamExec(execOpts(["sh", "-c", "exit 255"]));
    expect((await p.wait()).code).toBe(255);
  });

  test("a missing command is 127 and a non-executable one 126, with the reason on stderr", async () => {
    const missing = await startStreamExec(execOpts(["no-such-command"]));
    const err = collect(missing, "stderr");
    expect((await missing.wait()).code).toBe(127);
    expect(err.text()).toBe("runta: no-such-command: command not found\n");

    const notExec = await startStreamExec(execOpts(["/etc/passwd"]));
    const err2 = collect(notExec, "stderr");
    expect((await notExec.wait()).code).toBe(126);
    expect(err2.text()).toMatch(/\/etc\/passwd: permission denied/);
  });

  test("a missing command under a tty is 127 with the reason on the terminal", async () => {
    const p = await startStreamExec(execOpts(["no-such-command"], { tty: true }));
    const out = collect(p);
    expect((await p.wait()).code).toBe(127);
    expect(out.text()).toMatch(/^runta: no-such-command: command not found\r+\n$/);
  });

  test("a paused container is a failed_precondition naming the fix; a bad cwd is invalid_argument", async () => {
    runc("pause", containerId);
    try {
      const err = await startStreamExec(execOpts(["true"])).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RuntaError);
      expect((err as RuntaError).code).toBe("failed_precondition");
      expect((err as RuntaError).message).toMatch(/paused; resume it/);
    } finally {
      runc("resume", containerId);
    }
    const opts = execOpts(["true"]);
    (opts.process as { cwd: string }).cwd = "/nowhere";
    const err = await startStreamExec(opts).catch((e: unknown) => e);
    expect((err as RuntaError).code).toBe("invalid_argument");
    expect((err as RuntaError).message).toMatch(/\/nowhere does not exist/);
  });

  test("a missing runc binary is unavailable with the fix, and leaves no files", async () => {
    for (const tty of [false, true]) {
      const err = await startStreamExec(execOpts(["true"], { tty, runcPath: "/nonexistent/runc" })).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: "unavailable", message: expect.stringMatching(/runc was not found at \/nonexistent\/runc/) });
    }
    expect(readdirSync(workDir)).toEqual([]);
  });

  test("several sessions run independently", async () => {
    const a = await startStreamExec(execOpts(["sh", "-c", "sleep 0.2; echo a"]));
    const b = await startStreamExec(execOpts(["sh", "-c", "echo b; exit 4"]));
    const outA = collect(a);
    const outB = collect(b);
    const [ea, eb] = await Promise.all([a.wait(), b.wait()]);
    expect([ea.code, eb.code]).toEqual([0, 4]);
    expect([outA.text(), outB.text()]).toEqual(["a\n", "b\n"]);
  });
});

test("sessionMembers finds this process's session", () => {
  const sid = Number(readFileSync("/proc/self/stat", "utf8").split(") ")[1].split(" ")[3]);
  expect(sessionMembers(sid)).toContain(process.pid);
});
