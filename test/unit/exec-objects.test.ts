import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, mkdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "vitest";
import { encodeFrame, FrameDecoder, FrameError, type Frame } from "../../src/api/exec-frames.js";
import type { ExecCgroup } from "../../src/engine/execs/cgroup.js";
import { ExecRegistry } from "../../src/engine/execs/registry.js";
import { ReplayBuffer } from "../../src/engine/execs/replay.js";
import { parseStatusFile, reaperArgv } from "../../src/engine/execs/reaper.js";
import { TerminalSession } from "../../src/engine/execs/session.js";
import { readRootfsEtc, resolveUser } from "../../src/engine/execs/user.js";
import type { ProcessExit, StreamProcess } from "../../src/engine/types.js";

test("frames survive any chunking: output bytes exact, JSON frames parsed, a partial frame held back", () => {
  const bin = randomBytes(70_000);
  const wire = Buffer.concat([
    encodeFrame("started", { exec_id: "abc", pid: 7 }),
    encodeFrame("stdout", bin),
    encodeFrame("stderr", Buffer.from("oops\n")),
    encodeFrame("exit", { code: 3, signal: null, oom_killed: false, ended_by: "exited" }),
  ]);
  for (const size of [1, 7, 4096, wire.length]) {
    const dec = new FrameDecoder();
    const frames: Frame[] = [];
    for (let i = 0; i < wire.length; i += size) frames.push(...dec.push(wire.subarray(i, i + size)));
    expect(dec.buffered).toBe(0);
    expect(frames.map((f) => f.kind)).toEqual(["started", "stdout", "stderr", "exit"]);
    expect((frames[1] as { data: Buffer }).data.equals(bin)).toBe(true);
    expect(frames[0]).toMatchObject({ exec_id: "abc", pid: 7 });
    expect(frames[3]).toMatchObject({ code: 3, ended_by: "exited" });
  }
  const cut = new FrameDecoder();
  expect(cut.push(wire.subarray(0, 40))).toHaveLength(1);
  expect(cut.buffered).toBeGreaterThan(0);
});

test("a decoder refuses bytes that are not the framed stream", () => {
  expect(() => new FrameDecoder().push(Buffer.from("<html>"))).toThrow(FrameError);
  const huge = Buffer.from([1, 0xff, 0xff, 0xff, 0xff]);
  expect(() => new FrameDecoder().push(huge)).toThrow(/larger than/);
});

test("the replay buffer keeps exactly the last N bytes, across wraps and oversized chunks", () => {
  const r = new ReplayBuffer(10);
  r.push(Buffer.from("abc"));
  expect(r.contents().toString()).toBe("abc");
  expect(r.wrapped).toBe(false);
  r.push(Buffer.from("defghij"));
  r.push(Buffer.from("klm"));
  expect(r.contents().toString()).toBe("defghijklm");
  expect(r.wrapped).toBe(true);
  r.push(Buffer.from("0123456789ABCDEF"));
  expect(r.contents().toString()).toBe("6789ABCDEF");
  let all = "";
  const big = new ReplayBuffer(64);
  for (let i = 0; i < 500; i++) {
    const s = `line ${i}\n`;
    all += s;
    big.push(Buffer.from(s));
  }
  expect(big.contents().toString()).toBe(all.slice(-64));
});

