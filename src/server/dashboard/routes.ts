/**
 * The dashboard's own paths under /ui (DESIGN §11): the page and its two files, the login-link exchange, the session
 * (CSRF token) and logout. The dashboard's data comes from the ordinary /v1 API, authenticated by the session cookie.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { DashboardAssets, htmlPage, pageHeaders } from "./assets.js";
import { DashboardSessions } from "./session.js";

/** What the /ui routes need. */
export interface DashboardDeps {
  sessions: DashboardSessions;
  assets: DashboardAssets;
}

/** Whether a path belongs to the dashboard. */
export const isDashboardPath = (pathname: string) => pathname === "/ui" || pathname.startsWith("/ui/");

function json(res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { ...pageHeaders(), ...extra, "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(payload) });
  res.end(payload);
}

function noSession(res: ServerResponse, requestId: string): void {
  json(res, 401, {
    error: { code: "unauthenticated", message: "no dashboard session: run 'runta dashboard' and open the link it prints" },
    request_id: requestId,
  });
}

/**
 * Serves a /ui request (Host and Origin already checked by the server). Returns after the response is written.
 * GET /ui/login?code=… is the only way in: it spends the code, sets the cookie and moves on to /ui/ with a
 * same-origin refresh, so the SameSite=Strict cookie goes with that first load even when the link was opened from
 * another application, and the login URL is replaced in the history.
 */
export async function serveDashboard(req: IncomingMessage, res: ServerResponse, url: URL, requestId: string, deps: DashboardDeps): Promise<void> {
  const { sessions, assets } = deps;
  const path = url.pathname;
  const method = req.method ?? "GET";
  if (method === "POST" && path === "/ui/logout") {
    const session = sessions.fromRequest(req);
    if (!session || !sessions.allows(req)) return noSession(res, requestId);
    sessions.end(session);
    res.writeHead(204, { ...pageHeaders(), "Set-Cookie": DashboardSessions.clearCookie() });
    res.end();
    return;
  }
  if (method !== "GET" && method !== "HEAD") {
    res.setHeader("Allow", "GET, HEAD");
    return json(res, 405, { error: { code: "invalid_argument", message: `method ${method} is not allowed on ${path}` }, request_id: requestId });
  }
  if (path === "/ui") {
    res.writeHead(308, { ...pageHeaders(), Location: "/ui/" });
    res.end();
    return;
  }
  if (path === "/ui/") return assets.index(res);
  if (path === "/ui/login") {
    const session = sessions.redeem(url.searchParams.get("code") ?? "");
    if (!session) {
      return htmlPage(
        res,
        401,
        "Login link expired",
        "<p>This login link is unknown, already used or expired (links work once, for two minutes).</p>" +
          "<p>Run <code>runta dashboard</code> again for a new one.</p>",
      );
    }
    res.setHeader("Set-Cookie", sessions.cookie(session));
    return htmlPage(res, 200, "Logged in", '<p><a href="/ui/">Open the dashboard</a></p>', '<meta http-equiv="refresh" content="0;url=/ui/">');
  }
  if (path === "/ui/session") {
    const session = sessions.fromRequest(req);
    if (!session || !sessions.allows(req)) return noSession(res, requestId);
    return json(res, 200, { data: { csrf_token: sessions.csrfToken(session), expires_at: new Date(session.expiresAt).toISOString() } });
  }
  if (await assets.file(res, path.slice("/ui/".length))) return;
  json(res, 404, { error: { code: "not_found", message: `no dashboard file ${path}` }, request_id: requestId });
}
