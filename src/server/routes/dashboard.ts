/**
 * The dashboard (DESIGN §11): its page and files under /ui (no token: the page logs in with a session cookie, see
 * dashboard/session.ts), and `POST /v1/dashboard/login`, which mints the one-time login code `runta dashboard` prints.
 */
import { RuntaError } from "../../api/index.js";
import { serveDashboard } from "../dashboard/routes.js";
import { send, type Ctx, type RouteModule } from "../http.js";

export const dashboardRoutes: RouteModule = ({ dashboard }) => {
  const ui = { auth: false, handler: (ctx: Ctx) => serveDashboard(ctx, dashboard) };
  return [
    {
      method: "POST",
      path: "/v1/dashboard/login",
      handler: async (ctx) => {
        // A browser session must not mint further sessions: a login link is made with the daemon's token only.
        if (ctx.auth !== "token") throw new RuntaError("permission_denied", "login links are made with the API token: run 'runta dashboard'");
        const { code, expiresAt } = dashboard.sessions.issueCode();
        send(ctx, 201, { data: { code, login_path: `/ui/login?code=${code}`, expires_at: new Date(expiresAt).toISOString() } });
      },
    },
    { method: "GET", path: "/ui", ...ui },
    { method: "GET", path: "/ui/{path*}", ...ui },
    { method: "HEAD", path: "/ui/{path*}", ...ui },
    { method: "POST", path: "/ui/logout", ...ui },
  ];
};
