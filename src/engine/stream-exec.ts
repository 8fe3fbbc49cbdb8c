/**
 * Streamed exec: one command in a running container, with its output delivered as it comes, optionally under a
 * pseudo-terminal (what `runta exec -it` and the websocket bridge drive).
 *
 * How runc behaves here (runc 1.1): `runc exec` in the foreground stays alive until the command ends and exits with
 * its status (128+n for death by signal n). Every exec'd process is made a session leader by runc (setsid), so its
 * pid, written to `--pid-file` once it runs, is also its process group: the host sees container pids, so
 * `kill(-pid, sig)` reaches the command and its children. With `terminal: true` runc allocates the container's
 * console, copies it to and from runc's own stdio (our node-pty), puts our side in raw mode, and forwards SIGWINCH:
 * resizing our pty resizes the container's. Without a terminal runc hands its own stdin/stdout/stderr to the
 * command, so our pipes are the command's pipes (stdin EOF and binary data pass through untouched).
 * runc's own failures (exit 255, no pid file) are read from its `--log` file, which keeps them apart from output.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { constants, readdirSync } from "node:fs";
import { access, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import * as pty from "node-pty";
import { RuntaError, errors, type StreamSignal } from "../api/index.js";
import type { ProcessExit, StreamProcess } from "./types.js";
import { killGroup, procStatFields, readPidFile, signalName, signalNumber, sleep } from "./proc.js";

/** How long hangup() waits after SIGHUP before it kills the command's whole session. */
export const HANGUP_GRACE_MS = 2000;
/** How long output may still drain after runc exits (a background child can hold the pipes open forever). */
const DRAIN_MS = 300;
/** How long runc may take to start the command before the exec is given up. */
const START_TIMEOUT_MS = 30_000;
const RUNC_ENV = { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" };

/**
 * Bytes node-pty still holds for the pty. It queues what the kernel does not take yet in a private
 * `_writeStream._writeQueue` and offers neither a size nor a drain event, so this reads the queue (0 if its shape
 * ever changes; the stream-exec integration test fails then).
 */
export function ptyWriteBacklog(term: pty.IPty): number {
  const queue = (term as unknown as { _writeStream?: { _writeQueue?: Array<{ buffer: Buffer; offset: number }> } })._writeStream?._writeQueue;
  if (!Array.isArray(queue)) return 0;
  return queue.reduce((n, task) => n + task.buffer.byteLength - task.offset, 0);
}

/** What {@link startStreamExec} needs. `process` is the OCI process (A1's buildExecProcess); `terminal` is set from `tty` here. */
export interface StreamExecOptions {
  runcPath: string;
  runcRoot: string;
  containerId: string;
  process: object;
  tty: boolean;
  /** Initial terminal size (default 24x80); used from the start so the first prompt already sees it. */
  rows?: number;
  cols?: number;
  /** Directory for the process JSON, pid file and runc log of this exec; they are removed at the end. */
  workDir: string;
  /** Reads the runtime's cgroup OOM-kill counter, to tell an OOM kill from another SIGKILL. */
  oomCount?: () => Promise<number>;
}

/**
 * What runc's error message means for the caller: the 127/126 exit codes a shell would give for a command that is
 * not found or not executable, or the error to throw for runc's other failures (paused or stopped container, bad cwd).
 * Shared with the buffered exec so both report the same codes.
 */
export function classifyRuncExecFailure(message: string, containerId = ""): { exitCode: 127 | 126; message: string } | RuntaError {
  const exec = /exec: "([^"]*)": (.*)$/m.exec(message);
  if (exec) {
    if (/not found|no such file or directory/i.test(exec[2])) {
      return { exitCode: 127, message: `${exec[1]}: command not found` };
    }
    if (/permission denied|exec format error|is a directory/i.test(exec[2])) {
      return { exitCode: 126, message: `${exec[1]}: ${exec[2]}` };
    }
  }
  const rt = containerId ? `runtime ${containerId}` : "the runtime";
  if (/paused container/i.test(message)) return errors.precondition(`${rt} is paused; resume it before exec`);
  if (/container that has stopped|not running|container does not exist/i.test(message)) {
    return errors.precondition(`${rt} is not running; start it before exec`);
  }
  const cwd = /chdir to cwd \("([^"]*)"\)/.exec(message);
  if (cwd) return errors.invalid(`the working directory ${cwd[1]} does not exist in ${rt}; pass an existing cwd`, { field: "cwd" });
  return errors.internal(`runc exec failed: ${message || "no error message (is runc installed and working?)"}`);
}

