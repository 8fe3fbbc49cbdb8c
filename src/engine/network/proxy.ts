/**
 * The egress proxy: runtimes' connections to ports 80 and 443 are redirected here (one listener for each, so the
 * port asked for is known). It reads the name the connection asks for (HTTP Host, TLS SNI), checks the runtime's
 * policy, resolves the name itself and dials that address: a runtime that resolves a denied name to an allowed
 * address (or the reverse) still reaches only what the name says. Bytes are spliced, TLS stays end to end. Every
 * connection becomes an audit event with its verdict, rule and byte counts. A refusal is immediate: a 403 naming the
 * policy for HTTP, a TLS access_denied alert for HTTPS. A connection the secrets room has rules for is handed over
 * to it ({@link Takeover}, secrets/intercept.ts) once the policy allowed it, instead of being spliced.
 */
import net from "node:net";
import type { EgressEvent, EgressPolicy } from "../../api/egress.js";
import type { Logger } from "../../log.js";
import type { Cidr } from "./ipv4.js";
import { decide } from "./policy.js";
import { forbiddenDestination, type Resolver } from "./resolve.js";
import { httpForbidden, sniffHttpHost, sniffTlsSni, TLS_ACCESS_DENIED_ALERT, type Sniffed } from "./sniff.js";

/** How long a connection may take to say where it goes, and the dial timeout. */
const SNIFF_TIMEOUT_MS = 10_000;
const DIAL_TIMEOUT_MS = 10_000;

/** What the proxy needs from the daemon's network. */
export interface ProxyContext {
  policyFor(sourceIp: string): { runtimeId: string; policy: EgressPolicy } | null;
  record(runtimeId: string, event: Omit<EgressEvent, "seq">): void;
  resolver: Resolver;
  /** The daemon's address range: never dialled. */
  range: Cidr;
  /** Marks an open proxied connection as the runtime's activity (idle/) until the returned release is called. */
  activity?: (runtimeId: string) => () => void;
  logger: Logger;
  /** Takes over the connections it wants (secret injection); absent: every connection is spliced. */
  takeover?: Takeover;
}

/** An allowed connection handed over instead of spliced (its first bytes already read; the client is paused). */
export interface Handover {
  client: net.Socket;
  head: Buffer;
  runtimeId: string;
  protocol: Protocol;
  host: string;
  /** The address the proxy resolved and checked: the only one to dial. */
  ip: string;
  port: number;
  /** The policy entry that allowed the connection. */
  rule: string;
  record(event: Omit<EgressEvent, "seq">): void;
}

/** What the proxy hands connections over to. */
export interface Takeover {
  wants(runtimeId: string, protocol: Protocol, host: string): boolean;
  take(h: Handover): void;
}

export type Protocol = "http" | "tls";

/** One proxied connection, kept so a policy change can cut what it no longer allows. */
interface Live {
  runtimeId: string;
  host: string;
  ips: string[];
  client: net.Socket;
  /** Absent on a handed-over connection (cutting the client cuts it). */
  upstream?: net.Socket;
}

/** The proxy's two listeners (ports 80 and 443 of runtimes). */
export class EgressProxy {
  private readonly live = new Set<Live>();
  private readonly sockets = new Set<net.Socket>();

  private constructor(
    private readonly ctx: ProxyContext,
    private readonly servers: Record<Protocol, net.Server>,
  ) {}

  static async start(ctx: ProxyContext): Promise<EgressProxy> {
    const servers = { http: net.createServer(), tls: net.createServer() };
    const proxy = new EgressProxy(ctx, servers);
    for (const [protocol, server] of Object.entries(servers) as Array<[Protocol, net.Server]>) {
      server.on("connection", (socket) => proxy.accept(socket, protocol));
      await new Promise<void>((res, rej) => {
        server.once("error", rej);
        server.listen(0, "0.0.0.0", () => res());
      });
    }
    return proxy;
  }

  /** The listeners' ports: nftables redirects 80 to `http` and 443 to `tls`. */
  get ports(): Record<Protocol, number> {
    return { http: (this.servers.http.address() as net.AddressInfo).port, tls: (this.servers.tls.address() as net.AddressInfo).port };
  }

  /** Closes the live connections of a runtime its new policy no longer allows. */
  policyChanged(runtimeId: string, policy: EgressPolicy): void {
    for (const c of this.live) {
      if (c.runtimeId === runtimeId && !decide(policy, c.host, c.ips).allowed) {
        c.client.destroy();
        c.upstream?.destroy();
      }
    }
  }

