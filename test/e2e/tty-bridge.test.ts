/**
 * The TTY bridge end to end under a real pseudo-terminal, without runc: the real exec-stream server and SDK stream,
 * with an engine that runs commands on the host (node-pty for tty sessions, pipes otherwise). A small driver program
 * (the CLI's run() of `runta exec -i/-t` with the SDK's stream) runs under node-pty and is checked from the outside:
 * what the terminal shows, its exit status, and `stty -a` afterwards (raw mode must be off again).
 * test/e2e/tty-cli.test.ts does the same through the built `bin/runta` against a real daemon and runc.
 */
import { spawn as spawnChild, type ChildProcess } from "node:child_process";
import http from "node:http";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { AddressInfo, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import pty from "node-pty";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { StreamSignal } from "../../src/api/index.js";
import type { Engine, ProcessExit, StreamProcess, StreamSpec } from "../../src/engine/types.js";
import { attachExecStream, type ExecStreamServer } from "../../src/server/exec-stream.js";
import { terminal } from "../helpers/terminal.js";

const PROMPT = /[#$] $/m;
const ROOT = resolve(import.meta.dirname, "../..");
const TOKEN = "e2e-token";
const SIGNUM: Record<string, number> = { HUP: 1, INT: 2, QUIT: 3, KILL: 9, TERM: 15, TSTP: 20, WINCH: 28 };

/** Runs a command on the host, in its own process group, the way the runc engine runs it in a runtime. */
function hostProcess(spec: StreamSpec, live: Set<number>): StreamProcess {
  const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", ...spec.env };
  let exit: Promise<ProcessExit>;
  let pid: number;
  let out: (c: Buffer) => void = () => undefined;
  let err: (c: Buffer) => void = () => undefined;
  let io: { write(d: Buffer): void; closeStdin(): void; resize(r: number, c: number): void };
  if (spec.tty) {
    const p = pty.spawn(spec.argv[0], spec.argv.slice(1), { name: env.TERM ?? "xterm", rows: spec.rows ?? 24, cols: spec.cols ?? 80, cwd: spec.cwd ?? "/", env, encoding: null });
    pid = p.pid;
    p.onData((d) => out(Buffer.from(d as unknown as Buffer)));
    exit = new Promise((r) => p.onExit((e) => r({ code: e.signal ? 128 + e.signal : e.exitCode, signal: null, oomKilled: false })));
    io = { write: (d) => p.write(d.toString("binary")), closeStdin: () => p.write("\x04"), resize: (r, c) => p.resize(c, r) };
  } else {
    const c: ChildProcess = spawnChild(spec.argv[0], spec.argv.slice(1), { cwd: spec.cwd ?? "/", env, detached: true, stdio: "pipe" });
    pid = c.pid!;
    c.stdout!.on("data", (d: Buffer) => out(d));
    c.stderr!.on("data", (d: Buffer) => err(d));
    c.stdin!.on("error", () => undefined);
    exit = new Promise((r) => c.on("close", (code, sig) => r({ code: sig ? 128 + (SIGNUM[sig.slice(3)] ?? 15) : (code ?? 0), signal: sig, oomKilled: false })));
    io = { write: (d) => c.stdin!.write(d), closeStdin: () => c.stdin!.end(), resize: () => undefined };
  }
  live.add(pid);
  void exit.then(() => live.delete(pid));
  const kill = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      // Already gone.
    }
  };
  return {
    onStdout: (cb) => void (out = cb),
    onStderr: (cb) => void (err = cb),
    write: (d) => io.write(d),
    closeStdin: () => io.closeStdin(),
    resize: (r, c) => io.resize(r, c),
    signal: (s: StreamSignal) => kill(`SIG${s}` as NodeJS.Signals),
    hangup: () => {
      kill("SIGHUP");
      setTimeout(() => kill("SIGKILL"), 500).unref();
    },
    wait: () => exit,
  };
}

