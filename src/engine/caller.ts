/**
 * The caller of an engine operation, as far as it matters to the engine: whether it is still waiting for the answer.
 * The server runs each request's handler under the request's abort signal (aborted when the client goes away before
 * its answer); an operation queued behind a runtime's lifecycle lock (records.ts `withLock`) whose caller left by the
 * time its turn comes is not started — a client that gave up on a `rm` behind a stuck `pause` must not have its `rm`
 * run minutes later. An operation already running is never cut short (no half-done states).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { RuntaError } from "../api/index.js";

const callers = new AsyncLocalStorage<AbortSignal>();

/** Runs `fn` (and everything it awaits) on behalf of a caller that is gone once `signal` aborts. */
export function runForCaller<T>(signal: AbortSignal, fn: () => T): T {
  return callers.run(signal, fn);
}

/** Throws when the current caller gave up (nobody will read the answer, so the operation is not started). */
export function throwIfCallerGone(what: string): void {
  if (callers.getStore()?.aborted) {
    throw new RuntaError("deadline_exceeded", `the client gave up before ${what} could start (it waited behind an earlier operation on the runtime); nothing was done`);
  }
}
