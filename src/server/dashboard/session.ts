/**
 * Dashboard login without the token in the browser: `runta dashboard` asks for a one-time login code (bearer auth),
 * the browser exchanges it once at /ui/login for a session cookie, and from then on the cookie authenticates the
 * dashboard's calls to the same REST API and exec websocket the CLI uses.
 *
 * Why each piece:
 * - The code is single-use and short-lived, and only its hash is kept, so a link found later in history is spent.
 * - The cookie is HttpOnly (no script reads it), SameSite=Strict (no cross-site request carries it) and expires.
 *   Its value is `<session id>.<HMAC(token, session id)>`: the MAC is checked against the daemon's current token on
 *   every request, so rotating the token ends every session, and sessions also end when the daemon restarts.
 * - SameSite treats every port of 127.0.0.1 as one site, so a page served by some other local program is "same site".
 *   A cookie-authenticated request must therefore also come from exactly our origin (Origin header = our Host),
 *   and a state-changing one must carry the per-session CSRF token in a header, which only our own page can read.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";

/** Name of the session cookie. */
export const SESSION_COOKIE = "runta_session";
/** Header carrying the CSRF token on state-changing requests. */
export const CSRF_HEADER = "x-runta-csrf";
/** A login code is valid this long after `runta dashboard` printed it. */
export const LOGIN_CODE_TTL_MS = 2 * 60_000;
/** A session lasts this long; then `runta dashboard` again. */
export const SESSION_TTL_MS = 12 * 60 * 60_000;
/** Outstanding codes and live sessions kept at most (the oldest go first): the maps stay small whatever callers do. */
const MAX_CODES = 64;
const MAX_SESSIONS = 256;

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

const sha256 = (s: string) => createHash("sha256").update(s).digest("base64url");
const mac = (key: string, purpose: string, sid: string) => createHmac("sha256", key).update(`${purpose}\0${sid}`).digest("base64url");

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Options of {@link DashboardSessions}. */
export interface DashboardSessionsOptions {
  /** The daemon's current API token (read on every check, so a rotated token ends sessions at once). */
  token: () => string;
  /** Default {@link LOGIN_CODE_TTL_MS}. */
  codeTtlMs?: number;
  /** Default {@link SESSION_TTL_MS}. */
  sessionTtlMs?: number;
  /** Clock (tests). Default Date.now. */
  now?: () => number;
}

/** A live dashboard session. */
export interface DashboardSession {
  id: string;
  expiresAt: number;
}

/** Login codes and cookie sessions of the dashboard, in the daemon's memory. */
export class DashboardSessions {
  /** sha256(code) → expiry. */
  private readonly codes = new Map<string, number>();
  /** session id → expiry. */
  private readonly sessions = new Map<string, number>();
  private readonly codeTtlMs: number;
  private readonly sessionTtlMs: number;
  private readonly now: () => number;

  constructor(private readonly opts: DashboardSessionsOptions) {
    this.codeTtlMs = opts.codeTtlMs ?? LOGIN_CODE_TTL_MS;
    this.sessionTtlMs = opts.sessionTtlMs ?? SESSION_TTL_MS;
    this.now = opts.now ?? Date.now;
  }

  /** A new one-time login code (32 random bytes). Only its hash is kept. */
  issueCode(): { code: string; expiresAt: number } {
    this.sweep();
    const code = randomBytes(32).toString("base64url");
    const expiresAt = this.now() + this.codeTtlMs;
    this.codes.set(sha256(code), expiresAt);
    trim(this.codes, MAX_CODES);
    return { code, expiresAt };
  }

  /** Spends a login code: a new session, or null when the code is unknown, used or expired. */
  redeem(code: string): DashboardSession | null {
    const key = sha256(code);
    const expiresAt = this.codes.get(key);
    this.codes.delete(key);
    if (expiresAt === undefined || expiresAt <= this.now()) return null;
    const session = { id: randomBytes(24).toString("base64url"), expiresAt: this.now() + this.sessionTtlMs };
    this.sessions.set(session.id, session.expiresAt);
    trim(this.sessions, MAX_SESSIONS);
    return session;
  }

  /** The `Set-Cookie` value that carries `session` (HttpOnly, SameSite=Strict, Path=/, Max-Age). */
  cookie(session: DashboardSession): string {
    const value = `${session.id}.${mac(this.opts.token(), "session", session.id)}`;
    const maxAge = Math.max(0, Math.floor((session.expiresAt - this.now()) / 1000));
    return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}`;
  }

  /** The `Set-Cookie` value that removes the session cookie. */
  static clearCookie(): string {
    return `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0`;
  }

  /** The session the request's cookie names, if it is live and was issued under the current token. */
  fromRequest(req: IncomingMessage): DashboardSession | null {
    const value = cookieValue(req.headers.cookie, SESSION_COOKIE);
    if (!value) return null;
    const dot = value.indexOf(".");
    if (dot <= 0) return null;
    const id = value.slice(0, dot);
    const expiresAt = this.sessions.get(id);
    if (expiresAt === undefined) return null;
    if (expiresAt <= this.now()) {
      this.sessions.delete(id);
      return null;
    }
    if (!sameSecret(value.slice(dot + 1), mac(this.opts.token(), "session", id))) return null;
    return { id, expiresAt };
  }

  /** The CSRF token of a session: derived from it and the daemon's token, so nothing more is stored. */
  csrfToken(session: DashboardSession): string {
    return mac(this.opts.token(), "csrf", session.id);
  }

  /** Ends a session (logout). */
  end(session: DashboardSession): void {
    this.sessions.delete(session.id);
  }

  /**
   * Whether a cookie session may make this request: a live session, Origin exactly ours when present (and always
   * present for websockets and state-changing methods, which browsers send it with), a fetch that the browser marks as
   * same-origin, and for a state-changing method the session's CSRF token in {@link CSRF_HEADER}.
   */
  allows(req: IncomingMessage, opts: { websocket?: boolean } = {}): boolean {
    const session = this.fromRequest(req);
    if (!session) return false;
    const origin = req.headers.origin;
    const safe = SAFE_METHODS.has(req.method ?? "GET") && !opts.websocket;
    if (origin === undefined ? !safe : origin !== ownOrigin(req)) return false;
    const site = req.headers["sec-fetch-site"];
    if (site !== undefined && site !== "same-origin" && !(safe && site === "none")) return false;
    if (safe || opts.websocket) return true;
    const csrf = req.headers[CSRF_HEADER];
    return typeof csrf === "string" && sameSecret(csrf, this.csrfToken(session));
  }

  private sweep(): void {
    const now = this.now();
    for (const [k, exp] of this.codes) if (exp <= now) this.codes.delete(k);
    for (const [k, exp] of this.sessions) if (exp <= now) this.sessions.delete(k);
  }
}

/** The origin a page loaded from this request's Host would have (the daemon serves plain HTTP on loopback). */
export function ownOrigin(req: IncomingMessage): string {
  return `http://${(req.headers.host ?? "").toLowerCase()}`;
}

/** One cookie's value from a Cookie header, or null. */
export function cookieValue(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/** Drops the oldest entries (Maps iterate in insertion order) beyond `max`. */
function trim(map: Map<string, number>, max: number): void {
  for (const key of map.keys()) {
    if (map.size <= max) break;
    map.delete(key);
  }
}
