import type { IncomingMessage } from "node:http";
import { describe, expect, test } from "vitest";
import { CSRF_HEADER, DashboardSessions, SESSION_COOKIE, cookieValue, type DashboardSession } from "../../src/server/dashboard/session.js";

const HOST = "127.0.0.1:7420";
const ORIGIN = `http://${HOST}`;

function setup(opts: { codeTtlMs?: number; sessionTtlMs?: number } = {}) {
  let token = "a".repeat(64);
  let now = 1_000_000;
  const sessions = new DashboardSessions({ token: () => token, now: () => now, ...opts });
  return {
    sessions,
    rotate: (t: string) => (token = t),
    advance: (ms: number) => (now += ms),
  };
}

/** A request as a browser would send it with the session cookie. */
function request(sessions: DashboardSessions, session: DashboardSession | null, over: { method?: string; headers?: Record<string, string | undefined> } = {}): IncomingMessage {
  const cookie = session ? sessions.cookie(session).split(";")[0] : undefined;
  const headers: Record<string, string | undefined> = { host: HOST, cookie, ...over.headers };
  for (const k of Object.keys(headers)) if (headers[k] === undefined) delete headers[k];
  return { method: over.method ?? "GET", headers } as unknown as IncomingMessage;
}

describe("login codes", () => {
  test("a code logs in once; the second use is refused", () => {
    const { sessions } = setup();
    const { code } = sessions.issueCode();
    expect(sessions.redeem(code)).not.toBeNull();
    expect(sessions.redeem(code)).toBeNull();
  });

  test("a code expires", () => {
    const { sessions, advance } = setup({ codeTtlMs: 1000 });
    const { code, expiresAt } = sessions.issueCode();
    expect(expiresAt).toBe(1_001_000);
    advance(1000);
    expect(sessions.redeem(code)).toBeNull();
  });

  test("unknown and empty codes are refused", () => {
    const { sessions } = setup();
    sessions.issueCode();
    expect(sessions.redeem("")).toBeNull();
    expect(sessions.redeem("x".repeat(43))).toBeNull();
  });

  test("codes are long and random", () => {
    const { sessions } = setup();
    const a = sessions.issueCode().code;
    const b = sessions.issueCode().code;
    expect(a).not.toBe(b);
    expect(Buffer.from(a, "base64url").length).toBe(32);
  });
});

describe("session cookie", () => {
  test("is HttpOnly, SameSite=Strict, for the whole API, and expires with the session", () => {
    const { sessions } = setup({ sessionTtlMs: 3_600_000 });
    const s = sessions.redeem(sessions.issueCode().code)!;
    const cookie = sessions.cookie(s);
    expect(cookie).toMatch(new RegExp(`^${SESSION_COOKIE}=[^;]+; Path=/; HttpOnly; SameSite=Strict; Max-Age=3600$`));
    expect(DashboardSessions.clearCookie()).toContain("Max-Age=0");
  });

  test("does not contain the token", () => {
    const { sessions } = setup();
    const s = sessions.redeem(sessions.issueCode().code)!;
    expect(sessions.cookie(s)).not.toContain("a".repeat(16));
    expect(sessions.csrfToken(s)).not.toContain("a".repeat(16));
  });

  test("identifies the session until it expires", () => {
    const { sessions, advance } = setup({ sessionTtlMs: 10_000 });
    const s = sessions.redeem(sessions.issueCode().code)!;
    expect(sessions.fromRequest(request(sessions, s))?.id).toBe(s.id);
    advance(10_000);
    expect(sessions.fromRequest(request(sessions, s))).toBeNull();
  });

  test("rotating the daemon's token ends every session", () => {
    const { sessions, rotate } = setup();
    const s = sessions.redeem(sessions.issueCode().code)!;
    const req = request(sessions, s);
    expect(sessions.allows(req)).toBe(true);
    rotate("b".repeat(64));
    expect(sessions.fromRequest(req)).toBeNull();
    expect(sessions.allows(req)).toBe(false);
  });

  test("a forged or altered cookie is refused", () => {
    const { sessions } = setup();
    const s = sessions.redeem(sessions.issueCode().code)!;
    const good = sessions.cookie(s).split(";")[0]!.slice(SESSION_COOKIE.length + 1);
    const [id, mac] = good.split(".");
    const forged = (value: string) => ({ method: "GET", headers: { host: HOST, cookie: `${SESSION_COOKIE}=${value}` } }) as unknown as IncomingMessage;
    expect(sessions.fromRequest(forged(good))).not.toBeNull();
    expect(sessions.fromRequest(forged(`${id}.${mac!.slice(0, -2)}AA`))).toBeNull();
    expect(sessions.fromRequest(forged(`${id}`))).toBeNull();
    expect(sessions.fromRequest(forged(`other.${mac}`))).toBeNull();
  });

  test("logout ends the session", () => {
    const { sessions } = setup();
    const s = sessions.redeem(sessions.issueCode().code)!;
    sessions.end(s);
    expect(sessions.fromRequest(request(sessions, s))).toBeNull();
  });
});

