/**
 * Injection in the egress proxy: a connection from a runtime to a host it has secret rules for is taken over here
 * instead of being spliced. For HTTPS, TLS is terminated with a leaf certificate of the daemon's egress CA (which
 * every runtime trusts, rootfs-installed by the engine) for exactly that host; every request is read as HTTP/1.1, the
 * rules' headers are replaced (whatever the runtime sent, the stub included) when the path matches, and the request
 * goes on over a new TLS connection to the real host — dialled at the address the proxy resolved, its certificate
 * verified for the host name against the host's trust store plus the daemon's extra CA bundle. Plain HTTP is taken
 * over only when a rule says `allow_http`. Each request is an egress event naming the secret injected (never its value).
 *
 * ALPN offers only http/1.1, so clients that would speak HTTP/2 fall back. A websocket (Upgrade) request is rewritten
 * the same way, then its bytes are spliced.
 */
import http from "node:http";
import https from "node:https";
import net from "node:net";
import { Duplex } from "node:stream";
import tls, { type SecureContext } from "node:tls";
import { readFileSync } from "node:fs";
import type { EgressEvent } from "../../api/egress.js";
import type { Handover, Protocol, Takeover } from "../network/proxy.js";
import { fillTemplate, pathMatches, rewriteHeaders } from "./rules.js";
import type { RuleRecord } from "./store.js";

/** What interception needs from the daemon. */
export interface InterceptorDeps {
  /** A TLS context holding the egress CA's leaf for `host` (engine/tls). */
  secureContext(host: string): SecureContext;
  /** The rules of (runtime, host). */
  rulesFor(runtimeId: string, host: string): RuleRecord[];
  /** A secret's value, opened at the moment of injection. */
  valueOf(name: string): string | null;
  /** PEM certificates an upstream server's chain may end in (the host's trust store and the daemon's extra bundle). */
  upstreamCa: string[];
}

/** Headers that belong to one hop: never copied from one side to the other (node frames each side itself). */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "proxy-connection", "te", "trailer", "upgrade"]);

/** A raw header list (name, value, …) without the hop-by-hop headers. */
function withoutHopByHop(raw: string[]): string[] {
  const kept: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) if (!HOP_BY_HOP.has(raw[i]!.toLowerCase())) kept.push(raw[i]!, raw[i + 1]!);
  return kept;
}

/** The host's trust store (Debian's bundle) or, without one, node's own roots; plus the PEM bundle at `extraFile`. */
export function upstreamTrust(extraFile?: string, systemFile = "/etc/ssl/certs/ca-certificates.crt"): string[] {
  let roots: string[];
  try {
    roots = [readFileSync(systemFile, "utf8")];
  } catch {
    roots = [...tls.rootCertificates];
  }
  if (extraFile) roots.push(readFileSync(extraFile, "utf8"));
  return roots;
}

/** A duplex over the client socket that first yields the bytes the proxy already read (a TLSSocket over a bare net.Socket would read its handle directly and lose them). */
function withHead(client: net.Socket, head: Buffer): Duplex {
  const d = new Duplex({
    read: () => void client.resume(),
    write: (chunk, _enc, cb) => void client.write(chunk, cb),
    final: (cb) => {
      client.end();
      cb();
    },
    destroy: (err, cb) => {
      client.destroy();
      cb(err);
    },
  });
  d.push(head);
  client.on("data", (c: Buffer) => {
    if (!d.push(c)) client.pause();
  });
  client.once("end", () => d.push(null));
  client.once("close", () => d.destroy());
  return d;
}

/** Takes over connections that have secret rules (see the module comment). */
export class Interceptor implements Takeover {
  /** Built once: a context per request would parse the whole trust store (~140 certificates) every time. */
  private readonly upstreamContext: tls.SecureContext;

  constructor(private readonly deps: InterceptorDeps) {
    this.upstreamContext = tls.createSecureContext({ ca: deps.upstreamCa });
  }

  /** Whether a connection has rules (HTTPS: any; plain HTTP: only those that allow it); if not, the proxy splices it. */
  wants(runtimeId: string, protocol: Protocol, host: string): boolean {
    return this.rulesFor(runtimeId, protocol, host).length > 0;
  }

  private rulesFor(runtimeId: string, protocol: Protocol, host: string): RuleRecord[] {
    const rules = this.deps.rulesFor(runtimeId, host);
    return protocol === "tls" ? rules : rules.filter((r) => r.allow_http);
  }

  /** Serves one handed-over connection until it closes. */
  take(h: Handover): void {
    const server = http.createServer({ keepAlive: true });
    // Upstream connections are kept alive for as long as the runtime's connection is (as the runtime would have).
    const agent = new (h.protocol === "tls" ? https.Agent : http.Agent)({ keepAlive: true });
    h.client.once("close", () => agent.destroy());
    server.on("request", (req, res) => this.forward(h, agent, req, res));
    server.on("upgrade", (req, socket, head) => this.upgrade(h, req, socket as net.Socket, head));
    server.on("clientError", (_err, socket) => socket.destroy());
    const raw = withHead(h.client, h.head);
    if (h.protocol === "http") return void server.emit("connection", raw);
    const secure = new tls.TLSSocket(raw, { isServer: true, secureContext: this.deps.secureContext(h.host), ALPNProtocols: ["http/1.1"] });
    secure.on("error", () => secure.destroy());
    secure.once("secure", () => server.emit("connection", secure));
  }

