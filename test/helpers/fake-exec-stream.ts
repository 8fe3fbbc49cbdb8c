/** A fake exec stream (the SDK's ExecStreamHandle) for the TTY bridge and `runta exec -i/-t` unit tests. */
import { EventEmitter } from "node:events";
import type { StreamSignal } from "../../src/api/index.js";
import type { ExecStreamHandle, StreamExit } from "../../src/client/contract.js";
import { apiErrorFromCode } from "../../src/client/errors.js";

/** A handle whose remote side the test drives by hand. */
export class FakeHandle extends EventEmitter implements ExecStreamHandle {
  written: Buffer[] = [];
  stdinClosed = 0;
  resizes: Array<[number, number]> = [];
  signals: StreamSignal[] = [];
  closed = 0;
  private settle!: { resolve(e: StreamExit): void; reject(e: Error): void };
  private readonly done = new Promise<StreamExit>((resolve, reject) => (this.settle = { resolve, reject }));
  write(data: Buffer | string) {
    this.written.push(Buffer.from(data));
  }
  closeStdin() {
    this.stdinClosed++;
  }
  resize(rows: number, cols: number) {
    this.resizes.push([rows, cols]);
  }
  signal(sig: StreamSignal) {
    this.signals.push(sig);
  }
  close() {
    this.closed++;
    this.settle.reject(apiErrorFromCode("unavailable", "the exec stream was closed before the command exited"));
  }
  wait() {
    return this.done;
  }
  exit(code: number, signal: string | null = null) {
    this.settle.resolve({ code, signal });
  }
  /** The connection is lost, as the SDK's stream reports it. */
  die(message: string) {
    this.settle.reject(apiErrorFromCode("unavailable", message));
  }
}
