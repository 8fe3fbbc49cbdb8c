/**
 * Published ports (issue 13), the rules without zod (the CLI loads this): the `-p` forms, the defaults, the ingress
 * host names `<port>-<runtime-uuid>.<domain>` and the URLs. The wire schemas are in ports.ts.
 */
import { isIP } from "node:net";
import { RuntaError } from "./errors.js";

export const PORT_PROTOCOLS = ["http", "https", "tcp"] as const;
/** `http`/`https`: reached through the ingress by host name; `tcp`: a host port forwarded to the runtime's port. */
export type PortProtocol = (typeof PORT_PROTOCOLS)[number];

export const PORT_LIMITS = {
  /** Ports one runtime may publish. */
  perRuntimeMax: 32,
  /** The default ingress domain: names under `localhost` resolve to loopback without any DNS (curl, browsers). */
  defaultDomain: "runta.localhost",
  /** The ingress's default port (API on its default port); an API on port 0 (tests) gets an ingress on port 0. */
  defaultIngressPort: 7480,
  /** How long a request waits for a suspended or starting app to accept connections before a 503. */
  wakeTimeoutSecsDefault: 30,
  wakeTimeoutSecsMax: 600,
} as const;

export const PORT_RANGE = "must be a port number from 1 to 65535";
/** One port to publish, as the API takes it (validated by PortRequestSchema in ports.ts). */
export interface PortRequest {
  port: number;
  protocol?: PortProtocol;
  host_port?: number;
  host_ip?: string;
}

/** A published port as a runtime reports it (PublishedPortSchema in ports.ts). */
export interface PublishedPort {
  port: number;
  protocol: PortProtocol;
  /** `http(s)://<port>-<uuid>.<domain>:<ingress port>/`, or `tcp://<host_ip>:<host_port>`. */
  url: string;
  host_ip: string | null;
  host_port: number | null;
}

/** Body of `GET /v1/ingress` (IngressInfoSchema in ports.ts). */
export interface IngressInfo {
  /** host:port of the ingress listener (HTTP and HTTPS on one port). */
  listen: string;
  domain: string;
  /** The CA certificate (PEM) of the https URLs. */
  ca_certificate: string;
  ca_fingerprint_sha256: string;
  /** Where the daemon keeps it (a root-only directory). */
  ca_path: string;
  wake_timeout_secs: number;
}

/** A port as the engine stores it: the request with its defaults applied (host port 0 until one is bound). */
export interface PortBinding {
  port: number;
  protocol: PortProtocol;
  hostIp: string | null;
  hostPort: number | null;
}

/** Applies the defaults of a request: protocol from whether a host port is given; tcp on 127.0.0.1 and any free port. */
export function portBinding(p: PortRequest): PortBinding {
  const protocol = p.protocol ?? (p.host_port !== undefined || p.host_ip !== undefined ? "tcp" : "http");
  if (protocol !== "tcp") return { port: p.port, protocol, hostIp: null, hostPort: null };
  return { port: p.port, protocol, hostIp: p.host_ip ?? "127.0.0.1", hostPort: p.host_port ?? 0 };
}

function badSpec(spec: string, why: string): RuntaError {
  return new RuntaError("invalid_argument", `invalid port '${spec}': ${why} (forms: 8080, 8080/https, 5432/tcp, 8080:80, 127.0.0.1:8080:80)`, {
    details: { field: "publish" },
  });
}

function portNumber(spec: string, s: string, what: string): number {
  if (!/^\d{1,5}$/.test(s) || Number(s) < 1 || Number(s) > 65535) throw badSpec(spec, `${what} '${s}' ${PORT_RANGE}`);
  return Number(s);
}

/**
 * Parses the CLI's port forms: `PORT[/http|/https|/tcp]` (through the ingress; tcp gets a free host port) and docker's
 * `[HOST_IP:]HOST_PORT:PORT[/tcp]` (plain TCP from that host port).
 */
export function parsePortSpec(spec: string): PortRequest {
  const m = /^(.*?)(?:\/([A-Za-z]*))?$/.exec(spec.trim())!;
  const body = m[1]!;
  const proto = m[2]?.toLowerCase();
  if (proto !== undefined && !(PORT_PROTOCOLS as readonly string[]).includes(proto)) throw badSpec(spec, `protocol '${m[2]}' is not http, https or tcp`);
  const protocol = proto as PortProtocol | undefined;
  // [HOST_IP:]HOST_PORT:PORT, the host IP possibly a bracketed IPv6 address.
  const hp = /^(?:(\[[0-9A-Fa-f:.]+\]|[0-9.]+):)?(\d*):(\d*)$/.exec(body);
  if (hp) {
    if (protocol && protocol !== "tcp") throw badSpec(spec, `a host port forwards plain TCP, not ${protocol}: drop '/${protocol}' or the host port`);
    const hostIp = hp[1]?.replace(/^\[|\]$/g, "");
    if (hostIp !== undefined && isIP(hostIp) === 0) throw badSpec(spec, `'${hostIp}' is not an IP address`);
    const req: PortRequest = { port: portNumber(spec, hp[3]!, "port"), protocol: "tcp", host_port: portNumber(spec, hp[2]!, "host port") };
    if (hostIp !== undefined) req.host_ip = hostIp;
    return req;
  }
  const port = portNumber(spec, body, "port");
  return protocol ? { port, protocol } : { port };
}

/** `<port>-<uuid>.<domain>`: the ingress host name of a published port. */
export function ingressHostName(port: number, runtimeId: string, domain: string): string {
  return `${port}-${runtimeId}.${domain}`;
}

/**
 * Reads a Host header (or SNI) as `<port>-<uuid>.<domain>[:port]`; null for anything else. Case and a trailing dot
 * are ignored, as DNS does.
 */
export function parseIngressHost(host: string | undefined, domain: string): { port: number; runtimeId: string } | null {
  if (!host) return null;
  const name = host.toLowerCase().replace(/:\d+$/, "").replace(/\.$/, "");
  const suffix = "." + domain.toLowerCase();
  if (!name.endsWith(suffix)) return null;
  const m = /^(\d{1,5})-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/.exec(name.slice(0, -suffix.length));
  if (!m || m[1]!.length > 1 && m[1]!.startsWith("0")) return null;
  const port = Number(m[1]);
  return port >= 1 && port <= 65535 ? { port, runtimeId: m[2]! } : null;
}

/** Where the ingress listens, as the URLs name it. */
export interface IngressAddress {
  domain: string;
  port: number;
}

/** The URL of a published port: through the ingress for http/https, the host address for tcp. */
export function publishedUrl(b: PortBinding, runtimeId: string, ingress: IngressAddress | null): string {
  if (b.protocol === "tcp") {
    const ip = b.hostIp ?? "127.0.0.1";
    return `tcp://${ip.includes(":") ? `[${ip}]` : ip}:${b.hostPort ?? 0}`;
  }
  if (!ingress) return "";
  const standard = (b.protocol === "http" && ingress.port === 80) || (b.protocol === "https" && ingress.port === 443);
  return `${b.protocol}://${ingressHostName(b.port, runtimeId, ingress.domain)}${standard ? "" : `:${ingress.port}`}/`;
}

/** A published port on the wire. */
export function publishedPort(b: PortBinding, runtimeId: string, ingress: IngressAddress | null): PublishedPort {
  return { port: b.port, protocol: b.protocol, url: publishedUrl(b, runtimeId, ingress), host_ip: b.hostIp, host_port: b.hostPort };
}
