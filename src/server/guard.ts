/**
 * What a client without a token can hold of the daemon, bounded (issue 21). node:http alone lets such a client keep a
 * connection for the whole request timeout by dribbling a body, reads every byte of a body it has already refused
 * (to keep the connection alive), and, at its connection cap, drops the newcomer however idle the connections it
 * keeps are. Three guards, each on every route (theirs too, whatever module adds them):
 *
 * - {@link ConnectionGuard}: at the cap, a new connection evicts the oldest one that never carried the token
 *   (an idle or slow anonymous one) instead of being dropped, so an authenticated client and health still get in.
 * - {@link closeUnreadBodies}: a response sent before its request body was read closes the connection instead of
 *   reading (and throwing away) the rest, so a refusal costs a header parse, not the body; the API's refusals also
 *   stop reading at once ({@link stopReadingRefusedBody}).
 * - {@link watchBody}: a request body must keep arriving at {@link BODY_MIN_BYTES_PER_SEC} (judged per
 *   {@link BODY_WINDOW_MS} window while the daemon is reading it); a slower one gets 408 and its connection closed.
 */
import type { IncomingMessage, Server as HttpServer, ServerResponse } from "node:http";
import type { Server, Socket } from "node:net";
import { LIMITS, RuntaError } from "../api/index.js";

/**
 * How long a connection may stay silent before its first request. headersTimeout only runs once a request has begun,
 * so without this a client could open connections that never send a byte and use up the daemon's file descriptors.
 */
export const IDLE_CONNECTION_MS = LIMITS.headersTimeoutSecs * 1000;

/**
 * Options of every HTTP listener of the daemon (the API and the ingress). node checks the header and request timeouts
 * on `connectionsCheckingInterval`: at its default (30 s) slow headers lived ~45 s.
 */
export const SERVER_OPTIONS = { keepAlive: true, connectionsCheckingInterval: 1000 } as const;

/**
 * The timeouts of every HTTP listener of the daemon: slow-loris guard for headers and for the first request of a
 * connection (`idleMs`), a bound on receiving a whole request (generous for image imports and uploads; the body watch
 * bounds its rate), and how long an idle keep-alive connection stays. A handler that may run long (an exec, a proxied
 * stream) clears its socket's timeout when its request arrives.
 */
export function applyServerTimeouts(server: HttpServer, idleMs = IDLE_CONNECTION_MS): void {
  server.timeout = idleMs;
  server.headersTimeout = idleMs;
  server.requestTimeout = 15 * 60_000;
  server.keepAliveTimeout = 5_000;
}

/** The slowest a request body may arrive while the daemon reads it. */
export const BODY_MIN_BYTES_PER_SEC = LIMITS.requestBodyMinBytesPerSec;
/** How long each judgement of a body's rate spans. */
export const BODY_WINDOW_MS = 5_000;

/**
 * Counts connections itself instead of node's `maxConnections` (which drops the newcomer). At `max`, the oldest
 * connection that never carried the token is closed to make room; only when every open connection belongs to an
 * authenticated client is the newcomer dropped.
 */
export class ConnectionGuard {
  /** Each open connection and whether a request on it carried the token; insertion order is arrival order. */
  private readonly open = new Map<Socket, boolean>();
  /** Connections closed to make room (for tests and the stress report). */
  evicted = 0;
  /** Newcomers dropped because every connection was trusted. */
  dropped = 0;

  constructor(private readonly max: number) {}

  /** Starts counting `server`'s connections (an HTTP server, or a plain listener that hands them on). */
  attach(server: Server): void {
    server.on("connection", (socket: Socket) => this.admit(socket));
  }

  /** Marks the connection of a request that carried the token: it is evicted last. */
  trust(socket: Socket | null | undefined): void {
    if (socket && this.open.has(socket)) this.open.set(socket, true);
  }

  get size(): number {
    return this.open.size;
  }

  private admit(socket: Socket): void {
    if (this.open.size >= this.max) {
      const victim = this.oldestUntrusted();
      if (!victim) {
        this.dropped++;
        socket.destroy();
        return;
      }
      this.evicted++;
      this.open.delete(victim);
      victim.destroy();
    }
    this.open.set(socket, false);
    socket.once("close", () => this.open.delete(socket));
  }

  private oldestUntrusted(): Socket | undefined {
    for (const [socket, trusted] of this.open) if (!trusted) return socket;
    return undefined;
  }
}

/**
 * Makes every response to `req` that starts before its body was read whole close the connection (`Connection:
 * close`): node would otherwise read and discard the rest to reuse the connection, however large the declared body.
 * Hooked on writeHead, which every response goes through (node's implicit headers call it too).
 */
export function closeUnreadBodies(req: IncomingMessage, res: ServerResponse): void {
  const writeHead = res.writeHead;
  res.writeHead = function (this: ServerResponse, ...args: unknown[]) {
    if (!req.complete) this.shouldKeepAlive = false;
    return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args);
  } as ServerResponse["writeHead"];
}

/**
 * After a refusal sent before `req`'s body was read (an unauthenticated or unknown route flooded with a body): stops
 * reading the socket at once and destroys it when the answer is out, instead of parsing what keeps arriving until
 * then (half the bytes a flooded connection cost the daemon). Only for the API's error answers: a proxied app
 * (the ingress) may answer while its upload still streams.
 */
export function stopReadingRefusedBody(req: IncomingMessage, res: ServerResponse): void {
  if (req.complete) return;
  req.socket.pause();
  res.once("finish", () => req.socket.destroy());
}

/**
 * Watches `req`'s body while it arrives: a window in which the daemon had nothing left to read and fewer than
 * {@link BODY_MIN_BYTES_PER_SEC} per second arrived calls `onStall` once with the 408 to send. A window where
 * unread bytes wait in the daemon (the handler is busy) does not count against the client. Returns the stop function.
 */
export function watchBody(req: IncomingMessage, onStall: (err: RuntaError) => void, windowMs = BODY_WINDOW_MS): () => void {
  if (req.complete) return () => {};
  // The socket's byte count, not 'data' listeners: those would switch the body to flowing mode behind the handler.
  const socket = req.socket;
  let mark = socket.bytesRead;
  const minBytes = (BODY_MIN_BYTES_PER_SEC * windowMs) / 1000;
  const timer = setInterval(() => {
    if (req.complete || req.destroyed) return stop();
    const received = socket.bytesRead - mark;
    mark = socket.bytesRead;
    if (received >= minBytes || req.readableLength > 0) return;
    stop();
    onStall(
      new RuntaError("deadline_exceeded", `request body arrived slower than ${BODY_MIN_BYTES_PER_SEC} bytes/s; send it faster or smaller`, {
        httpStatus: 408,
        details: { min_bytes_per_sec: BODY_MIN_BYTES_PER_SEC },
      }),
    );
  }, windowMs);
  timer.unref();
  const stop = () => clearInterval(timer);
  req.once("end", stop);
  req.once("close", stop);
  return stop;
}
