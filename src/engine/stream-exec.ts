/**
 * Streamed exec: one command in a running container, with its output delivered as it comes, optionally under a
 * pseudo-terminal (what `runta exec -it` and the websocket bridge drive). runc is started by {@link Runc.exec}
 * (see runc.ts for how runc behaves in the foreground); this adds the session around it: output held until the
 * command runs, stdin and its backlog, resize, signals to the command's process group, hangup and the exit.
 */
import type * as pty from "node-pty";
import { RuntaError, errors, type StreamSignal } from "../api/index.js";
import type { ProcessExit, StreamProcess } from "./types.js";
import type { ExecControl, ExecHandle, ExecPipes, ExecTerminal } from "./execs/handle.js";
import type { HostProcess } from "./execs/tracked.js";
import type { RuncExit } from "./runc-exec.js";
import { execveFailure } from "./runc-failures.js";
import type { Runc } from "./runc.js";
import type { OciProcess } from "./spec.js";
import { signalName, sleep } from "./proc.js";

/** How long hangup() waits after SIGHUP before it kills the command's whole session. */
export const HANGUP_GRACE_MS = 2000;
/** How long output may still drain after runc exits (a background child can hold the pipes open forever). */
const DRAIN_MS = 300;
/**
 * The same for the agent's pipes, which end by themselves once the command exited (the agent closes its ends and sends
 * what was left before the exit): waiting longer only waits for a slow reader, whose output would otherwise be cut.
 */
const AGENT_DRAIN_MS = 5000;
/** How long runc may take to start the command before the exec is given up. */
const START_TIMEOUT_MS = 30_000;

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

/** runc exec's terminal (a node-pty in the daemon) as an {@link ExecTerminal}. */
function ptyTerminal(term: pty.IPty): ExecTerminal {
  return {
    onData: (cb) => void term.onData((d) => cb(Buffer.from(d as unknown as Buffer))),
    write: (d) => term.write(d),
    resize: (cols, rows) => term.resize(cols, rows),
    pause: () => term.pause(),
    resume: () => term.resume(),
    backlog: () => ptyWriteBacklog(term),
  };
}

/** What {@link startStreamExec} needs. The process spec (spec.ts `buildExecProcess`) decides tty and terminal size. */
export interface StreamExecOptions {
  runc: Runc;
  containerId: string;
  /** How error messages name the runtime, e.g. `runtime "web"` (default "the runtime"). */
  runtime?: string;
  process: OciProcess;
  /** Directory for the process JSON, pid file and runc log of this exec; they are removed at the end. */
  workDir: string;
  /** Reads the runtime's cgroup OOM-kill counter, to tell an OOM kill from another SIGKILL. */
  oomCount?: () => Promise<number>;
  /** The exec's own cgroup (`runc exec --cgroup`) and how to kill everything in it (execs/cgroup.ts). */
  cgroup?: { runcArg: string; killAll(): Promise<void> };
  /** Starts the process some other way than `runc exec` (the runtime's agent, which falls back to runc exec itself). */
  launch?: () => Promise<ExecHandle>;
}

/**
 * Starts one streamed exec and resolves once the command runs (its pid is known). A command that is not found or
 * not executable still resolves: its wait() gives 127/126 and the reason comes on stderr (stdout with a tty).
 * runc's own failures reject with a {@link RuntaError}.
 *
 * closeStdin() ends stdin for a pipe; with a tty it types ^D, which a program reading the terminal in canonical
 * mode (a shell, cat) takes as end of input.
 */