test("the registry keeps running execs and the last N finished ones, and says how each ended", () => {
  const evicted: string[] = [];
  const reg = new ExecRegistry({ historyPerRuntime: 2 });
  const a = reg.add("rt", { kind: "buffered", argv: ["true"], tty: false });
  a.cleanup = async () => void evicted.push(a.id);
  const b = reg.add("rt", { kind: "stream", argv: ["sleep", "1"], tty: false });
  const c = reg.add("rt", { kind: "detached", argv: ["x"], tty: false });
  const running = reg.add("rt", { kind: "detached", argv: ["server"], tty: false });
  a.ended({ code: 0, signal: null, oomKilled: false });
  b.ended({ code: 137, signal: null, oomKilled: false });
  c.markEnding("timed_out");
  c.ended({ code: 137, signal: "KILL", oomKilled: false });
  expect(evicted).toEqual([a.id]);
  expect(reg.list("rt").map((e) => e.id)).toEqual([b.id, c.id, running.id]);
  expect(b.info()).toMatchObject({ status: "ended", exit_code: 137, signal: "KILL", ended_by: "signalled" });
  expect(c.info().ended_by).toBe("timed_out");
  expect(running.info()).toMatchObject({ status: "running", ended_at: null, exit_code: null, attached: null });
  expect(() => reg.get("rt", "nope", "web")).toThrow(/no exec nope in runtime "web"; list them with: runta top web/);
  expect(() => b.signal("TERM")).toThrow(/has ended/);
  const lost = reg.add("rt2", { kind: "detached", argv: ["y"], tty: false });
  lost.ended(null);
  expect(lost.info()).toMatchObject({ ended_by: "unknown", exit_code: null });
});

test("an exec's signal reaches its process group; killAll reaches its whole session and says why it ended", async () => {
  const reg = new ExecRegistry();
  const child = spawn("sh", ["-c", "sleep 30 & exec sleep 30"], { detached: true, stdio: "ignore" });
  const e = reg.add("rt", { kind: "detached", argv: ["sleep"], tty: false });
  e.startedOnHost(child.pid!);
  expect(e.pid).toBe(child.pid); // no pid namespace here: the namespace pid is the host pid
  const exited = new Promise<string | null>((r) => child.once("exit", (_c, sig) => r(sig)));
  e.signal("TERM");
  expect(await exited).toBe("SIGTERM");
  e.ended({ code: 143, signal: "TERM", oomKilled: false });
  expect(e.info().ended_by).toBe("killed");
});

test("a killed exec's end waits for its cgroup's kill and never moves the survivors out of it (no setsid escape)", async () => {
  const reg = new ExecRegistry();
  const e = reg.add("rt", { kind: "detached", argv: ["sh"], tty: false });
  const calls: string[] = [];
  let killDone!: () => void;
  // The session's SIGKILL ends the command at once; the cgroup's kill (freeze, read members, kill) is still going.
  e.cgroup = {
    killAll: () => (calls.push("killAll"), new Promise<void>((r) => (killDone = r))),
    release: async () => void calls.push("release"),
    remove: async () => void calls.push("remove"),
  } as unknown as ExecCgroup;
  e.started({ pid: 7, hostPid: null, group: () => undefined, session: () => calls.push("session") });
  e.killAll("killed");
  e.ended({ code: 137, signal: "KILL", oomKilled: false });
  await new Promise((r) => setImmediate(r));
  expect(calls).toEqual(["killAll", "session"]);
  killDone();
  await new Promise((r) => setImmediate(r));
  expect(calls).toEqual(["killAll", "session", "remove"]);
  expect(e.info().ended_by).toBe("killed");

  // An exec that ended by itself leaves its background jobs to the runtime.
  const done = reg.add("rt", { kind: "detached", argv: ["sh"], tty: false });
  const left: string[] = [];
  done.cgroup = { release: async () => void left.push("release") } as unknown as ExecCgroup;
  done.ended({ code: 0, oomKilled: false });
  await new Promise((r) => setImmediate(r));
  expect(left).toEqual(["release"]);
});

