/**
 * The daemon's end of one agent exec: a connection to the runtime's agent socket, the spawn request, and the frames
 * that come back turned into the {@link ExecHandle} buffered, streamed and detached exec drive (stdio as streams,
 * started / exit / failure as promises, signals as frames the agent delivers inside the runtime).
 */
import { connect, type Socket } from "node:net";
import { constants as osConstants } from "node:os";
import { PassThrough, Writable } from "node:stream";
import { errors } from "../../api/index.js";
import type { ExecControl, ExecHandle, ExecPipes, ExecTerminal } from "../execs/handle.js";
import type { RuncExit } from "../runc-exec.js";
import { classifyExecFailure, execveFailure, type ExecFailure } from "../runc-failures.js";
import type { OciProcess } from "../spec.js";
import { FrameReader, KIND, encodeFrame, encodeResize, encodeSignal, encodeSpawn } from "./protocol.js";

/** The agent could not be reached (no socket, nobody listening, no answer): the caller falls back to runc exec. */
export class AgentUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AgentUnavailableError";
  }
}

/** Largest stdin frame sent at once. */
const STDIN_FRAME = 256 * 1024;
/** SIGKILL's number: what the kernel sends every process of the runtime when its init (the agent) dies. */
const SIGKILL = osConstants.signals.SIGKILL;

/** Connects to an agent socket; AgentUnavailableError when nobody is there. */
function open(socketPath: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const sock = connect(socketPath);
    sock.once("connect", () => {
      sock.removeAllListeners("error");
      resolve(sock);
    });
    sock.once("error", (err: NodeJS.ErrnoException) => reject(new AgentUnavailableError(`cannot connect to ${socketPath}: ${err.code ?? err.message}`)));
  });
}

/**
 * Starts one process through the agent listening on `socketPath`. Resolves once the request is sent; `answered()`
 * says whether the agent took it. `execId` names a detached exec to the agent, so a daemon that restarted can ask
 * after it ({@link agentWait}). With `forked`, the child is held after its fork until `forked` (given its pid in the
 * runtime) has resolved — the daemon puts it in the exec's cgroup then; if it rejects the child exits unstarted.
 */
export async function agentExec(
  socketPath: string,
  proc: OciProcess,
  opts: { detached?: boolean; execId?: string; forked?: (pid: number) => Promise<void>; spare?: string } = {},
): Promise<AgentExec> {
  const request = encodeSpawn(proc, { detached: opts.detached, execId: opts.execId, hold: opts.forked !== undefined, spare: opts.spare });
  const sock = await open(socketPath);
  const exec = new AgentExec(sock, { pipes: !opts.detached && !proc.terminal, terminal: proc.terminal, forked: opts.forked });
  // A detached exec's connection only waits for its exit: it must not keep a stopping daemon's event loop alive.
  if (opts.detached) sock.unref();
  sock.write(request);
  return exec;
}

/**
 * Asks the agent after a detached exec a previous daemon started: resolves with a handle that is running (its
 * exit comes later), already ended (exited resolves at once), or unknown to the agent (`unknown` true).
 */
export async function agentWait(socketPath: string, execId: string): Promise<AgentExec> {
  const sock = await open(socketPath);
  const exec = new AgentExec(sock, { pipes: false });
  sock.unref();
  sock.write(encodeFrame(KIND.wait, execId));
  return exec;
}

/**
 * Asks the agent for a spare (agent/runta-agent.c: a child forked ahead of the exec `execId` and held); `place` gets
 * its pid in the runtime and puts it in the exec's cgroup, then the agent is told it may use it. `ready` resolves
 * true once it may, false if the agent refused, the placing failed or the connection ended first. The spare lives
 * as long as this connection: `close` lets the agent kill it if no exec took it; `closed` resolves when it ends.
 */