  private accept(client: net.Socket, protocol: Protocol): void {
    const source = client.remoteAddress?.replace(/^::ffff:/, "") ?? "";
    const who = this.ctx.policyFor(source);
    // Only this daemon's runtimes are served (the listeners are bound on every address).
    if (!who) return void client.destroy();
    this.sockets.add(client);
    client.once("close", () => this.sockets.delete(client));
    client.on("error", () => {});
    const port = protocol === "http" ? 80 : 443;
    const sniff = protocol === "http" ? sniffHttpHost : sniffTlsSni;
    let head = Buffer.alloc(0);
    const timer = setTimeout(() => client.destroy(), SNIFF_TIMEOUT_MS);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const found: Sniffed = sniff(head);
      if (found.kind === "more") return;
      clearTimeout(timer);
      client.off("data", onData);
      client.pause();
      void this.route(client, who, protocol, port, found.kind === "host" ? found.host : null, head);
    };
    client.on("data", onData);
    client.once("end", () => clearTimeout(timer));
  }

  private async route(client: net.Socket, who: { runtimeId: string; policy: EgressPolicy }, protocol: Protocol, port: number, host: string | null, head: Buffer): Promise<void> {
    const base = { time: new Date().toISOString(), protocol, host, port } as const;
    const refuse = (rule: string, reason: string, ip: string | null = null) => {
      this.ctx.record(who.runtimeId, { ...base, ip, verdict: "denied", rule, reason, bytes_out: head.length, bytes_in: 0 });
      const what = host ?? "a connection that names no host";
      client.end(protocol === "http" ? httpForbidden(`runta: egress to ${what} refused: ${reason} (rule ${rule})`) : TLS_ACCESS_DENIED_ALERT);
    };
    if (host === null) return refuse("no-host", `the ${protocol === "http" ? "request has no Host header" : "TLS hello has no server name (SNI)"}; the egress proxy dials by name only`);
    let ips: string[];
    // A name allowed outright is still resolved by the daemon (never by the runtime), and only that address is dialled.
    try {
      ips = await this.ctx.resolver.resolve(host);
    } catch {
      ips = [];
    }
    const decision = decide(who.policy, host, ips);
    if (!decision.allowed) return refuse(decision.rule, `not allowed by the ${who.policy.mode} egress policy`, ips[0] ?? null);
    if (!ips.length) return refuse(decision.rule, `${host} does not resolve`);
    const forbidden = forbiddenDestination(ips[0]!, this.ctx.range);
    if (forbidden) return refuse("host:protected", `${host} resolves to ${ips[0]}, ${forbidden}`, ips[0]!);
    if (this.ctx.takeover?.wants(who.runtimeId, protocol, host)) return this.handOver({ client, head, runtimeId: who.runtimeId, protocol, host, ip: ips[0]!, port, rule: decision.rule }, ips);
    this.splice(client, who.runtimeId, host, ips, port, head, { ...base, ip: ips[0]!, rule: decision.rule });
  }

  private handOver(h: Omit<Handover, "record">, ips: string[]): void {
    const live: Live = { runtimeId: h.runtimeId, host: h.host, ips, client: h.client };
    this.live.add(live);
    // A connection taken over is the runtime's activity as a spliced one is.
    const release = this.ctx.activity?.(h.runtimeId);
    h.client.once("close", () => {
      this.live.delete(live);
      release?.();
    });
    try {
      this.ctx.takeover!.take({ ...h, record: (ev) => this.ctx.record(h.runtimeId, ev) });
    } catch (err) {
      // Never the daemon's end: the runtime's connection fails, and the log says why.
      this.ctx.logger.warn("cannot take over a connection for secret injection", { id: h.runtimeId, host: h.host, error: (err as Error).message });
      h.client.destroy();
    }
  }

  private splice(client: net.Socket, runtimeId: string, host: string, ips: string[], port: number, head: Buffer, ev: Pick<EgressEvent, "time" | "protocol" | "host" | "port" | "ip" | "rule">): void {
    const upstream = net.connect({ host: ips[0]!, port, timeout: DIAL_TIMEOUT_MS });
    const live: Live = { runtimeId, host, ips, client, upstream };
    this.live.add(live);
    this.sockets.add(upstream);
    const release = this.ctx.activity?.(runtimeId);
    let bytesOut = head.length;
    let bytesIn = 0;
    let connected = false;
    let reason: string | null = null;
    upstream.once("connect", () => {
      connected = true;
      upstream.setTimeout(0);
      upstream.write(head);
      client.on("data", (c: Buffer) => (bytesOut += c.length));
      upstream.on("data", (c: Buffer) => (bytesIn += c.length));
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
    upstream.once("timeout", () => {
      reason = `no answer from ${ips[0]}:${port} within ${DIAL_TIMEOUT_MS / 1000} s`;
      upstream.destroy();
    });
    upstream.on("error", (err: NodeJS.ErrnoException) => {
      reason ??= `${connected ? "upstream failed" : "cannot connect"}: ${err.code ?? err.message}`;
      client.destroy();
    });
    client.on("error", () => upstream.destroy());
    client.once("close", () => upstream.destroy());
    upstream.once("close", () => {
      client.destroy();
      this.live.delete(live);
      this.sockets.delete(upstream);
      release?.();
      this.ctx.record(runtimeId, { ...ev, verdict: "allowed", reason, bytes_out: bytesOut, bytes_in: bytesIn });
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await Promise.all(Object.values(this.servers).map((s) => new Promise<void>((res) => s.close(() => res()))));
  }
}