/**
 * Starts one streamed exec and resolves once the command runs (its pid is known). A command that is not found or
 * not executable still resolves: its wait() gives 127/126 and the reason comes on stderr (stdout with a tty).
 * runc's own failures reject with a {@link RuntaError}.
 *
 * closeStdin() ends stdin for a pipe; with a tty it types ^D, which a program reading the terminal in canonical
 * mode (a shell, cat) takes as end of input.
 */
export async function startStreamExec(opts: StreamExecOptions): Promise<StreamProcess> {
  const exec = new StreamExec(opts);
  await exec.start();
  return exec;
}

type Listener = (chunk: Buffer) => void;

/** Output of one stream, queued until the first listener attaches so nothing written early is lost. */
class Channel {
  private listeners: Listener[] = [];
  private queue: Buffer[] = [];

  on(cb: Listener): void {
    this.listeners.push(cb);
    const queued = this.queue;
    this.queue = [];
    for (const chunk of queued) cb(chunk);
  }

  push(chunk: Buffer): void {
    if (this.listeners.length === 0) {
      this.queue.push(chunk);
      return;
    }
    for (const cb of this.listeners) cb(chunk);
  }
}

class StreamExec implements StreamProcess {
  private readonly opts: StreamExecOptions;
  private readonly base: string;
  private readonly stdout = new Channel();
  private readonly stderr = new Channel();
  private term?: pty.IPty;
  private child?: ChildProcess;
  private pid?: number;
  private exited = false;
  /** Output held back until the command is known to run: before that, what arrives may be runc's own error text. */
  private held: Array<{ to: Channel; chunk: Buffer }> | null = [];
  private result?: Promise<ProcessExit>;
  private runcExit!: Promise<{ code: number; signal: string | null }>;
  private hangupTimer?: NodeJS.Timeout;
  private oomBefore = 0;

  constructor(opts: StreamExecOptions) {
    this.opts = opts;
    this.base = join(opts.workDir, `exec-${randomBytes(6).toString("hex")}`);
  }

  async start(): Promise<void> {
    const { opts } = this;
    const rows = opts.rows ?? 24;
    const cols = opts.cols ?? 80;
    try {
      await access(opts.runcPath, constants.X_OK);
    } catch {
      throw errors.unavailable(`runc was not found at ${opts.runcPath} (or is not executable); install it with 'apt-get install runc'`);
    }
    const processSpec = {
      ...(opts.process as Record<string, unknown>),
      terminal: opts.tty,
      ...(opts.tty ? { consoleSize: { height: rows, width: cols } } : {}),
    };
    await mkdir(opts.workDir, { recursive: true, mode: 0o700 });
    await writeFile(`${this.base}.json`, JSON.stringify(processSpec), { mode: 0o600 });
    this.oomBefore = opts.oomCount ? await opts.oomCount().catch(() => 0) : 0;
    const args = [
      "--root", opts.runcRoot,
      "--log", `${this.base}.log`, "--log-format", "json",
      "exec", ...(opts.tty ? ["-t"] : []),
      "--process", `${this.base}.json`,
      "--pid-file", `${this.base}.pid`,
      opts.containerId,
    ];
    try {
      this.runcExit = opts.tty ? this.spawnPty(args, rows, cols) : this.spawnPipes(args);
    } catch (err) {
      await this.removeFiles();
      throw errors.unavailable(`could not run runc at ${opts.runcPath}: ${(err as Error).message}; check the runc path`, err);
    }
    const pid = await this.waitForPid();
    if (pid === null) {
      this.killRunc();
      await this.runcExit.catch(() => undefined);
      await this.removeFiles();
      throw errors.unavailable(`runc did not start the command within ${START_TIMEOUT_MS / 1000} s; check the runtime with 'runta inspect'`);
    }
    if (pid !== undefined) {
      this.pid = pid;
      this.releaseHeld();
      this.result = this.finish();
      return;
    }
    // runc ended without starting the command: its own failure, explained in its log.
    const exit = await this.runcExit.catch(async (err: Error) => {
      await this.removeFiles();
      throw errors.unavailable(`could not run runc at ${opts.runcPath}: ${err.message}; check the runc path`, err);
    });
    const message = await this.runcError(exit);
    await this.removeFiles();
    const failure = classifyRuncExecFailure(message, opts.containerId);
    if (failure instanceof RuntaError) throw failure;
    this.held = null;
    this.exited = true;
    const text = `runta: ${failure.message}\n`;
    (opts.tty ? this.stdout : this.stderr).push(Buffer.from(opts.tty ? text.replace(/\n/g, "\r\n") : text));
    this.result = Promise.resolve({ code: failure.exitCode, signal: null, oomKilled: false });
  }

