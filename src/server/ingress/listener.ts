/**
 * The daemon's ingress listener (DESIGN §11, Ingress): one port serving HTTP and HTTPS (told apart by the first byte:
 * 0x16 opens a TLS handshake), routing by Host `<port>-<runtime-uuid>.<domain>` to that port of that runtime when it
 * is published there. TLS is terminated here with leaves from the daemon's ingress CA (engine/tls), chosen by SNI.
 *
 * Who may use it: whoever reaches the listener, like a published port of docker — there is no token, by design
 * (README, Publishing ports). What it reaches: only ports a runtime published, on that runtime's address; never the
 * API (a separate listener with its own auth), never another runtime's unpublished port, never the host.
 *
 * Hardening is the API server's (guard.ts): the same connection cap with eviction of the oldest, the same header and
 * idle deadlines, the same minimum body rate while the app reads a body.
 */
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import https from "node:https";
import net from "node:net";
import type { Duplex } from "node:stream";
import { LIMITS, RuntaError } from "../../api/index.js";
import { parseIngressHost } from "../../api/ports-spec.js";
import type { PublishedConnection } from "../../engine/ingress/ingress.js";
import type { CertificateAuthority } from "../../engine/tls/ca.js";
import type { Engine } from "../../engine/types.js";
import { silentLogger, type Logger } from "../../log.js";
import { applyServerTimeouts, closeUnreadBodies, ConnectionGuard, IDLE_CONNECTION_MS, SERVER_OPTIONS, watchBody } from "../guard.js";
import { NOT_PUBLISHED, pageFor, sendPage, writePage } from "./pages.js";
import { forwardRequest, forwardUpgrade, refuseUpgrade } from "./proxy.js";

/** Options of {@link IngressServer.create}. */
export interface IngressServerOptions {
  /** Host names are `<port>-<uuid>.<domain>`. */
  domain: string;
  /** Issues the leaves of the https side (one per host name, by SNI). */
  ca: CertificateAuthority;
  logger?: Logger;
  /** Open connections at most (default LIMITS.connectionsMax); at the cap the oldest is closed for the newcomer. */
  maxConnections?: number;
  /** Silence allowed before a request, and for its headers (default IDLE_CONNECTION_MS). */
  idleConnectionMs?: number;
  /** Window of the minimum body rate (guard.ts). */
  bodyWindowMs?: number;
}

type Scheme = "http" | "https";

/** The ingress listener (see the module comment). */
export class IngressServer {
  readonly connections: ConnectionGuard;
  private engine: Engine | null = null;
  private readonly listener: net.Server;
  private readonly servers: Record<Scheme, http.Server>;
  private readonly logger: Logger;
  private readonly inflight = new Set<ServerResponse>();
  /** Every accepted connection, so that close() can end the ones still silent (not yet handed to a side). */
  private readonly sockets = new Set<net.Socket>();

