/**
 * The dashboard's server side over real HTTP (port 0, fake engine): the login-link exchange, cookie-authenticated API
 * calls with their Origin and CSRF rules, and the headers of the page. Browser behaviour is in test/e2e/dashboard*.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createApiServer, type ApiServer } from "../../src/server/app.js";
import { DashboardAssets } from "../../src/server/dashboard/assets.js";
import { CSRF_HEADER, DashboardSessions } from "../../src/server/dashboard/session.js";
import { FakeEngine } from "../helpers/fake-engine.js";

const TOKEN = "dashboard-test-token-0123456789abcdef";
let api: ApiServer;
let endpoint: string;
let uiDir: string;

beforeAll(async () => {
  // A stand-in build of the page, so this unit test does not depend on `npm run build`.
  uiDir = mkdtempSync(join(tmpdir(), "runta-ui-"));
  mkdirSync(uiDir, { recursive: true });
  writeFileSync(join(uiDir, "index.html"), '<meta name="runta-style-nonce" content="__STYLE_NONCE__"><script type="module" src="/ui/app.js"></script>');
  writeFileSync(join(uiDir, "app.js"), "console.log('app')");
  const engine = new FakeEngine();
  await engine.create({ name: "one", image: "busybox" });
  const dashboard = { sessions: new DashboardSessions({ token: () => TOKEN }), assets: new DashboardAssets(uiDir + "/") };
  api = createApiServer({ engine, token: TOKEN, dashboard });
  endpoint = await api.listen("127.0.0.1", 0);
});

afterAll(async () => {
  await api?.close();
  rmSync(uiDir, { recursive: true, force: true });
});

const bearer = { Authorization: `Bearer ${TOKEN}` };

async function login(): Promise<{ cookie: string; csrf: string }> {
  const made = await fetch(`${endpoint}/v1/dashboard/login`, { method: "POST", headers: bearer });
  expect(made.status).toBe(201);
  const { data } = (await made.json()) as { data: { code: string; login_path: string; expires_at: string } };
  expect(data.login_path).toBe(`/ui/login?code=${data.code}`);
  const res = await fetch(endpoint + data.login_path, { redirect: "manual" });
  expect(res.status).toBe(200);
  const cookie = res.headers.get("set-cookie")!.split(";")[0]!;
  const session = await fetch(`${endpoint}/ui/session`, { headers: { cookie } });
  const csrf = ((await session.json()) as { data: { csrf_token: string } }).data.csrf_token;
  return { cookie, csrf };
}

describe("dashboard login", () => {
  test("a login link logs in once, with a cookie that holds no token", async () => {
    const made = await fetch(`${endpoint}/v1/dashboard/login`, { method: "POST", headers: bearer });
    const { data } = (await made.json()) as { data: { login_path: string } };
    const first = await fetch(endpoint + data.login_path, { redirect: "manual" });
    const setCookie = first.headers.get("set-cookie")!;
    expect(setCookie).toMatch(/^runta_session=[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+$/);
    expect(setCookie).not.toContain(TOKEN);
    expect(await first.text()).toContain('http-equiv="refresh" content="0;url=/ui/"');
    const second = await fetch(endpoint + data.login_path, { redirect: "manual" });
    expect(second.status).toBe(401);
    expect(second.headers.get("set-cookie")).toBeNull();
  });

  test("a login code needs the bearer token; a browser session cannot mint one", async () => {
    expect((await fetch(`${endpoint}/v1/dashboard/login`, { method: "POST" })).status).toBe(401);
    const { cookie, csrf } = await login();
    const res = await fetch(`${endpoint}/v1/dashboard/login`, { method: "POST", headers: { cookie, origin: endpoint, [CSRF_HEADER]: csrf } });
    expect(res.status).toBe(403);
  });

  test("no session: /ui/session is 401 and the API too", async () => {
    expect((await fetch(`${endpoint}/ui/session`)).status).toBe(401);
    expect((await fetch(`${endpoint}/v1/runtimes`)).status).toBe(401);
  });
});

describe("the API with a session cookie", () => {
  test("reads work; writes need our Origin and the CSRF token", async () => {
    const { cookie, csrf } = await login();
    expect((await fetch(`${endpoint}/v1/runtimes`, { headers: { cookie } })).status).toBe(200);
    const pause = (headers: Record<string, string>) => fetch(`${endpoint}/v1/runtimes/one/pause`, { method: "POST", headers: { cookie, ...headers } });
    expect((await pause({ origin: endpoint })).status).toBe(401);
    expect((await pause({ [CSRF_HEADER]: csrf })).status).toBe(401);
    expect((await pause({ origin: "http://127.0.0.1:1", [CSRF_HEADER]: csrf })).status).toBe(401);
    const ok = await pause({ origin: endpoint, [CSRF_HEADER]: csrf });
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { data: { status: string } }).data.status).toBe("paused");
  });

  test("logout ends the session", async () => {
    const { cookie, csrf } = await login();
    expect((await fetch(`${endpoint}/ui/logout`, { method: "POST", headers: { cookie, origin: endpoint } })).status).toBe(401);
    const out = await fetch(`${endpoint}/ui/logout`, { method: "POST", headers: { cookie, origin: endpoint, [CSRF_HEADER]: csrf } });
    expect(out.status).toBe(204);
    expect(out.headers.get("set-cookie")).toContain("Max-Age=0");
    expect((await fetch(`${endpoint}/v1/runtimes`, { headers: { cookie } })).status).toBe(401);
  });
});

describe("the page", () => {
  test("/ui/ has a strict CSP whose style nonce is the page's, and no token", async () => {
    const res = await fetch(`${endpoint}/ui/`);
    expect(res.status).toBe(200);
    const csp = res.headers.get("content-security-policy")!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self';");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    const nonce = /'nonce-([^']+)'/.exec(csp)![1]!;
    const html = await res.text();
    expect(html).toContain(`content="${nonce}"`);
    expect(html).not.toContain(TOKEN);
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");
    // A fresh nonce for every response.
    const again = (await fetch(`${endpoint}/ui/`)).headers.get("content-security-policy")!;
    expect(again).not.toBe(csp);
  });

  test("files are served with their type; anything else is 404; /ui redirects to /ui/", async () => {
    const js = await fetch(`${endpoint}/ui/app.js`);
    expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(js.headers.get("x-content-type-options")).toBe("nosniff");
    expect((await fetch(`${endpoint}/ui/../v1/version`)).status).toBe(401);
    expect((await fetch(`${endpoint}/ui/index.html.bak`)).status).toBe(404);
    expect((await fetch(`${endpoint}/ui/%2e%2e%2fpackage.json`)).status).toBe(404);
    const redirect = await fetch(`${endpoint}/ui`, { redirect: "manual" });
    expect(redirect.status).toBe(308);
    expect(redirect.headers.get("location")).toBe("/ui/");
  });

  test("a foreign Host is refused before anything is served (DNS rebinding)", async () => {
    const { request } = await import("node:http");
    const status = await new Promise<number>((resolve, reject) => {
      const u = new URL(endpoint);
      const req = request({ host: u.hostname, port: u.port, path: "/ui/", headers: { Host: `evil.example:${u.port}` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      req.end();
    });
    expect(status).toBe(403);
  });
});