  onStdout(cb: Listener): void {
    this.stdout.on(cb);
  }

  onStderr(cb: Listener): void {
    this.stderr.on(cb);
  }

  write(data: Buffer): void {
    if (this.exited) return;
    if (this.term) this.term.write(data);
    else if (this.child?.stdin?.writable) this.child.stdin.write(data);
  }

  stdinBacklog(): number {
    if (this.exited) return 0;
    if (this.term) return ptyWriteBacklog(this.term);
    return this.child?.stdin?.writableLength ?? 0;
  }

  closeStdin(): void {
    if (this.exited) return;
    if (this.term) this.term.write("\x04");
    else this.child?.stdin?.end();
  }

  resize(rows: number, cols: number): void {
    if (this.exited || !this.term) return;
    try {
      this.term.resize(cols, rows);
    } catch {
      // The pty closed between the check and the call: the process is ending anyway.
    }
  }

  signal(sig: StreamSignal): void {
    if (this.exited || this.pid === undefined) return;
    killGroup(this.pid, `SIG${sig}` as NodeJS.Signals);
  }

  hangup(): void {
    if (this.exited || this.hangupTimer || this.pid === undefined) return;
    const pid = this.pid;
    killGroup(pid, "SIGHUP");
    this.hangupTimer = setTimeout(() => {
      if (this.exited) return;
      // Whatever ignored SIGHUP dies now, background jobs of an interactive shell included, then runc itself.
      killSession(pid, "SIGKILL");
      setTimeout(() => {
        if (!this.exited) this.killRunc();
      }, 500).unref();
    }, HANGUP_GRACE_MS);
    this.hangupTimer.unref();
  }

  /** Stops reading output: the pipe or pty fills and the command blocks on write, as it would on a slow terminal. */
  pause(): void {
    if (this.term) this.term.pause();
    else {
      this.child?.stdout?.pause();
      this.child?.stderr?.pause();
    }
  }

  resume(): void {
    if (this.term) this.term.resume();
    else {
      this.child?.stdout?.resume();
      this.child?.stderr?.resume();
    }
  }

  wait(): Promise<ProcessExit> {
    if (!this.result) return Promise.reject(errors.internal("the exec has not started"));
    return this.result;
  }

  private spawnPty(args: string[], rows: number, cols: number): Promise<{ code: number; signal: string | null }> {
    // Our side of the pty goes raw before runc starts, so keystrokes sent before runc sets raw mode itself are not
    // echoed, line-buffered or turned into signals for runc by our line discipline. (runc then keeps OPOST|ONLCR on
    // our side and clears ONLCR on the container's console; output written in the first milliseconds, before runc
    // clears it, arrives as \r\r\n, which a terminal renders exactly like \r\n.)
    const term = pty.spawn("/bin/sh", ["-c", 'stty raw -echo && exec "$0" "$@"', this.opts.runcPath, ...args], {
      name: "xterm-256color",
      rows,
      cols,
      cwd: "/",
      env: RUNC_ENV,
      // Buffers, not strings: a program's output is bytes and must not be re-encoded.
      encoding: null,
    });
    this.term = term;
    term.onData((data) => this.output(this.stdout, Buffer.from(data as unknown as Buffer)));
    return new Promise((resolve) => {
      term.onExit(({ exitCode, signal }) => {
        // runc killed by a signal (hangup's last resort) has no exit code of its own: report it the shell way.
        resolve(signal ? { code: 128 + signal, signal: signalName(signal) } : { code: exitCode, signal: null });
      });
    });
  }

  private spawnPipes(args: string[]): Promise<{ code: number; signal: string | null }> {
    // detached: runc leads its own process group, so a Ctrl-C at the daemon's terminal does not reach it.
    const child = spawn(this.opts.runcPath, args, { stdio: ["pipe", "pipe", "pipe"], env: RUNC_ENV, detached: true });
    this.child = child;
    child.stdout!.on("data", (d: Buffer) => this.output(this.stdout, d));
    child.stderr!.on("data", (d: Buffer) => this.output(this.stderr, d));
    // Writing to a command that already closed its stdin is not an error worth crashing for.
    child.stdin!.on("error", () => {});
    return new Promise((resolve, reject) => {
      child.once("error", reject);
      child.once("exit", (code, signal) => resolve({ code: code ?? 128 + signalNumber(signal), signal }));
    });
  }