  constructor(private readonly opts: IngressServerOptions) {
    this.logger = opts.logger ?? silentLogger;
    const idleMs = opts.idleConnectionMs ?? IDLE_CONNECTION_MS;
    this.connections = new ConnectionGuard(opts.maxConnections ?? LIMITS.connectionsMax);
    const plain = http.createServer(SERVER_OPTIONS, (req, res) => this.handle(req, res, "http"));
    // A name outside the domain (or none: a client dialling the address) gets the domain's own leaf.
    const fallback = opts.ca.secureContext(opts.domain);
    const own = opts.ca.leaf(opts.domain);
    const secure = https.createServer(
      {
        ...SERVER_OPTIONS,
        key: own.key,
        cert: own.cert,
        SNICallback: (name, cb) => {
          if (parseIngressHost(name, opts.domain)) opts.ca.sniCallback(name, cb);
          else cb(null, fallback);
        },
        handshakeTimeout: idleMs,
        minVersion: "TLSv1.2",
      },
      (req, res) => this.handle(req, res, "https"),
    );
    for (const [scheme, server] of [["http", plain], ["https", secure]] as const) {
      applyServerTimeouts(server, idleMs);
      server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) =>
        this.onUpgrade(req, socket, head, scheme).catch((err: Error) => {
          this.logger.error("ingress upgrade failed", { error: err.message });
          socket.destroy();
        }),
      );
      server.on("clientError", (_err, socket: Duplex) => socket.destroy());
    }
    secure.on("tlsClientError", (_err, socket) => socket.destroy());
    this.servers = { http: plain, https: secure };
    this.listener = net.createServer({ noDelay: true }, (socket) => this.dispatch(socket, idleMs));
    this.connections.attach(this.listener);
  }

  /** Starts answering with `engine` (until then every request gets 503: the daemon is starting). */
  serve(engine: Engine): void {
    this.engine = engine;
  }

  /** Listens on host:port (0: a free port); resolves with the port. */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.listener.once("error", reject);
      this.listener.listen({ host, port, exclusive: true }, () => {
        this.listener.off("error", reject);
        resolve((this.listener.address() as net.AddressInfo).port);
      });
    });
  }

  /** Stops accepting, lets requests in flight finish for up to `graceMs`, then cuts everything (websockets too). */
  async close(graceMs = 10_000): Promise<void> {
    const closed = new Promise<void>((resolve) => (this.listener.listening ? this.listener.close(() => resolve()) : resolve()));
    for (const server of Object.values(this.servers)) server.closeIdleConnections();
    const deadline = Date.now() + graceMs;
    while (this.inflight.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    for (const server of Object.values(this.servers)) server.closeAllConnections();
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  /** Hands a new connection to the HTTP or the TLS side by its first byte. */
  private dispatch(socket: net.Socket, idleMs: number): void {
    this.sockets.add(socket);
    socket.once("close", () => this.sockets.delete(socket));
    socket.setTimeout(idleMs, () => socket.destroy());
    socket.on("error", () => socket.destroy());
    socket.once("data", (chunk: Buffer) => {
      socket.pause();
      socket.setTimeout(0);
      socket.unshift(chunk);
      // TLS records of type 22 (handshake) start a ClientHello; anything else is read as HTTP. The TLS socket reads
      // what was unshifted itself (node's initRead); the HTTP side listens for 'data', which needs the flow back on.
      if (chunk[0] === 0x16) this.servers.https.emit("connection", socket);
      else {
        this.servers.http.emit("connection", socket);
        socket.resume();
      }
    });
  }

  /** One request; whatever goes wrong becomes a 502 page (or a cut answer), never an unhandled rejection. */
  private handle(req: IncomingMessage, res: ServerResponse, scheme: Scheme): void {
    this.onRequest(req, res, scheme).catch((err: Error) => {
      this.logger.error("ingress request failed", { error: err.message });
      sendPage(res, pageFor(err));
    });
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse, scheme: Scheme): Promise<void> {
    // A proxied request may stream for as long as the app does; node re-arms the idle timeout after the response.
    req.socket.setTimeout(0);
    this.inflight.add(res);
    res.once("close", () => this.inflight.delete(res));
    closeUnreadBodies(req, res);
    const stopWatching = watchBody(req, () => sendPage(res, { status: 408, title: "Request Timeout", text: "The request body arrived too slowly." }), this.opts.bodyWindowMs);
    res.once("close", stopWatching);
    const conn = await this.open(req, res);
    if (!conn) return;
    const target = parseIngressHost(req.headers.host, this.opts.domain)!;
    if (conn.protocol === "https" && scheme === "http") {
      // A port published as https is served over TLS only: send the browser there.
      conn.socket.destroy();
      conn.release();
      const location = `https://${req.headers.host}${req.url ?? "/"}`;
      return sendPage(res, { status: 308, title: "Permanent Redirect", text: `This service is served at ${location}`, headers: { Location: location } });
    }
    this.logger.debug("ingress request", { runtime_id: target.runtimeId, port: target.port, method: req.method, scheme });
    forwardRequest(req, res, conn, scheme);
  }

  /** The engine's connection for the request's host, or null after answering with the page that says why not. */
  private async open(req: IncomingMessage, res: ServerResponse): Promise<PublishedConnection | null> {
    const target = parseIngressHost(req.headers.host, this.opts.domain);
    if (!target) {
      sendPage(res, NOT_PUBLISHED);
      return null;
    }
    if (!this.engine) {
      sendPage(res, pageFor(new RuntaError("unavailable", "the daemon is starting", { details: { retry_after_secs: 1 } })));
      return null;
    }
    const gone = new AbortController();
    const onClose = () => gone.abort();
    res.once("close", onClose);
    try {
      const conn = await this.engine.openPublished(target.runtimeId, target.port, gone.signal);
      if (res.destroyed) {
        conn.socket.destroy();
        conn.release();
        return null;
      }
      return conn;
    } catch (err) {
      if (!(err instanceof RuntaError)) this.logger.error("ingress could not open a published port", { error: (err as Error).message });
      sendPage(res, pageFor(err));
      return null;
    } finally {
      res.off("close", onClose);
    }
  }

  private async onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, scheme: Scheme): Promise<void> {
    (socket as net.Socket).setTimeout?.(0);
    socket.on("error", () => socket.destroy());
    const target = parseIngressHost(req.headers.host, this.opts.domain);
    if (!target) return writePage(socket, NOT_PUBLISHED);
    if (!this.engine) return refuseUpgrade(socket, new RuntaError("unavailable", "the daemon is starting", { details: { retry_after_secs: 1 } }));
    const gone = new AbortController();
    const onClose = () => gone.abort();
    socket.once("close", onClose);
    let conn: PublishedConnection;
    try {
      conn = await this.engine.openPublished(target.runtimeId, target.port, gone.signal);
    } catch (err) {
      return refuseUpgrade(socket, err);
    } finally {
      socket.off("close", onClose);
    }
    if (socket.destroyed || (conn.protocol === "https" && scheme === "http")) {
      conn.socket.destroy();
      conn.release();
      if (!socket.destroyed) writePage(socket, { status: 403, title: "Forbidden", text: "This service is served over https only." });
      return;
    }
    forwardUpgrade(req, socket, head, conn, scheme);
  }
}