let dir: string;
let server: http.Server;
let ctl: ExecStreamServer;
let endpoint: string;
const live = new Set<number>();
const conns = new Set<Socket>();
let driver: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "runta-tty-e2e-"));
  // `runta exec [-i] [-t] host -- <argv>` through the CLI's own run(), with the SDK's stream; the one runtime is "host".
  const source = join(dir, "driver.ts");
  writeFileSync(
    source,
    `import { run } from ${JSON.stringify(join(ROOT, "src/cli/main.js"))};
import { processIO } from ${JSON.stringify(join(ROOT, "src/cli/io.js"))};
import type { RuntaApi, ExecStreamOptions } from ${JSON.stringify(join(ROOT, "src/client/contract.js"))};
import { ExecStream } from ${JSON.stringify(join(ROOT, "src/client/exec-stream.js"))};
void (async () => {
  const runtimes = {
    get: async (id: string) => ({ id }),
    execStream: (id: string, command: string[], options: ExecStreamOptions) =>
      new ExecStream({ endpoint: process.env.D_ENDPOINT!, token: process.env.D_TOKEN, runtime: id, command, options }),
  };
  const flags = [process.env.D_I === "1" ? "-i" : "", process.env.D_TTY === "1" ? "-t" : ""].filter(Boolean);
  process.exitCode = await run(["exec", ...flags, "host", "--", ...JSON.parse(process.env.D_ARGV!)], { io: processIO(), client: { runtimes } as unknown as RuntaApi });
  // Node resets the terminal when it exits anyway; this shows the bridge restored it before returning.
  if (process.stdin.isTTY) process.stderr.write("raw-after=" + process.stdin.isRaw + "\\n");
})();
`,
  );
  // One self-contained file that plain node runs; it must exit on its own, so a dangling handle fails the tests.
  driver = join(dir, "driver.cjs");
  // import.meta.url as in src/cli/main.ts, where the CLI finds package.json for its version.
  const define = { "import.meta.url": JSON.stringify(pathToFileURL(join(ROOT, "src/cli/main.ts")).href) };
  await build({ entryPoints: [source], bundle: true, platform: "node", format: "cjs", outfile: driver, define, external: ["bufferutil", "utf-8-validate"], logLevel: "error" });
  // The upgrade gate looks the runtime up before it answers 101 (an unknown one is a 404); every name exists here.
  const engine = {
    get: async (ref: string) => ({ id: ref, name: ref, status: "running" }),
    execStream: async (_ref: string, spec: StreamSpec) => hostProcess(spec, live),
  } as unknown as Engine;
  server = http.createServer((_q, s) => s.writeHead(404).end());
  server.on("connection", (s) => {
    conns.add(s);
    s.on("close", () => conns.delete(s));
  });
  ctl = attachExecStream(server, { engine, authenticate: (r) => r.headers.authorization === `Bearer ${TOKEN}`, checkOrigin: () => true });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  ctl?.closeAll(1001, "test over");
  await new Promise<void>((r) => server.close(() => r()));
  for (const pid of live) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // Already gone.
    }
  }
  rmSync(dir, { recursive: true, force: true });
  expect(live.size).toBe(0);
});

function run(argv: string[], o: { tty: boolean; i: boolean; wrap?: (cmd: string) => string; size?: { cols: number; rows: number } }) {
  const cmd = `node ${driver}`;
  return terminal(o.wrap ? o.wrap(cmd) : cmd, {
    env: { D_ENDPOINT: endpoint, D_TOKEN: TOKEN, D_ARGV: JSON.stringify(argv), D_TTY: o.tty ? "1" : "0", D_I: o.i ? "1" : "0" },
    size: o.size,
  });
}

