/**
 * The dashboard's own paths under /ui (DESIGN §11): the page and its two files, the login-link exchange, the session
 * (CSRF token) and logout. The dashboard's data comes from the ordinary /v1 API, authenticated by the session cookie.
 */
import { RuntaError, errors } from "../../api/index.js";
import { JSON_TYPE, type Ctx } from "../http.js";
import { DashboardAssets, htmlPage, pageHeaders } from "./assets.js";
import { DashboardSessions } from "./session.js";

/** What the /ui routes need. */
export interface DashboardDeps {
  sessions: DashboardSessions;
  assets: DashboardAssets;
}

function json(ctx: Ctx, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  ctx.res.writeHead(status, { ...pageHeaders(), "Content-Type": JSON_TYPE, "Content-Length": Buffer.byteLength(payload) });
  ctx.res.end(payload);
}

const noSession = () => new RuntaError("unauthenticated", "no dashboard session: run 'runta dashboard' and open the link it prints");

/**
 * Serves a /ui request (Host and Origin already checked by the server).
 * GET /ui/login?code=… is the only way in: it spends the code, sets the cookie and moves on to /ui/ with a
 * same-origin refresh, so the SameSite=Strict cookie goes with that first load even when the link was opened from
 * another application, and the login URL is replaced in the history.
 */
export async function serveDashboard(ctx: Ctx, deps: DashboardDeps): Promise<void> {
  const { sessions, assets } = deps;
  const { req, res } = ctx;
  const path = ctx.url.pathname;
  if (req.method === "POST") {
    // The only POST route here is /ui/logout.
    const session = sessions.fromRequest(req);
    if (!session || !sessions.allows(req)) throw noSession();
    sessions.end(session);
    res.writeHead(204, { ...pageHeaders(), "Set-Cookie": DashboardSessions.clearCookie() });
    res.end();
    return;
  }
  if (path === "/ui") {
    res.writeHead(308, { ...pageHeaders(), Location: "/ui/" });
    res.end();
    return;
  }
  if (path === "/ui/") return assets.index(res);
  if (path === "/ui/login") {
    const session = sessions.redeem(ctx.url.searchParams.get("code") ?? "");
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
    if (!session || !sessions.allows(req)) throw noSession();
    return json(ctx, 200, { data: { csrf_token: sessions.csrfToken(session), expires_at: new Date(session.expiresAt).toISOString() } });
  }
  if (await assets.file(res, path.slice("/ui/".length))) return;
  throw errors.notFound(`no dashboard file ${path}`);
}
