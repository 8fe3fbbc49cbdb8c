/**
 * The way from the ingress (or a host port) into a runtime: hold activity, wake a suspended runtime, then dial the
 * app's port until it accepts. An app that is still starting (after a create, a boot, a wake) refuses connections for
 * a while; the client must see a slower first answer, not a refusal, so refusals are retried with backoff up to a
 * bound, after which the caller answers 503 with Retry-After.
 */
import net from "node:net";
import { RuntaError, type RuntimeStatus } from "../../api/index.js";

/** What the dialler needs to know about the runtime, read afresh on every attempt. */
export interface UpstreamTarget {
  runtimeId: string;
  port: number;
  /** Its status and address now (null: the runtime is gone). */
  state(): { status: RuntimeStatus; address: string | null } | null;
  /** Resumes a suspended runtime (single-flight in the engine). */
  wake(): Promise<void>;
}

/** Options of {@link dialUpstream}. */
export interface DialOptions {
  /** Give up (503) after this long. */
  timeoutMs: number;
  /** Aborts the wait when the client went away. */
  signal?: AbortSignal;
  /** One connection attempt's own bound (a frozen or black-holed runtime never answers). Default 2 s. */
  attemptMs?: number;
}

/** Backoff between refused attempts: quick at first (an app that is nearly up), then at most every half second. */
const BACKOFF_MS = [25, 50, 100, 200, 350, 500];

/** The 503 a client gets when the app does not accept within the bound: retry later. */
export function notReady(message: string, retryAfterSecs = 5): RuntaError {
  return new RuntaError("unavailable", message, { details: { retry_after_secs: retryAfterSecs } });
}

/** Statuses that come back to running by themselves (or by our wake) while a request waits. */
const WAITABLE: ReadonlySet<RuntimeStatus> = new Set(["running", "suspended", "creating"]);

/** Why a runtime cannot be reached now, in words that name no runtime (the caller may be anyone who reaches the ingress). */
function notServing(status: RuntimeStatus): RuntaError {
  const why: Partial<Record<RuntimeStatus, string>> = {
    paused: "the service is paused by its owner",
    shutdown: "the service is shut down",
    crashed: "the service stopped unexpectedly",
    error: "the service failed to start",
    deleting: "the service is being removed",
  };
  return notReady(why[status] ?? `the service is ${status}`, 30);
}

/**
 * Connects to the runtime's `port`, waking it first when it is suspended, retrying refusals until `timeoutMs`.
 * Resolves with the connected socket; rejects with `not_found` (gone) or `unavailable` (not serving, timed out).
 */
export async function dialUpstream(target: UpstreamTarget, opts: DialOptions): Promise<net.Socket> {
  const deadline = Date.now() + opts.timeoutMs;
  let woken = false;
  let lastError = "";
  for (let attempt = 0; ; attempt++) {
    if (opts.signal?.aborted) throw notReady("the client went away");
    const state = target.state();
    if (!state) throw new RuntaError("not_found", "no such service");
    if (!WAITABLE.has(state.status)) throw notServing(state.status);
    if (state.status === "suspended" && !woken) {
      woken = true;
      await withDeadline(target.wake(), deadline, "the service did not wake up in time");
      continue;
    }
    if (state.status === "running" && state.address) {
      try {
        return await connect(state.address, target.port, Math.min(opts.attemptMs ?? 2000, Math.max(1, deadline - Date.now())), opts.signal);
      } catch (err) {
        lastError = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      }
    }
    const pause = BACKOFF_MS[Math.min(attempt, BACKOFF_MS.length - 1)]!;
    if (Date.now() + pause >= deadline) {
      throw notReady(`the service did not accept connections on port ${target.port} within ${Math.round(opts.timeoutMs / 1000)} s${lastError ? ` (${lastError})` : ""}; retry later`);
    }
    await sleep(pause, opts.signal);
  }
}

function connect(host: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, noDelay: true, allowHalfOpen: true });
    const fail = (err: Error) => {
      cleanup();
      socket.destroy();
      reject(err);
    };
    const onAbort = () => fail(Object.assign(new Error("aborted"), { code: "ABORTED" }));
    const timer = setTimeout(() => fail(Object.assign(new Error("timed out"), { code: "ETIMEDOUT" })), timeoutMs);
    const cleanup = () => {
      clearTimeout(timer);
      socket.off("error", fail);
      signal?.removeEventListener("abort", onAbort);
    };
    socket.once("error", fail);
    signal?.addEventListener("abort", onAbort, { once: true });
    socket.once("connect", () => {
      cleanup();
      resolve(socket);
    });
  });
}

async function withDeadline<T>(p: Promise<T>, deadline: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(notReady(message)), Math.max(0, deadline - Date.now())))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
