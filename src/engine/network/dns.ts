/**
 * The runtimes' resolver: a UDP DNS forwarder in the daemon. Every runtime's port-53 traffic is redirected here
 * (plan.ts), whatever server it names, so runtimes resolve through the host's own resolver and nothing else. Names
 * the runtime's policy refuses get REFUSED (an allowlist answers only its names: no DNS tunnelling through arbitrary
 * names); names of the daemon's hosts file are answered here; the rest is relayed to the host's nameserver.
 */
import dgram from "node:dgram";
import { readFileSync } from "node:fs";
import type { EgressEvent, EgressPolicy } from "../../api/egress.js";
import type { Logger } from "../../log.js";
import { decideName } from "./policy.js";
import type { Resolver } from "./resolve.js";

/** A parsed DNS question: the name (lowercase, no trailing dot), its type, and where the question section ends. */
export interface DnsQuestion {
  id: number;
  name: string;
  type: number;
  end: number;
}

const TYPE_A = 1;
const UPSTREAM_TIMEOUT_MS = 5000;
/** A refused name is recorded once per runtime in this window: resolvers ask for A and AAAA and retry. */
const DENIAL_EVENT_WINDOW_MS = 5000;

/** Parses the first question of a DNS query; null when it is not one. */
export function parseQuery(msg: Buffer): DnsQuestion | null {
  if (msg.length < 12 || (msg[2]! & 0x80) !== 0 || msg.readUInt16BE(4) < 1) return null;
  const labels: string[] = [];
  let p = 12;
  while (p < msg.length) {
    const len = msg[p]!;
    if (len === 0) break;
    if (len > 63 || p + 1 + len > msg.length) return null;
    labels.push(msg.subarray(p + 1, p + 1 + len).toString("latin1").toLowerCase());
    p += 1 + len;
  }
  if (p + 5 > msg.length) return null;
  return { id: msg.readUInt16BE(0), name: labels.join("."), type: msg.readUInt16BE(p + 1), end: p + 5 };
}

/** A response to `query` with `rcode` and A records `ips` (the question copied, names pointing at it). */
export function buildResponse(query: Buffer, q: DnsQuestion, rcode: number, ips: string[] = []): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(q.id, 0);
  // QR, opcode 0, RD copied from the query, RA; then the rcode.
  header.writeUInt16BE(0x8080 | (query.readUInt16BE(2) & 0x0100) | rcode, 2);
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(ips.length, 6);
  const answers = ips.map((ip) => {
    const rr = Buffer.alloc(16);
    rr.writeUInt16BE(0xc00c, 0); // pointer to the question's name
    rr.writeUInt16BE(TYPE_A, 2);
    rr.writeUInt16BE(1, 4); // class IN
    rr.writeUInt32BE(60, 6);
    rr.writeUInt16BE(4, 10);
    ip.split(".").forEach((o, i) => rr.writeUInt8(Number(o), 12 + i));
    return rr;
  });
  return Buffer.concat([header, query.subarray(12, q.end), ...answers]);
}

/** The first nameserver of the host's resolv.conf (the daemon is on the host, so a 127.x stub works too). */
export function hostNameserver(text = readFileSync("/etc/resolv.conf", "utf8")): string {
  const m = /^\s*nameserver\s+(\d+\.\d+\.\d+\.\d+)\s*$/m.exec(text);
  return m ? m[1]! : "127.0.0.1";
}

/** What the resolver needs from the daemon's network: who is asking, and where to record what it decided. */
export interface DnsContext {
  policyFor(sourceIp: string): { runtimeId: string; policy: EgressPolicy } | null;
  record(runtimeId: string, event: Omit<EgressEvent, "seq">): void;
  resolver: Resolver;
  logger: Logger;
}

/** The resolver's UDP socket: bound on every address at an ephemeral port (nftables redirects to it). */
export class DnsForwarder {
  /** When each (runtime, name) refusal was last recorded. */
  private readonly lastDenial = new Map<string, number>();

  private constructor(
    private readonly socket: dgram.Socket,
    private readonly ctx: DnsContext,
    private readonly upstream: string,
  ) {}

  static async start(ctx: DnsContext, upstream = hostNameserver()): Promise<DnsForwarder> {
    const socket = dgram.createSocket("udp4");
    await new Promise<void>((res, rej) => {
      socket.once("error", rej);
      socket.bind(0, "0.0.0.0", () => res());
    });
    const fwd = new DnsForwarder(socket, ctx, upstream);
    socket.on("message", (msg, rinfo) => void fwd.handle(msg, rinfo));
    socket.on("error", (err) => ctx.logger.warn("resolver socket error", { error: err.message }));
    return fwd;
  }

  get port(): number {
    return this.socket.address().port;
  }

  private async handle(msg: Buffer, rinfo: dgram.RemoteInfo): Promise<void> {
    // Only runtimes of this daemon are answered; anything else reaching the port is ignored.
    const who = this.ctx.policyFor(rinfo.address);
    const q = parseQuery(msg);
    if (!who || !q) return;
    const reply = (buf: Buffer) => this.socket.send(buf, rinfo.port, rinfo.address);
    const decision = decideName(who.policy, q.name);
    if (!decision.allowed) {
      if (this.firstDenialInWindow(`${who.runtimeId} ${q.name}`)) this.ctx.record(who.runtimeId, {
        time: new Date().toISOString(), protocol: "dns", host: q.name, ip: null, port: 53, verdict: "denied",
        rule: decision.rule, reason: "name not allowed by the egress policy", bytes_out: msg.length, bytes_in: 0,
      });
      reply(buildResponse(msg, q, 5));
      return;
    }
    const fixed = this.ctx.resolver.fixed(q.name);
    if (fixed) {
      reply(buildResponse(msg, q, 0, q.type === TYPE_A ? fixed : []));
      return;
    }
    const answer = await this.relay(msg);
    if (answer) reply(answer);
    else reply(buildResponse(msg, q, 2)); // SERVFAIL: the upstream did not answer
  }

  private firstDenialInWindow(key: string): boolean {
    const now = Date.now();
    const last = this.lastDenial.get(key);
    if (last !== undefined && now - last < DENIAL_EVENT_WINDOW_MS) return false;
    if (this.lastDenial.size > 10_000) this.lastDenial.clear();
    this.lastDenial.set(key, now);
    return true;
  }

  /** Sends the query to the host's nameserver and waits for its answer (null on timeout). */
  private relay(msg: Buffer): Promise<Buffer | null> {
    return new Promise((resolve) => {
      const s = dgram.createSocket("udp4");
      const done = (answer: Buffer | null) => {
        clearTimeout(timer);
        s.close();
        resolve(answer);
      };
      const timer = setTimeout(() => done(null), UPSTREAM_TIMEOUT_MS);
      s.once("message", (answer) => done(answer));
      s.once("error", () => done(null));
      s.send(msg, 53, this.upstream);
    });
  }

  close(): Promise<void> {
    return new Promise((res) => this.socket.close(() => res()));
  }
}