test("users resolve like docker: names, numbers, groups, supplementary groups; unknown names are refused", () => {
  const passwd = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\napp:x:1000:1000::/home/app:/bin/sh\nbroken line\n";
  const group = "root:x:0:\nnogroup:x:65534:\napp:x:1000:\ndocker:x:999:app,other\n";
  expect(resolveUser("nobody", passwd, group, "rt")).toEqual({ uid: 65534, gid: 65534, additionalGids: [], home: "/nonexistent" });
  expect(resolveUser("app", passwd, group, "rt")).toEqual({ uid: 1000, gid: 1000, additionalGids: [999], home: "/home/app" });
  expect(resolveUser("app:root", passwd, group, "rt")).toMatchObject({ uid: 1000, gid: 0, additionalGids: [999] });
  expect(resolveUser("4242", passwd, group, "rt")).toEqual({ uid: 4242, gid: 0, additionalGids: [], home: "/" });
  expect(resolveUser("1000:5", passwd, group, "rt")).toMatchObject({ uid: 1000, gid: 5 });
  expect(() => resolveUser("ghost", passwd, group, "web")).toThrow(/user "ghost" does not exist in runtime "web"/);
  expect(() => resolveUser("app:ghosts", passwd, group, "web")).toThrow(/group "ghosts" does not exist/);
});

test("the runtime's /etc/passwd is read without following symlinks out of its root", async () => {
  const root = await mkdtemp(join(tmpdir(), "runta-user-"));
  try {
    await mkdir(join(root, "etc"));
    await writeFile(join(root, "etc/passwd"), "nobody:x:65534:65534::/:/bin/sh\n");
    await symlink("/etc/hostname", join(root, "etc/group"));
    expect(await readRootfsEtc(root, "passwd")).toContain("nobody");
    expect(await readRootfsEtc(root, "group")).toBe("");
    const evil = await mkdtemp(join(tmpdir(), "runta-user-"));
    await symlink("/etc", join(evil, "etc"));
    expect(await readRootfsEtc(evil, "passwd")).toBe("");
    await rm(evil, { recursive: true });
  } finally {
    await rm(root, { recursive: true });
  }
});

test("the reaper wraps runc's argv and reports its status file", () => {
  const argv = reaperArgv(["runc", "exec", "-d"], "/x.pid", "/x.status");
  expect(argv[0]).toBe("/usr/bin/perl");
  expect(argv.slice(3)).toEqual(["--", "/x.pid", "/x.status", "", "runc", "exec", "-d"]);
  expect(reaperArgv(["runc", "run", "-d"], "/x.pid", "/x.status", true).slice(3, 7)).toEqual(["--", "/x.pid", "/x.status", "1"]);
  expect(parseStatusFile("137\n")).toBe(137);
  expect(parseStatusFile("")).toBeNull();
  expect(parseStatusFile("abc")).toBeNull();
});

test("the reaper adopts the grandchild runc leaves behind and exits with its status, leaving background jobs alone", async () => {
  // Stand-in for `runc exec --detach`: starts the command in the background, writes its pid, exits 0 at once.
  const dir = await mkdtemp(join(tmpdir(), "runta-reaper-"));
  try {
    const pidFile = join(dir, "x.pid");
    const statusFile = join(dir, "x.status");
    const fakeRunc = ["sh", "-c", `sh -c 'sleep 0.3; (sleep 5 & echo $! > ${dir}/bg); exit 7' & echo $! > ${pidFile}`];
    const child = spawn(reaperArgv(fakeRunc, pidFile, statusFile)[0]!, reaperArgv(fakeRunc, pidFile, statusFile).slice(1), { stdio: "ignore" });
    const code = await new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
    expect(code).toBe(7);
    const { readFile } = await import("node:fs/promises");
    expect(parseStatusFile(await readFile(statusFile, "utf8"))).toBe(7);
    const bg = Number((await readFile(join(dir, "bg"), "utf8")).trim());
    expect(() => process.kill(bg, 0)).not.toThrow();
    process.kill(bg, "SIGKILL");
  } finally {
    await rm(dir, { recursive: true });
  }
});

