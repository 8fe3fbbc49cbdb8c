/**
 * The REST API v1 server (DESIGN §3) on node:http: Host/Origin checks, auth, dispatch to the route modules
 * (routes/), the one error mapping (errors.ts), connection limits and graceful close.
 * Everything runtime-related is delegated to an {@link Engine}.
 */
import { createServer, type IncomingMessage, type ServerResponse, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { LIMITS, RuntaError, errors } from "../api/index.js";
import { runForCaller } from "../engine/caller.js";
import type { Engine } from "../engine/types.js";
import type { IngressInfo } from "../api/ports-spec.js";
import { bearerAuthenticator, forbiddenOrigin, hostChecker, originChecker, unauthenticated } from "./auth.js";
import { mapError } from "./errors.js";
import type { ExecStreamDeps } from "./exec-stream.js";
import { applyServerTimeouts, closeUnreadBodies, ConnectionGuard, IDLE_CONNECTION_MS, SERVER_OPTIONS, stopReadingRefusedBody, watchBody } from "./guard.js";
import { newRequestId, send, type Ctx } from "./http.js";
import { decodeParams, Router } from "./router.js";
import { ROUTE_MODULES } from "./routes/index.js";
import { DashboardAssets } from "./dashboard/assets.js";
import type { DashboardDeps } from "./dashboard/routes.js";
import { DashboardSessions } from "./dashboard/session.js";
import { silentLogger, type Logger } from "../log.js";

/** Attaches the exec-stream websocket to the server; `closeAll` ends every session (1001 at shutdown). */
export type AttachStreams = (server: Server, deps: ExecStreamDeps) => { closeAll(code: number, reason: string): void };

/** Options of {@link createApiServer}. */
export interface ApiServerOptions {
  engine: Engine;
  /** The bearer token every route but /v1/health requires. */
  token: string;
  /** Default: silent. */
  logger?: Logger;
  /** Host names accepted in Host/Origin besides loopback (only when listening on a public address). Default: none. */
  publicHosts?: string[];
  /** The websocket attachment (the daemon passes exec-stream's `attachExecStream`). Default: no websocket. */
  attachStreams?: AttachStreams;
  /**
   * A connection that sends no request for this long is closed, and a request's headers must arrive within it.
   * Default {@link IDLE_CONNECTION_MS}.
   */
  idleConnectionMs?: number;
  /** The window over which a request body's minimum rate is judged (guard.ts). Default BODY_WINDOW_MS. */
  bodyWindowMs?: number;
  /**
   * Open connections at most: a newcomer beyond it closes the oldest connection that never carried the token, or is
   * dropped when every one did. Default LIMITS.connectionsMax.
   */
  maxConnections?: number;
  /** The dashboard's sessions and files. Default: sessions bound to `token`, files from dist/ui. */
  dashboard?: DashboardDeps;
  /** What `GET /v1/ingress` reports (null: the daemon runs without an ingress). Default: none. */
  ingress?: () => IngressInfo | null;
}

export { IDLE_CONNECTION_MS };

/** A running API server. */
export interface ApiServer {
  readonly server: Server;
  /** The connection cap and its eviction counts. */
  readonly connections: ConnectionGuard;
  /** Listens on host:port (port 0 picks a free one); resolves with the endpoint URL. */
  listen(host: string, port: number): Promise<string>;
  /** Stops accepting, lets in-flight requests finish for up to `graceMs` (default 10 s), then drops them. */
  close(graceMs?: number): Promise<void>;
}

/** Builds the HTTP server for `engine`; call `listen` to serve it. */
export function createApiServer(opts: ApiServerOptions): ApiServer {
  const { engine } = opts;
  const logger = opts.logger ?? silentLogger;
  const authenticate = bearerAuthenticator(opts.token);
  let port = 0;
  const checkHost = hostChecker({ port: () => port, publicHosts: opts.publicHosts });
  const checkOriginHeader = originChecker({ publicHosts: opts.publicHosts });
  let closing = false;
  let inflight = 0;
  const idleWaiters: Array<() => void> = [];

  const dashboard = opts.dashboard ?? { sessions: new DashboardSessions({ token: () => opts.token }), assets: new DashboardAssets() };
  const connections = new ConnectionGuard(opts.maxConnections ?? LIMITS.connectionsMax);
  /**
   * The bearer token (CLI, SDK) or a dashboard session cookie, with the session's own Origin and CSRF rules. A
   * connection that passed once is the last to be evicted at the connection cap.
   */
  const authVia = (req: IncomingMessage, websocket = false): Ctx["auth"] => {
    const how = authenticate(req) ? "token" : dashboard.sessions.allows(req, { websocket }) ? "session" : undefined;
    if (how) connections.trust(req.socket);
    return how;
  };
  const router = new Router(ROUTE_MODULES.flatMap((routes) => routes({ engine, logger, dashboard, ingress: opts.ingress ?? (() => null) })));

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = newRequestId();
    res.setHeader("X-Request-Id", requestId);
    res.setHeader("Cache-Control", "no-store");
    if (closing) res.shouldKeepAlive = false;
    const url = new URL(req.url ?? "/", "http://localhost");
    const ctx: Ctx = { req, res, requestId, url, params: {} };
    const started = Date.now();
    try {
      if (!checkHost(req)) throw forbiddenOrigin("Host");
      if (!checkOriginHeader(req)) throw forbiddenOrigin("Origin");
      const found = router.match(req.method ?? "GET", url.pathname);
      if (found.route?.auth !== false && !(ctx.auth = authVia(req))) {
        res.setHeader("WWW-Authenticate", 'Bearer realm="runta"');
        throw unauthenticated(req);
      }
      if (!found.route) {
        if (found.allowed.length) {
          res.setHeader("Allow", found.allowed.join(", "));
          throw new RuntaError("invalid_argument", `method ${req.method} is not allowed on ${url.pathname}; use ${found.allowed.join(" or ")}`, {
            httpStatus: 405,
          });
        }
        throw errors.notFound(`no such route: ${req.method} ${url.pathname} (see GET /v1/openapi.json)`);
      }
      ctx.params = decodeParams(found.rawParams);
      // The client may give up (closed connection before the answer): operations still queued on its behalf are skipped.
      const gone = new AbortController();
      const onClose = () => !res.writableFinished && gone.abort();
      res.once("close", onClose);
      try {
        await runForCaller(gone.signal, () => found.route!.handler(ctx));
      } finally {
        res.off("close", onClose);
      }
    } catch (err) {
      const { status, headers, body } = mapError(err, requestId, logger);
      if (res.headersSent) {
        res.destroy();
      } else {
        for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
        send(ctx, status, body);
        stopReadingRefusedBody(req, res);
      }
    } finally {
      logger.debug("request", { request_id: requestId, method: req.method, path: url.pathname, status: res.statusCode, ms: Date.now() - started });
    }
  }

  const server = createServer(SERVER_OPTIONS, (req, res) => {
    // The request has arrived: its handler may take long (an exec runs up to an hour) with a silent socket. After the
    // response node arms the keep-alive timeout, and the next request re-arms the idle one.
    req.socket.setTimeout(0);
    inflight++;
    closeUnreadBodies(req, res);
    const stopWatching = watchBody(req, (err) => refuseSlowBody(req, res, err), opts.bodyWindowMs);
    res.on("close", () => {
      stopWatching();
      inflight--;
      if (inflight === 0) for (const w of idleWaiters.splice(0)) w();
    });
    void handle(req, res);
  });

  /** A body slower than the minimum rate: 408 (the connection closes: its body is unread), or a cut if already answering. */
  function refuseSlowBody(req: IncomingMessage, res: ServerResponse, err: Error): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const requestId = String(res.getHeader("X-Request-Id") ?? newRequestId());
    const { status, body } = mapError(err, requestId, logger);
    send({ req, res, requestId, url: new URL(req.url ?? "/", "http://localhost"), params: {} }, status, body);
  }

  applyServerTimeouts(server, opts.idleConnectionMs);
  connections.attach(server);

  const streams = opts.attachStreams?.(server, {
    engine,
    authenticate: (req) => authVia(req, true) !== undefined,
    checkOrigin: (req) => checkHost(req) && checkOriginHeader(req),
    logger,
  });

  return {
    server,
    connections,
    listen(host, p) {
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(p, host, () => {
          server.off("error", reject);
          port = (server.address() as AddressInfo).port;
          const h = host.includes(":") ? `[${host}]` : host;
          resolve(`http://${h}:${port}`);
        });
      });
    },
    async close(graceMs = 10_000) {
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      streams?.closeAll(1001, "daemon shutting down");
      if (inflight > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, graceMs);
          idleWaiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      server.closeAllConnections();
      await closed;
    },
  };
}