  /** The request's headers with the matching rules applied, and the rules that were. */
  private rewrite(h: Handover, req: http.IncomingMessage): { headers: string[]; applied: RuleRecord[] } {
    const replace = new Map<string, { name: string; value: string }>();
    const applied: RuleRecord[] = [];
    // Read again for every request: a rule or value changed since the connection opened holds for the next request.
    for (const rule of this.rulesFor(h.runtimeId, h.protocol, h.host)) {
      if (!pathMatches(rule.path, req.url ?? "/")) continue;
      const value = this.deps.valueOf(rule.secret);
      if (value === null) continue;
      replace.set(rule.header.toLowerCase(), { name: rule.header, value: fillTemplate(rule.template, value) });
      applied.push(rule);
    }
    const headers = rewriteHeaders(req.rawHeaders, replace);
    return { headers, applied };
  }

  private event(h: Handover, applied: RuleRecord[], extra: { reason: string | null; bytesOut: number; bytesIn: number }): Omit<EgressEvent, "seq"> {
    return {
      time: new Date().toISOString(),
      protocol: h.protocol,
      host: h.host,
      ip: h.ip,
      port: h.port,
      verdict: "allowed",
      rule: h.rule,
      reason: extra.reason,
      bytes_out: extra.bytesOut,
      bytes_in: extra.bytesIn,
      injected: applied.map((r) => ({ secret: r.secret, header: r.header })),
    };
  }

  private upstreamOptions(h: Handover, agent: http.Agent, req: http.IncomingMessage, headers: string[]): https.RequestOptions {
    return {
      // Dial the address the proxy resolved and checked; the certificate is still verified for the name.
      host: h.ip,
      port: h.port,
      method: req.method,
      path: req.url,
      headers: withoutHopByHop(headers),
      ...(h.protocol === "tls" ? { servername: h.host, secureContext: this.upstreamContext, checkServerIdentity: (_: string, cert: tls.PeerCertificate) => tls.checkServerIdentity(h.host, cert) } : {}),
      agent,
    };
  }

  private forward(h: Handover, agent: http.Agent, req: http.IncomingMessage, res: http.ServerResponse): void {
    const { headers, applied } = this.rewrite(h, req);
    let bytesOut = 0;
    let bytesIn = 0;
    let reason: string | null = null;
    let complete = false;
    const send = h.protocol === "tls" ? https.request : http.request;
    const up = send(this.upstreamOptions(h, agent, req, headers), (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, withoutHopByHop(upRes.rawHeaders));
      upRes.once("end", () => (complete = true));
      upRes.on("data", (c: Buffer) => (bytesIn += c.length));
      upRes.pipe(res);
    });
    req.on("data", (c: Buffer) => (bytesOut += c.length));
    req.pipe(up);
    // Whether the request (and the value in it) can have left: only over a connection that was established (and,
    // for TLS, verified). A refused certificate means nothing was sent, and the event must not say it was injected.
    let reached = false;
    up.once("socket", (sock: net.Socket) => {
      if (!sock.connecting && !(sock instanceof tls.TLSSocket && !sock.authorized)) reached = true;
      else sock.once(h.protocol === "tls" ? "secureConnect" : "connect", () => (reached = true));
    });
    up.on("error", (err: NodeJS.ErrnoException) => {
      reason = `upstream ${h.host}:${h.port} failed: ${err.code ?? ""} ${err.message}`.replace(/\s+/g, " ");
      if (!res.headersSent) {
        const body = `runta: the egress proxy could not forward to ${h.host}: ${err.message}\n`;
        res.writeHead(502, { "Content-Type": "text/plain; charset=utf-8", "Content-Length": Buffer.byteLength(body), "X-Runta-Egress": "upstream-failed" }).end(body);
      } else res.destroy();
    });
    res.once("close", () => {
      // A runtime that went away mid-answer cuts the upstream request; a finished one leaves its socket to the agent.
      if (!complete) up.destroy();
      h.record(this.event(h, reached ? applied : [], { reason, bytesOut, bytesIn }));
    });
  }

  /** An Upgrade request (a websocket): rewritten like any request, then the two connections are spliced. */
  private upgrade(h: Handover, req: http.IncomingMessage, socket: net.Socket, head: Buffer): void {
    const { headers, applied } = this.rewrite(h, req);
    const lines = [`${req.method} ${req.url} HTTP/1.1`];
    for (let i = 0; i + 1 < headers.length; i += 2) lines.push(`${headers[i]}: ${headers[i + 1]}`);
    const dial = () =>
      h.protocol === "tls"
        ? tls.connect({ host: h.ip, port: h.port, servername: h.host, secureContext: this.upstreamContext, checkServerIdentity: (_n, cert) => tls.checkServerIdentity(h.host, cert), ALPNProtocols: ["http/1.1"] })
        : net.connect({ host: h.ip, port: h.port });
    const up = dial();
    let bytesOut = 0;
    let bytesIn = 0;
    let reason: string | null = null;
    up.once(h.protocol === "tls" ? "secureConnect" : "connect", () => {
      up.write(`${lines.join("\r\n")}\r\n\r\n`);
      up.write(head);
      socket.on("data", (c: Buffer) => (bytesOut += c.length));
      up.on("data", (c: Buffer) => (bytesIn += c.length));
      socket.pipe(up).pipe(socket);
    });
    up.on("error", (err: Error) => {
      reason = `upstream ${h.host}:${h.port} failed: ${err.message}`;
      socket.destroy();
    });
    socket.on("error", () => up.destroy());
    socket.once("close", () => up.destroy());
    up.once("close", () => {
      socket.destroy();
      h.record(this.event(h, applied, { reason, bytesOut, bytesIn }));
    });
  }
}
