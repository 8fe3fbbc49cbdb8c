/**
 * The upgrade gate of the exec-stream websocket (DESIGN §4): `GET /v1/runtimes/{rt}/exec/stream`, and of the
 * reattach of a terminal session that lost its client, `GET /v1/runtimes/{rt}/execs/{id}/attach?rows=&cols=`.
 *
 * Authentication, the Origin/Host check, the session cap and the runtime's existence all happen here, in the HTTP
 * `upgrade` handler, so a refused client gets a plain HTTP error (401, 403, 404, 429 with Retry-After, 503) through
 * the server's one error mapping and never a 101. An admitted connection becomes a session (exec-session.ts): one command, living as long as the socket.
 */
import { STATUS_CODES, type IncomingMessage, type Server } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import { ExecAttachQuerySchema, LIMITS, RuntaError, errors } from "../api/index.js";
import type { Engine } from "../engine/types.js";
import { silentLogger, type Logger } from "../log.js";
import { unauthenticated } from "./auth.js";
import { mapError } from "./errors.js";
import { runSession, type AttachTarget } from "./exec-session.js";
import { JSON_TYPE, newRequestId, pathSegment } from "./http.js";

/** What the exec stream needs from the server (app.ts hands it over), plus tuning knobs tests turn. */
export interface ExecStreamDeps {
  engine: Engine;
  /** True when the request carries the daemon's bearer token (constant-time comparison is the caller's job). */
  authenticate(req: IncomingMessage): boolean;
  /** True when Host and Origin are acceptable (DNS-rebinding protection). */
  checkOrigin(req: IncomingMessage): boolean;
  /** Default: silent. */
  logger?: Logger;
  /** Ping interval; a peer that misses 2 pongs in a row is terminated. Default LIMITS.wsHeartbeatMs. */
  heartbeatMs?: number;
  /** Concurrent sessions (including handshakes in progress). Default LIMITS.wsMaxSessions. */
  maxSessions?: number;
  /** How long a connection may wait before sending `start`. Default 10 s. */
  startTimeoutMs?: number;
}

/** Handle returned by {@link attachExecStream}. */
export interface ExecStreamServer {
  /** Closes every session with the given websocket close code (1001 on daemon shutdown) and refuses new ones. */
  closeAll(code: number, reason: string): void;
  /** Number of live sessions (for health output and tests). */
  readonly sessionCount: number;
}

const PATH_RE = /^\/v1\/runtimes\/([^/]+)\/exec\/stream\/?$/;
const ATTACH_RE = /^\/v1\/runtimes\/([^/]+)\/execs\/([^/]+)\/attach\/?$/;

/**
 * Serves the exec stream on `server`'s `upgrade` event. Call once per HTTP server; the REST routes are untouched.
 */
export function attachExecStream(server: Server, deps: ExecStreamDeps): ExecStreamServer {
  const heartbeatMs = deps.heartbeatMs ?? LIMITS.wsHeartbeatMs;
  const maxSessions = deps.maxSessions ?? LIMITS.wsMaxSessions;
  const startTimeoutMs = deps.startTimeoutMs ?? 10_000;
  const log = deps.logger ?? silentLogger;
  const wss = new WebSocketServer({ noServer: true, maxPayload: LIMITS.wsMaxPayloadBytes, perMessageDeflate: false });
  /** Live sessions: each socket and the function that ends its session (hanging its process up). */
  const sockets = new Map<WebSocket, (code: number, reason: string) => void>();
  let pending = 0;
  let closing = false;

  /** The runtime (and exec to attach to) the request is for; throws the refusal when it may not become a session. */
  function admit(req: IncomingMessage): { ref: string; attach?: AttachTarget } {
    const url = new URL(req.url ?? "/", "http://localhost");
    const path = url.pathname;
    const match = PATH_RE.exec(path) ?? ATTACH_RE.exec(path);
    if (!match) {
      throw errors.notFound(`no websocket endpoint at ${path}; use /v1/runtimes/{runtime}/exec/stream or /v1/runtimes/{runtime}/execs/{id}/attach`);
    }
    if (!deps.checkOrigin(req)) {
      throw new RuntaError("permission_denied", "Host or Origin header is not allowed; connect through a loopback address");
    }
    if (!deps.authenticate(req)) throw unauthenticated(req);
    if (closing) throw errors.unavailable("the daemon is shutting down; retry once it is back");
    if (sockets.size + pending >= maxSessions) {
      throw errors.exhausted(`too many exec sessions (at most ${maxSessions} at once); close one and retry`);
    }
    const ref = pathSegment(match[1]!);
    if (match[2] === undefined) return { ref };
    const size = ExecAttachQuerySchema.safeParse(Object.fromEntries(url.searchParams));
    if (!size.success) throw errors.invalid("rows and cols must be whole numbers from 1 to 1000");
    return { ref, attach: { execId: pathSegment(match[2]), rows: size.data.rows, cols: size.data.cols } };
  }

  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // A client resetting the connection mid-handshake must not crash the daemon.
    const onHandshakeError = (err: Error) => log.warn("exec stream: socket error during upgrade", { error: err.message });
    socket.on("error", onHandshakeError);
    let target: ReturnType<typeof admit>;
    try {
      target = admit(req);
    } catch (err) {
      refuse(socket, err, log);
      return;
    }
    // Count the handshake until it completes or its socket goes away (ws drops bad handshakes without calling back).
    pending++;
    let counted = true;
    const release = () => {
      if (counted) {
        counted = false;
        pending--;
      }
    };
    socket.once("close", release);
    // An unknown runtime (or exec to attach to) is a plain 404 before the handshake, not a 101 followed by an error frame.
    const exists = async () => {
      if (target.attach) await deps.engine.getExec(target.ref, target.attach.execId);
      else await deps.engine.get(target.ref, { usage: false });
    };
    exists().then(
      () => {
        if (socket.destroyed) return;
        wss.handleUpgrade(req, socket, head, (ws) => {
          release();
          // From here on the websocket owns the socket and reports its errors.
          socket.off("error", onHandshakeError);
          sockets.set(ws, runSession(ws, target.ref, { engine: deps.engine, log, heartbeatMs, startTimeoutMs }, target.attach));
          ws.once("close", () => sockets.delete(ws));
        });
      },
      (err: unknown) => {
        release();
        refuse(socket, err, log);
      },
    );
  });

  return {
    closeAll(code: number, reason: string) {
      closing = true;
      for (const end of sockets.values()) end(code, reason);
    },
    get sessionCount() {
      return sockets.size;
    },
  };
}

/**
 * Answers an upgrade that will not be accepted with a plain HTTP error, mapped like every REST error (status and
 * envelope from errors.ts), on the raw socket (node's response object does not exist for an upgrade), then drops it.
 */
function refuse(socket: Duplex, err: unknown, log: Logger): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const requestId = newRequestId();
  const { status, headers, body } = mapError(err, requestId, log);
  const payload = JSON.stringify(body);
  const extra = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join("");
  socket.once("finish", () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Error"}\r\n` +
      "Connection: close\r\n" +
      "Cache-Control: no-store\r\n" +
      `Content-Type: ${JSON_TYPE}\r\n` +
      `Content-Length: ${Buffer.byteLength(payload)}\r\n` +
      `X-Request-Id: ${requestId}\r\n` +
      extra +
      "\r\n" +
      payload,
  );
}