  private output(to: Channel, chunk: Buffer): void {
    if (this.held) this.held.push({ to, chunk });
    else to.push(chunk);
  }

  private releaseHeld(): void {
    const held = this.held ?? [];
    this.held = null;
    for (const { to, chunk } of held) to.push(chunk);
  }

  /**
   * Polls for runc's pid file until it appears (the command runs), runc exits without writing it (runc failed:
   * undefined) or {@link START_TIMEOUT_MS} pass (null).
   */
  private async waitForPid(): Promise<number | undefined | null> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    let runcDone = false;
    void this.runcExit.then(
      () => (runcDone = true),
      () => (runcDone = true),
    );
    for (let delay = 2; ; delay = Math.min(delay * 2, 20)) {
      const pid = await readPidFile(`${this.base}.pid`);
      if (pid !== null) return pid;
      if (runcDone) return (await readPidFile(`${this.base}.pid`)) ?? undefined;
      if (Date.now() > deadline) return null;
      await sleep(delay);
    }
  }

  private async finish(): Promise<ProcessExit> {
    const exit = await this.runcExit.catch(() => ({ code: 255, signal: null }));
    this.exited = true;
    clearTimeout(this.hangupTimer);
    if (this.child) await drainPipes(this.child);
    await this.removeFiles();
    const code = exit.code;
    // runc reports death by signal n as 128+n; runc itself dying by a signal (hangup's last resort) looks the same.
    const signal = code > 128 && code < 128 + 65 ? signalName(code - 128) : exit.signal;
    let oomKilled = false;
    if (code === 137 && this.opts.oomCount) {
      oomKilled = (await this.opts.oomCount().catch(() => this.oomBefore)) > this.oomBefore;
    }
    return { code, signal, oomKilled };
  }

  private async runcError(exit: { code: number; signal: string | null }): Promise<string> {
    let log = "";
    try {
      log = await readFile(`${this.base}.log`, "utf8");
    } catch {
      // No log: runc failed before it could open it.
    }
    const messages = log
      .split("\n")
      .map((line) => {
        try {
          const entry = JSON.parse(line) as { level?: string; msg?: string };
          return entry.level === "error" || entry.level === "fatal" ? entry.msg : undefined;
        } catch {
          return undefined;
        }
      })
      .filter((m): m is string => !!m);
    if (messages.length > 0) return messages.join("; ");
    const held = (this.held ?? []).map((h) => h.chunk.toString()).join("").trim();
    return held || `runc exited with ${exit.signal ?? exit.code} before starting the command`;
  }

  private killRunc(): void {
    try {
      if (this.term) this.term.kill("SIGKILL");
      else this.child?.kill("SIGKILL");
    } catch {
      // Already gone.
    }
  }

  private async removeFiles(): Promise<void> {
    await Promise.all(["json", "pid", "log"].map((ext) => rm(`${this.base}.${ext}`, { force: true })));
  }
}

/**
 * Sends a signal to every process of a session (the exec'd command is a session leader, so its session holds all it
 * started, background jobs in other process groups included). Found by scanning /proc: the host sees container pids.
 */
export function killSession(sid: number, sig: NodeJS.Signals): number {
  let killed = 0;
  for (const pid of sessionMembers(sid)) {
    try {
      process.kill(pid, sig);
      killed++;
    } catch {
      // Exited meanwhile.
    }
  }
  return killed;
}

/** Pids whose session id is `sid`, read from /proc/<pid>/stat. */
export function sessionMembers(sid: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    // Fields after the command name: state ppid pgrp session ...
    const fields = procStatFields(entry);
    if (fields && Number(fields[3]) === sid) members.push(Number(entry));
  }
  return members;
}

/** Waits for the pipes to reach EOF, but not for ever: a background child of the command may keep them open. */
async function drainPipes(child: ChildProcess): Promise<void> {
  const streams = [child.stdout, child.stderr].filter((s): s is NonNullable<typeof s> => !!s);
  await Promise.race([
    Promise.all(streams.map((s) => (s.readableEnded || s.destroyed ? undefined : new Promise((r) => s.once("close", r))))),
    sleep(DRAIN_MS),
  ]);
  for (const s of streams) s.destroy();
  child.stdin?.destroy();
}