export async function agentSpare(
  socketPath: string,
  execId: string,
  place: (pid: number) => Promise<void>,
): Promise<{ ready: Promise<boolean>; closed: Promise<void>; close(): void }> {
  const sock = await open(socketPath);
  // It waits for an exec that may never come: it must not keep a stopping daemon's event loop alive.
  sock.unref();
  let settle!: (ok: boolean) => void;
  const ready = new Promise<boolean>((resolve) => (settle = resolve));
  const closed = new Promise<void>((resolve) => sock.once("close", () => resolve()));
  void closed.then(() => settle(false));
  const reader = new FrameReader();
  sock.on("error", () => undefined);
  sock.on("data", (chunk: Buffer) => {
    let frames;
    try {
      frames = reader.push(chunk);
    } catch {
      return void sock.destroy();
    }
    for (const f of frames) {
      if (f.kind !== KIND.forked) return void sock.destroy();
      place(Number(f.payload.toString())).then(
        () => {
          if (sock.destroyed) return;
          sock.write(encodeFrame(KIND.go));
          settle(true);
        },
        () => sock.destroy(),
      );
    }
  });
  sock.write(encodeFrame(KIND.spare, execId));
  return { ready, closed, close: () => sock.destroy() };
}

/** One exec through the agent: see the module comment. */
export class AgentExec implements ExecHandle {
  readonly pipes?: ExecPipes;
  readonly pipesEndAtExit = true;
  readonly terminal?: ExecTerminal;
  /** The terminal's output, held until read (and read no faster than its reader takes it). */
  private termOut?: PassThrough;
  readonly exited: Promise<RuncExit>;
  control: ExecControl | null = null;
  /** The agent does not know the exec asked after with {@link agentWait}. */
  unknown = false;
  /** The held child was let go: the command may be running, so this exec must not be given up and run another way. */
  committed = false;
  private error: string | null = null;
  /** Why the held child could not be put in its exec cgroup. */
  private cgroupError: string | null = null;
  private closed = false;
  private settleExit!: (exit: RuncExit) => void;
  /** Resolves at the first answer (started, exit, error) or when the connection ends. */
  private readonly answer: Promise<void>;
  private settleAnswer!: () => void;

  constructor(
    private readonly sock: Socket,
    private readonly opts: { pipes: boolean; terminal?: boolean; forked?: (pid: number) => Promise<void> },
  ) {
    this.exited = new Promise((resolve) => (this.settleExit = resolve));
    this.answer = new Promise((resolve) => (this.settleAnswer = resolve));
    if (opts.pipes) this.pipes = this.makePipes();
    if (opts.terminal) this.terminal = this.makeTerminal();
    const reader = new FrameReader();
    sock.on("data", (chunk: Buffer) => {
      let frames;
      try {
        frames = reader.push(chunk);
      } catch (err) {
        this.error = (err as Error).message;
        sock.destroy();
        return;
      }
      for (const f of frames) this.onFrame(f.kind, f.payload);
    });
    sock.on("error", () => undefined);
    sock.on("close", () => this.onClose());
  }

  /** Waits up to `timeoutMs` for the agent's first answer; false if none came (a hung agent). */
  async answered(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const ok = await Promise.race([this.answer.then(() => true as const), timeout]);
    clearTimeout(timer);
    return ok;
  }

  async started(timeoutMs: number): Promise<ExecControl | undefined | null> {
    if (!(await this.answered(timeoutMs))) return null;
    return this.control ?? undefined;
  }

  async failure(runtime: string, output = ""): Promise<ExecFailure> {
    await this.answer;
    if (this.cgroupError) return errors.internal(`the command could not be placed in its exec cgroup in ${runtime}: ${this.cgroupError}`);
    if (this.error) return execveFailure(1, `${this.error}\n`) ?? classifyExecFailure(`${this.error}\n${output}`.trim(), runtime);
    return errors.unavailable(`the exec agent of ${runtime} ended the connection before starting the command; retry, or check the runtime with 'runta inspect'`);
  }

  kill(): void {
    this.control?.session("SIGKILL");
    this.sock.destroy();
  }

  /** Drops the connection without a word: an agent that answers late sees it gone and starts nothing. */
  abandon(): void {
    this.closed = true;
    this.sock.destroy();
  }

  async removeFiles(): Promise<void> {
    // Nothing on disk: the exec lives in the agent's memory.
  }