export async function startStreamExec(opts: StreamExecOptions): Promise<HostProcess> {
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
  private readonly stdout = new Channel();
  private readonly stderr = new Channel();
  private runc?: ExecHandle;
  /** How the command (its process group and session) is signalled, once it runs. */
  control: ExecControl | null = null;
  private exited = false;
  /** Output held back until the command is known to run: before that, what arrives may be runc's own error text. */
  private held: Array<{ to: Channel; chunk: Buffer }> | null = [];
  private result?: Promise<ProcessExit>;
  private runcExit!: Promise<RuncExit>;
  private hangupTimer?: NodeJS.Timeout;
  private oomBefore = 0;
  /**
   * The first output, while it could still be runc init's line about a failed execve (execveFailure): stderr, or the
   * terminal under a tty; null once other output came (stdout of a pipe, or more than such a line holds).
   */
  private early: string | null = "";

  constructor(opts: StreamExecOptions) {
    this.opts = opts;
  }

  async start(): Promise<void> {
    const { opts } = this;
    this.oomBefore = opts.oomCount ? await opts.oomCount().catch(() => 0) : 0;
    const runc: ExecHandle = opts.launch ? await opts.launch() : await opts.runc.exec(opts.containerId, opts.process, opts.workDir, { cgroup: opts.cgroup?.runcArg });
    this.runc = runc;
    this.term = runc.terminal ?? (runc.pty && ptyTerminal(runc.pty));
    if (this.term) this.term.onData((data) => this.output(this.stdout, data));
    else {
      runc.pipes!.stdout.on("data", (d: Buffer) => this.output(this.stdout, d));
      runc.pipes!.stderr.on("data", (d: Buffer) => this.output(this.stderr, d));
    }
    this.runcExit = runc.exited;
    const control = await runc.started(START_TIMEOUT_MS);
    if (control === null) {
      runc.kill();
      await this.runcExit.catch(() => undefined);
      await runc.removeFiles();
      throw errors.unavailable(`runc did not start the command within ${START_TIMEOUT_MS / 1000} s; check the runtime with 'runta inspect'`);
    }
    if (control !== undefined) {
      this.control = control;
      this.releaseHeld();
      this.result = this.finish();
      return;
    }
    // runc ended without starting the command: its own failure, explained in its log.
    await this.runcExit.catch(async (err: Error) => {
      await runc.removeFiles();
      throw err;
    });
    const failure = await runc.failure(opts.runtime ?? "the runtime", (this.held ?? []).map((h) => h.chunk.toString()).join(""));
    await runc.removeFiles();
    if (failure instanceof RuntaError) throw failure;
    this.held = null;
    this.exited = true;
    const text = `runta: ${failure.message}\n`;
    // Under a tty everything arrives on the terminal, whose lines end in \r\n.
    (this.term ? this.stdout : this.stderr).push(Buffer.from(this.term ? text.replace(/\n/g, "\r\n") : text));
    this.result = Promise.resolve({ code: failure.exitCode, signal: null, oomKilled: false });
  }

  /** The command's terminal, when it has one. */
  private term?: ExecTerminal;

  private get child(): ExecPipes | undefined {
    return this.runc?.pipes;
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
    if (this.term) return this.term.backlog();
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
    if (this.exited || this.control === null) return;
    this.control.group(`SIG${sig}` as NodeJS.Signals);
  }

  hangup(): void {
    if (this.exited || this.hangupTimer || this.control === null) return;
    const control = this.control;
    control.group("SIGHUP");
    this.hangupTimer = setTimeout(() => {
      if (this.exited) return;
      // Whatever ignored SIGHUP dies now, background jobs of an interactive shell included, then runc itself.
      void this.opts.cgroup?.killAll().catch(() => undefined);
      control.session("SIGKILL");
      setTimeout(() => {
        if (!this.exited) this.runc?.kill();
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

  private output(to: Channel, chunk: Buffer): void {
    if (this.early !== null) {
      const failureLine = this.term || to === this.stderr;
      this.early = failureLine && this.early.length + chunk.length <= 4096 ? this.early + chunk.toString("utf8") : null;
    }
    if (this.held) this.held.push({ to, chunk });
    else to.push(chunk);
  }

  private releaseHeld(): void {
    const held = this.held ?? [];
    this.held = null;
    for (const { to, chunk } of held) to.push(chunk);
  }

  private async finish(): Promise<ProcessExit> {
    const exit = await this.runcExit.catch(() => ({ code: 255, signal: null }));
    this.exited = true;
    clearTimeout(this.hangupTimer);
    if (this.child) await drainPipes(this.child, this.runc!.pipesEndAtExit ? AGENT_DRAIN_MS : DRAIN_MS);
    await this.runc!.removeFiles();
    // runc started the command but its execve failed: 126/127 as for a command runc refused (the line was shown).
    const code = (this.early !== null && execveFailure(exit.code, this.early)?.exitCode) || exit.code;
    // runc reports death by signal n as 128+n; runc itself dying by a signal (hangup's last resort) looks the same.
    const signal = code > 128 && code < 128 + 65 ? signalName(code - 128) : exit.signal;
    let oomKilled = false;
    if (code === 137 && this.opts.oomCount) {
      oomKilled = (await this.opts.oomCount().catch(() => this.oomBefore)) > this.oomBefore;
    }
    return { code, signal, oomKilled };
  }
}


/** Waits for the pipes to reach EOF, but not for ever: a background child of the command may keep them open. */
async function drainPipes(child: ExecPipes, limitMs: number): Promise<void> {
  const streams = [child.stdout, child.stderr].filter((s): s is NonNullable<typeof s> => !!s);
  await Promise.race([
    Promise.all(streams.map((s) => (s.readableEnded || s.destroyed ? undefined : new Promise((r) => s.once("close", r))))),
    sleep(limitMs),
  ]);
  for (const s of streams) s.destroy();
  child.stdin?.destroy();
}

