/**
 * Ties a streamed process to its exec object: the registry learns its pid and how it ended, a timeout kills its
 * session, and a hangup (the client went away) is recorded as the reason it ended.
 */
import type { ProcessExit, StreamProcess } from "../types.js";
import type { ExecControl } from "./handle.js";
import type { ExecEntry } from "./registry.js";

/** A started streamed process that knows how it is signalled (stream-exec.ts). */
export type HostProcess = StreamProcess & { readonly control: ExecControl | null };

/** Registers `proc`'s start and end with `entry`, and returns the process the server sees. */
export function tracked(proc: HostProcess, entry: ExecEntry, opts: { timeoutSecs?: number } = {}): StreamProcess {
  if (proc.control !== null) entry.started(proc.control);
  const timer = opts.timeoutSecs ? setTimeout(() => entry.killAll("timed_out"), opts.timeoutSecs * 1000) : undefined;
  timer?.unref();
  const done = proc.wait().then(
    (exit) => {
      clearTimeout(timer);
      entry.ended(exit);
      return { ...exit, endedBy: entry.endedBy ?? undefined };
    },
    (err: unknown) => {
      clearTimeout(timer);
      entry.ended(null);
      throw err;
    },
  );
  done.catch(() => undefined);
  return {
    execId: entry.id,
    get pid() {
      return entry.pid;
    },
    onStdout: (cb) => proc.onStdout(cb),
    onStderr: (cb) => proc.onStderr(cb),
    write: (data) => proc.write(data),
    closeStdin: () => proc.closeStdin(),
    resize: (rows, cols) => proc.resize(rows, cols),
    signal: (sig) => proc.signal(sig),
    hangup: () => {
      if (entry.running) entry.markEnding("client_gone");
      proc.hangup();
    },
    pause: proc.pause && (() => proc.pause!()),
    resume: proc.resume && (() => proc.resume!()),
    stdinBacklog: proc.stdinBacklog && (() => proc.stdinBacklog!()),
    wait: (): Promise<ProcessExit> => done,
  };
}