  private onFrame(kind: number, payload: Buffer): void {
    switch (kind) {
      case KIND.stdout:
        this.deliver(this.termOut ?? (this.pipes?.stdout as PassThrough | undefined), payload);
        break;
      case KIND.stderr:
        this.deliver(this.pipes?.stderr as PassThrough | undefined, payload);
        break;
      case KIND.forked: {
        const pid = Number(payload.toString());
        const forked = this.opts.forked ?? (async () => undefined);
        forked(pid).then(
          () => {
            if (this.closed) return;
            this.committed = true;
            this.sock.write(encodeFrame(KIND.go));
          },
          (err: Error) => {
            // The child exits unstarted once its connection is gone.
            this.cgroupError = err.message;
            this.sock.destroy();
          },
        );
        break;
      }
      case KIND.started: {
        const pid = Number(payload.toString());
        const send = (session: boolean) => (sig: NodeJS.Signals) => {
          if (!this.closed) this.sock.write(encodeSignal(osConstants.signals[sig], session));
        };
        this.control = { pid: Number.isInteger(pid) && pid > 0 ? pid : null, hostPid: null, group: send(false), session: send(true) };
        this.settleAnswer();
        break;
      }
      case KIND.exit:
        this.finish({ code: Number(payload.toString()), signal: null });
        break;
      case KIND.error:
        this.error = payload.toString();
        this.finish({ code: 255, signal: null });
        break;
      case KIND.unknown:
        this.unknown = true;
        this.finish({ code: 255, signal: null });
        break;
      default:
      // Newer agents may send more; an older daemon ignores what it does not know.
    }
  }

  /** Output to its stream; a full stream stops reading the connection, so the agent stops reading the command. */
  private deliver(to: PassThrough | undefined, payload: Buffer): void {
    if (!to || to.destroyed) return;
    if (!to.write(payload)) {
      this.sock.pause();
      to.once("drain", () => this.sock.resume());
    }
  }

  private finish(exit: RuncExit): void {
    this.settleAnswer();
    this.endPipes();
    this.closed = true;
    this.sock.end();
    const out = this.termOut;
    if (!out || !this.control) return this.settleExit(exit);
    // A terminal's last output reaches its reader before the exit does (a reader that does not read: 300 ms).
    const timer = setTimeout(() => this.settleExit(exit), 300);
    out.once("end", () => {
      clearTimeout(timer);
      this.settleExit(exit);
    });
  }

  private onClose(): void {
    this.closed = true;
    this.settleAnswer();
    // The connection ended without an exit: the agent died, and with it (PID 1) every process of the runtime.
    this.settleExit(this.control ? { code: 128 + SIGKILL, signal: "KILL" } : { code: 255, signal: null });
    this.endPipes();
  }

  private endPipes(): void {
    if (this.termOut && !this.termOut.writableEnded) this.termOut.end();
    if (!this.pipes) return;
    for (const s of [this.pipes.stdout, this.pipes.stderr] as PassThrough[]) if (!s.writableEnded) s.end();
    this.pipes.stdin.destroy();
  }

  private makeTerminal(): ExecTerminal {
    const out = (this.termOut = new PassThrough());
    const send = (frame: Buffer) => {
      if (!this.closed) this.sock.write(frame);
    };
    return {
      onData: (cb) => void out.on("data", cb),
      write: (d) => send(encodeFrame(KIND.stdin, typeof d === "string" ? Buffer.from(d) : d)),
      resize: (cols, rows) => send(encodeResize(rows, cols)),
      pause: () => out.pause(),
      resume: () => out.resume(),
      backlog: () => this.sock.writableLength,
    };
  }

  private makePipes(): ExecPipes {
    const sock = this.sock;
    const stdin = new Writable({
      write: (chunk: Buffer, _enc, cb) => {
        if (this.closed) return cb();
        for (let off = 0; off < chunk.length; off += STDIN_FRAME) sock.write(encodeFrame(KIND.stdin, chunk.subarray(off, off + STDIN_FRAME)));
        // Done when the socket took it, so stdin's writableLength is what the command has not been sent yet.
        if (sock.writableNeedDrain) sock.once("drain", () => cb());
        else cb();
      },
      final: (cb) => {
        if (!this.closed) sock.write(encodeFrame(KIND.closeStdin));
        cb();
      },
    });
    // Writing to a command that already ended is not an error worth crashing for.
    stdin.on("error", () => undefined);
    return { stdin, stdout: new PassThrough(), stderr: new PassThrough() };
  }
}
