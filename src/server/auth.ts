/**
 * Request guards shared by the REST routes and the exec-stream websocket upgrade:
 * bearer-token authentication (constant time) and Host/Origin checks against DNS rebinding.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { isIP } from "node:net";
import type { IncomingMessage } from "node:http";
import { RuntaError } from "../api/index.js";

const sha256 = (s: string) => createHash("sha256").update(s).digest();

/**
 * Returns `authenticate(req)`: true when `Authorization: Bearer <token>` matches. Both sides are hashed first so the
 * comparison is constant-time and does not leak the token's length.
 */
export function bearerAuthenticator(token: string): (req: IncomingMessage) => boolean {
  const expected = sha256(token);
  return (req) => {
    const header = req.headers.authorization;
    if (typeof header !== "string") return false;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) return false;
    return timingSafeEqual(sha256(m[1]!), expected);
  };
}

/** Whether a host name or IP literal is a loopback address (localhost, 127.0.0.0/8, ::1). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (h === "localhost" || h.endsWith(".localhost")) return true;
  if (isIP(h) === 4) return h.startsWith("127.");
  if (isIP(h) === 6) return h === "::1" || h === "0:0:0:0:0:0:0:1" || h.startsWith("::ffff:127.");
  return false;
}

/** Splits a Host header value ("h:p", "[::1]:p", "h") into host and port. */
export function parseHostHeader(value: string): { host: string; port: number | null } | null {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\[\]]+)(?::(\d{1,5}))?$/.exec(value.trim());
  if (!m) return null;
  return { host: m[1]!.replace(/^\[|\]$/g, ""), port: m[2] === undefined ? null : Number(m[2]) };
}

/** What the Host/Origin guard accepts. */
export interface HostPolicy {
  /** The port the server listens on (Host must carry it; a missing port means 80). */
  port: () => number;
  /** Extra host names accepted besides loopback (the public host when listening on a non-loopback address). */
  publicHosts?: string[];
}

/**
 * Returns `checkHost(req)`: true when the Host header names a loopback host (or a configured public host) on our port.
 * A browser tricked by DNS rebinding sends the attacker's host name, so it is refused.
 */
export function hostChecker(policy: HostPolicy): (req: IncomingMessage) => boolean {
  const extra = new Set((policy.publicHosts ?? []).map((h) => h.toLowerCase()));
  return (req) => {
    const raw = req.headers.host;
    if (typeof raw !== "string") return false;
    const parsed = parseHostHeader(raw);
    if (!parsed) return false;
    if ((parsed.port ?? 80) !== policy.port()) return false;
    return isLoopbackHost(parsed.host) || extra.has(parsed.host.toLowerCase());
  };
}

/**
 * Returns `checkOrigin(req)`: true when there is no Origin header (non-browser clients) or it is a loopback (or
 * configured public) http(s) origin. Web pages on other sites must not drive the daemon.
 */
export function originChecker(policy: Pick<HostPolicy, "publicHosts"> = {}): (req: IncomingMessage) => boolean {
  const extra = new Set((policy.publicHosts ?? []).map((h) => h.toLowerCase()));
  return (req) => {
    const origin = req.headers.origin;
    if (origin === undefined) return true;
    if (typeof origin !== "string") return false;
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      return false;
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") return false;
    return isLoopbackHost(url.hostname) || extra.has(url.hostname.toLowerCase());
  };
}

/** The error for a failed Host/Origin check. */
export function forbiddenOrigin(what: "Host" | "Origin"): RuntaError {
  return new RuntaError(
    "permission_denied",
    `${what} header is not allowed: the daemon only accepts requests addressed to a loopback host on its port ` +
      `(use http://127.0.0.1:<port>); to serve other hosts, start it with --allow-remote and --public-host`,
  );
}

/** The error for a missing or wrong token. */
export function unauthenticated(req: IncomingMessage): RuntaError {
  const has = typeof req.headers.authorization === "string";
  return new RuntaError(
    "unauthenticated",
    has
      ? "invalid API token: use the token from <data-dir>/token (RUNTA_TOKEN or --token)"
      : "missing API token: send 'Authorization: Bearer <token>' (the token is in <data-dir>/token)",
  );
}