describe("which cookie requests are allowed", () => {
  const live = () => {
    const t = setup();
    const s = t.sessions.redeem(t.sessions.issueCode().code)!;
    return { ...t, s, csrf: t.sessions.csrfToken(s) };
  };

  test("reads from our own page (with or without an Origin header) are allowed", () => {
    const { sessions, s } = live();
    expect(sessions.allows(request(sessions, s))).toBe(true);
    expect(sessions.allows(request(sessions, s, { headers: { origin: ORIGIN, "sec-fetch-site": "same-origin" } }))).toBe(true);
  });

  test("no session, no access", () => {
    const { sessions } = live();
    expect(sessions.allows(request(sessions, null))).toBe(false);
  });

  test("a state-changing request needs our exact Origin and the CSRF token", () => {
    const { sessions, s, csrf } = live();
    const post = (headers: Record<string, string | undefined>) => sessions.allows(request(sessions, s, { method: "POST", headers }));
    expect(post({ origin: ORIGIN, [CSRF_HEADER]: csrf })).toBe(true);
    expect(post({ origin: ORIGIN })).toBe(false);
    expect(post({ origin: ORIGIN, [CSRF_HEADER]: "wrong" })).toBe(false);
    expect(post({ [CSRF_HEADER]: csrf })).toBe(false);
    // Same site (every port of 127.0.0.1 is one site for SameSite), other origin: refused.
    expect(post({ origin: "http://127.0.0.1:8080", [CSRF_HEADER]: csrf })).toBe(false);
    expect(post({ origin: "http://localhost:7420", [CSRF_HEADER]: csrf })).toBe(false);
    expect(post({ origin: "null", [CSRF_HEADER]: csrf })).toBe(false);
    expect(post({ origin: ORIGIN, [CSRF_HEADER]: csrf, "sec-fetch-site": "same-site" })).toBe(false);
    for (const method of ["PATCH", "DELETE", "PUT"]) {
      expect(sessions.allows(request(sessions, s, { method, headers: { origin: ORIGIN } }))).toBe(false);
      expect(sessions.allows(request(sessions, s, { method, headers: { origin: ORIGIN, [CSRF_HEADER]: csrf } }))).toBe(true);
    }
  });

  test("a cross-origin read is refused even with the cookie", () => {
    const { sessions, s } = live();
    expect(sessions.allows(request(sessions, s, { headers: { origin: "http://127.0.0.1:9999" } }))).toBe(false);
    expect(sessions.allows(request(sessions, s, { headers: { "sec-fetch-site": "cross-site" } }))).toBe(false);
  });

  test("a websocket upgrade needs our exact Origin", () => {
    const { sessions, s } = live();
    const ws = (origin?: string) => sessions.allows(request(sessions, s, { headers: { origin } }), { websocket: true });
    expect(ws(ORIGIN)).toBe(true);
    expect(ws(undefined)).toBe(false);
    expect(ws("http://127.0.0.1:9999")).toBe(false);
  });
});

test("cookieValue picks one cookie out of a header", () => {
  expect(cookieValue("a=1; runta_session=x.y; b=2", "runta_session")).toBe("x.y");
  expect(cookieValue("a=1", "runta_session")).toBeNull();
  expect(cookieValue(undefined, "runta_session")).toBeNull();
});
