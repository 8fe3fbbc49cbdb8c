/**
 * A streamed process for tests of the exec stream (server session, SDK, fake engine): it records everything done to
 * it (stdin, EOF, resizes, signals, hang-ups, pauses) and the test drives its output and exit.
 *
 * With `echo: true` it is a tiny remote `cat`: stdin comes straight back on stdout, EOF writes "read N bytes" to
 * stderr and exits N mod 256, and a signal exits 128+n, which is enough to drive a client end to end.
 */
import { constants } from "node:os";
import type { StreamSignal } from "../../src/api/index.js";
import type { ProcessExit, StreamProcess, StreamSpec } from "../../src/engine/types.js";

export class FakeStreamProcess implements StreamProcess {
  /** Set by the fake engine when it registers the exec. */
  execId?: string;
  pid: number | null = null;
  readonly stdin: Buffer[] = [];
  stdinClosed = false;
  readonly resizes: Array<[number, number]> = [];
  readonly signals: StreamSignal[] = [];
  hangups = 0;
  pauses = 0;
  resumes = 0;
  paused = false;
  /** Stdin the "command" has not read: grows with every write (unless echoing) until the test sets it back to 0. */
  backlog = 0;
  private readonly outs: Array<(c: Buffer) => void> = [];
  private readonly errs: Array<(c: Buffer) => void> = [];
  private settle!: (e: ProcessExit) => void;
  private readonly done = new Promise<ProcessExit>((r) => (this.settle = r));

  constructor(
    readonly spec: StreamSpec,
    private readonly opts: { echo?: boolean } = {},
  ) {}

  onStdout(cb: (c: Buffer) => void): void {
    this.outs.push(cb);
  }
  onStderr(cb: (c: Buffer) => void): void {
    this.errs.push(cb);
  }
  write(d: Buffer): void {
    this.stdin.push(d);
    if (this.opts.echo) this.stdout(d);
    else this.backlog += d.length;
  }
  stdinBacklog(): number {
    return this.backlog;
  }
  closeStdin(): void {
    this.stdinClosed = true;
    if (!this.opts.echo) return;
    const n = this.stdinBytes();
    this.stderr(`read ${n} bytes\n`);
    this.exit(n % 256);
  }
  resize(rows: number, cols: number): void {
    this.resizes.push([rows, cols]);
  }
  signal(sig: StreamSignal): void {
    this.signals.push(sig);
    if (this.opts.echo) this.exit(128 + constants.signals[`SIG${sig}`], sig);
  }
  hangup(): void {
    this.hangups++;
    this.exit(128 + constants.signals.SIGHUP, "HUP");
  }
  pause(): void {
    this.pauses++;
    this.paused = true;
  }
  resume(): void {
    this.resumes++;
    this.paused = false;
  }
  wait(): Promise<ProcessExit> {
    return this.done;
  }

  /** Test side: the command writes to stdout / stderr. */
  stdout(s: string | Buffer): void {
    for (const cb of this.outs) cb(Buffer.from(s));
  }
  stderr(s: string | Buffer): void {
    for (const cb of this.errs) cb(Buffer.from(s));
  }
  /** Test side: the command ends (the first end wins, as for a real process). */
  exit(code: number, signal: string | null = null): void {
    this.settle({ code, signal, oomKilled: false });
  }
  /** Bytes written to stdin so far. */
  stdinBytes(): number {
    return this.stdin.reduce((n, b) => n + b.length, 0);
  }
}
