/**
 * A terminal session that outlives its client. An `exec -it` whose connection drops (laptop asleep, network gone)
 * is not hung up at once: its process keeps running for a grace period, its output goes on into a replay buffer
 * (the last LIMITS.execReplayBytes), and `runta attach` takes it over, first repainting that output, then live. After
 * the grace period with nobody attached the process group gets SIGHUP, then SIGKILL (StreamProcess.hangup). A normal
 * exit or Ctrl-D ends it at once, as before.
 *
 * The server only ever sees a StreamProcess per client (a "view"): its `hangup()` means "my client went away".
 */
import { errors } from "../../api/index.js";
import type { ProcessExit, StreamProcess } from "../types.js";
import type { ExecEntry } from "./registry.js";
import { ReplayBuffer } from "./replay.js";

type Listener = (chunk: Buffer) => void;

export class TerminalSession {
  private readonly replay: ReplayBuffer;
  private current: View | null = null;
  private graceTimer?: NodeJS.Timeout;
  /** When the session is hung up unless a client attaches (ISO time), while nobody is attached. */
  graceExpiresAt: string | null = null;

  constructor(
    private readonly proc: StreamProcess,
    private readonly entry: ExecEntry,
    private readonly graceMs: number,
    replayBytes: number,
  ) {
    this.replay = new ReplayBuffer(replayBytes);
    // The first client's view exists before output is wired: what the process printed already (a shell's first
    // prompt) waits in the view until the server listens.
    this.current = new View(proc, this);
    proc.onStdout((chunk) => {
      this.replay.push(chunk);
      this.current?.emit(chunk);
    });
    void proc.wait().then(
      () => this.end(),
      () => this.end(),
    );
  }

  /** Whether a client is attached now. */
  get attached(): boolean {
    return this.current !== null;
  }

  /** The first client's view (the exec -it that started it): no replay, it sees everything live. */
  connect(): StreamProcess {
    if (!this.current) throw errors.internal("the session's first client is gone already");
    return this.current;
  }

  /** Takes the session over from a new client: the view, and the output to repaint first. */
  attach(): { view: StreamProcess; replay: Buffer } {
    if (!this.entry.running) throw errors.precondition(`exec ${this.entry.id} has ended (exit ${this.entry.exitCode ?? "unknown"}); nothing to attach to`);
    if (this.current) {
      throw errors.precondition(`exec ${this.entry.id} already has a client attached; leave that one first (it is dropped after missing 2 heartbeats)`, {
        exec_id: this.entry.id,
      });
    }
    const replay = this.replay.contents();
    return { view: this.take(), replay };
  }

  private take(): View {
    clearTimeout(this.graceTimer);
    this.graceExpiresAt = null;
    this.current = new View(this.proc, this);
    return this.current;
  }

  /** The client of `view` went away: keep the process for the grace period, unless it is over already. */
  clientGone(view: View): void {
    if (this.current !== view) return;
    this.current = null;
    // Output must not stall behind a client that is no longer reading: the replay buffer takes it from here.
    this.proc.resume?.();
    if (!this.entry.running) return;
    if (this.graceMs <= 0) return this.hangup();
    this.graceExpiresAt = new Date(Date.now() + this.graceMs).toISOString();
    this.graceTimer = setTimeout(() => this.hangup(), this.graceMs);
    this.graceTimer.unref();
  }

  /** Whether `view` is the one attached. */
  isCurrent(view: View): boolean {
    return this.current === view;
  }

  private hangup(): void {
    this.entry.markEnding("client_gone");
    this.proc.hangup();
  }

  private end(): void {
    clearTimeout(this.graceTimer);
    this.graceExpiresAt = null;
  }
}

/** One client's handle on a session: input and resizes reach the process only while it is the attached one. */
class View implements StreamProcess {
  private readonly listeners: Listener[] = [];
  /** Output that came before the client's first listener (between attach and the server wiring it up). */
  private early: Buffer[] = [];

  constructor(
    private readonly proc: StreamProcess,
    private readonly session: TerminalSession,
  ) {}

  get execId(): string | undefined {
    return this.proc.execId;
  }
  get pid(): number | null | undefined {
    return this.proc.pid;
  }

  emit(chunk: Buffer): void {
    if (this.listeners.length === 0) this.early.push(chunk);
    for (const cb of this.listeners) cb(chunk);
  }

  onStdout(cb: Listener): void {
    this.listeners.push(cb);
    for (const chunk of this.early.splice(0)) cb(chunk);
  }
  onStderr(): void {
    // A terminal has one output stream: everything arrives on stdout.
  }
  write(data: Buffer): void {
    if (this.session.isCurrent(this)) this.proc.write(data);
  }
  closeStdin(): void {
    if (this.session.isCurrent(this)) this.proc.closeStdin();
  }
  resize(rows: number, cols: number): void {
    if (this.session.isCurrent(this)) this.proc.resize(rows, cols);
  }
  signal(sig: Parameters<StreamProcess["signal"]>[0]): void {
    if (this.session.isCurrent(this)) this.proc.signal(sig);
  }
  /** The client went away (the server calls this when its socket closes before the exit). */
  hangup(): void {
    this.session.clientGone(this);
  }
  pause(): void {
    if (this.session.isCurrent(this)) this.proc.pause?.();
  }
  resume(): void {
    if (this.session.isCurrent(this)) this.proc.resume?.();
  }
  stdinBacklog(): number {
    return this.proc.stdinBacklog?.() ?? 0;
  }
  wait(): Promise<ProcessExit> {
    return this.proc.wait();
  }
}