test("with notify the reaper says 'started' once runc is done and closes its stdout; runc and the command get /dev/null", async () => {
  // Stand-in for `runc run -d`: starts an init that lives until killed, writes its pid, exits 0.
  const dir = await mkdtemp(join(tmpdir(), "runta-reaper-"));
  try {
    const pidFile = join(dir, "x.pid");
    const statusFile = join(dir, "x.status");
    const fakeRunc = ["sh", "-c", `echo runc-output; sh -c 'echo init-output; exec sleep 30' & echo $! > ${pidFile}`];
    const [file, ...args] = reaperArgv(fakeRunc, pidFile, statusFile, true);
    const child = spawn(file!, args, { stdio: ["ignore", "pipe", "ignore"] });
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    await new Promise((r) => child.stdout.once("end", r));
    // stdout ended while the reaper still waits for the init: only its own line came through.
    expect(out).toBe("started\n");
    expect(child.exitCode).toBeNull();
    const { readFile } = await import("node:fs/promises");
    process.kill(Number((await readFile(pidFile, "utf8")).trim()), "SIGKILL");
    expect(await new Promise((r) => child.once("exit", (c) => r(c)))).toBe(137);
    expect(parseStatusFile(await readFile(statusFile, "utf8"))).toBe(137);
  } finally {
    await rm(dir, { recursive: true });
  }
});

/** A terminal process stand-in: output pushed by the test, exit resolved by the test. */
function fakeTerminal() {
  const listeners: Array<(b: Buffer) => void> = [];
  let resolveExit!: (e: ProcessExit) => void;
  const exit = new Promise<ProcessExit>((r) => (resolveExit = r));
  const calls: string[] = [];
  const proc: StreamProcess = {
    execId: "e1",
    onStdout: (cb) => void listeners.push(cb),
    onStderr: () => {},
    write: (d) => void calls.push(`write:${d}`),
    closeStdin: () => void calls.push("eof"),
    resize: (r, c) => void calls.push(`resize:${r}x${c}`),
    signal: (s) => void calls.push(`signal:${s}`),
    hangup: () => void calls.push("hangup"),
    resume: () => void calls.push("resume"),
    wait: () => exit,
  };
  return { proc, calls, out: (s: string) => listeners.forEach((cb) => cb(Buffer.from(s))), exit: resolveExit };
}

test("a terminal session outlives its client for the grace period, replays its output to the next, then hangs up", async () => {
  const t = fakeTerminal();
  const reg = new ExecRegistry();
  const entry = reg.add("rt", { kind: "terminal", argv: ["sh"], tty: true });
  const session = new TerminalSession(t.proc, entry, 80, 16);
  entry.session = session;
  const first = session.connect();
  const seen: string[] = [];
  first.onStdout((b) => seen.push(b.toString()));
  t.out("$ ls\r\n");
  first.write(Buffer.from("x"));
  expect(seen).toEqual(["$ ls\r\n"]);
  first.hangup(); // the connection dropped
  expect(entry.info()).toMatchObject({ attached: false, status: "running" });
  expect(entry.info().grace_expires_at).not.toBeNull();
  t.out("more output while away\r\n");
  first.write(Buffer.from("ignored"));
  expect(t.calls).toEqual(["write:x", "resume"]);

  const { view, replay } = session.attach();
  expect(replay.toString()).toBe("$ ls\r\nmore output while away\r\n".slice(-16)); // the last 16 bytes
  expect(() => session.attach()).toThrow(/already has a client attached/);
  const again: string[] = [];
  view.onStdout((b) => again.push(b.toString()));
  t.out("live\r\n");
  expect(again).toEqual(["live\r\n"]);
  view.resize(40, 100);
  expect(t.calls).toContain("resize:40x100");

  view.hangup();
  await new Promise((r) => setTimeout(r, 150));
  expect(t.calls.at(-1)).toBe("hangup");
  t.exit({ code: 129, signal: "HUP", oomKilled: false });
  entry.ended({ code: 129, signal: "HUP", oomKilled: false });
  expect(entry.info().ended_by).toBe("client_gone");
  expect(() => session.attach()).toThrow(/has ended/);
});

test("a terminal session with no grace period hangs up as soon as its client goes", () => {
  const t = fakeTerminal();
  const entry = new ExecRegistry().add("rt", { kind: "terminal", argv: ["sh"], tty: true });
  const session = new TerminalSession(t.proc, entry, 0, 16);
  session.connect().hangup();
  expect(t.calls).toContain("hangup");
});