describe("exec -it under a real terminal", () => {
  test("typed commands run, the size is right from the start, resize follows, exit 3 gives 3, terminal restored", async () => {
    const t = run(["sh"], { tty: true, i: true, size: { cols: 111, rows: 33 }, wrap: (c) => `stty sane; ${c}; echo "EXIT=$?"; stty -a` });
    await t.until(PROMPT);
    t.p.write("stty size; echo \"term=$TERM\"\r");
    await t.until(/^33 111\r?$/m);
    await t.until(/term=xterm-256color/);
    t.p.resize(120, 40);
    await new Promise((r) => setTimeout(r, 200));
    t.p.write("stty size\r");
    await t.until(/^40 120\r?$/m);
    t.p.write("exit 3\r");
    await t.until(/EXIT=3/);
    expect(t.text()).toContain("raw-after=false");
    // Cooked mode again: canonical input and echo are back on.
    const stty = await t.until(/speed[\s\S]*?-?icanon[\s\S]*?-?echo\b/);
    expect(stty[0]).toMatch(/(?<!-)icanon/);
    expect(stty[0]).toMatch(/(?<!-)echo\b/);
    expect(await t.exited).toBe(0);
  });

  test("Ctrl-C reaches the remote program and interrupts sleep 100", async () => {
    const t = run(["sh"], { tty: true, i: true });
    await t.until(PROMPT);
    t.p.write("sleep 100\r");
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    t.p.write("\x03");
    await t.until(/\^C\r*\n[#$] $/);
    expect(Date.now() - t0).toBeLessThan(5000);
    t.p.write("echo rc=$?\r");
    await t.until(/rc=130/);
    t.p.write("exit\r");
    expect(await t.exited).toBe(0);
  });

  test("the terminal is restored and the exit is 125 when the daemon dies mid-session", async () => {
    const t = run(["sh"], { tty: true, i: true, wrap: (c) => `stty sane; ${c}; echo "EXIT=$?"; stty -a` });
    await t.until(PROMPT);
    // Like kill -9 of the daemon: the TCP connections drop without a close frame.
    for (const s of conns) s.destroy();
    await t.until(/EXIT=125/);
    expect(t.text()).toContain("raw-after=false");
    expect(t.text()).toMatch(/runta: connection to the runta daemon at .* closed before the command exited/);
    const stty = await t.until(/speed[\s\S]*?-?icanon[\s\S]*?-?echo\b/);
    expect(stty[0]).toMatch(/(?<!-)icanon/);
    expect(await t.exited).toBe(0);
    // And the shell it was talking to is hung up, not orphaned.
    for (let i = 0; i < 200 && live.size > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(live.size).toBe(0);
  });
});

describe("exec -i with pipes", () => {
  test("echo hi | exec -i cat prints hi and exits 0", async () => {
    const t = run(["cat"], { tty: false, i: true, wrap: (c) => `echo hi | ${c}; echo "EXIT=$?"` });
    await t.until(/EXIT=0/);
    expect(t.text()).toMatch(/^hi\r?$/m);
  });

  test("binary data round-trips byte for byte, and output after EOF still arrives", async () => {
    const bin = join(dir, "bytes.bin");
    writeFileSync(bin, Buffer.from(Array.from({ length: 65536 }, (_, i) => (i * 7) % 256)));
    const t = run(["sh", "-c", "cat; sleep 0.3; echo after-eof >&2"], {
      tty: false,
      i: true,
      wrap: (c) => `${c} < ${bin} 2>${dir}/err | cmp - ${bin} && echo SAME; cat ${dir}/err`,
    });
    await t.until(/SAME/);
    await t.until(/after-eof/);
  });

  test("SIGTERM on the CLI is forwarded to the remote command", async () => {
    // -i, as a streamed session without a terminal takes it (stdin is /dev/null in the background: EOF at once).
    const t = run(["sh", "-c", "trap 'echo got-term; exit 7' TERM; echo ready; while :; do sleep 0.1; done"], {
      tty: false,
      i: true,
      wrap: (c) => `${c} & pid=$!; sleep 2; kill -TERM $pid; wait $pid; echo "EXIT=$?"`,
    });
    await t.until(/ready/);
    await t.until(/got-term/);
    await t.until(/EXIT=7/);
  });
});
