/**
 * The ingress listener (server/ingress) in-process over a fake engine whose published ports lead to a local server:
 * routing by Host, the pages it answers itself, activity holds, HTTP and HTTPS on one port, and the API server's
 * connection limits and deadlines.
 */
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { RuntaError } from "../../src/api/index.js";
import { ingressHostName } from "../../src/api/ports-spec.js";
import { CertificateAuthority } from "../../src/engine/tls/ca.js";
import { IngressServer } from "../../src/server/ingress/listener.js";
import { FakeEngine } from "../helpers/fake-engine.js";

const DOMAIN = "runta.localhost";
const ID = "0b8d6f2e-5c1a-4e7b-9a3d-2f6e8c1b7a90";
const dir = mkdtempSync(join(tmpdir(), "runta-ingress-unit-"));
let ca: CertificateAuthority;
let app: http.Server;
let appPort: number;
const engine = new FakeEngine();
/** What the fake engine answers per runtime port: a protocol (dial the app) or an error to throw. */
const routes = new Map<number, "http" | "https" | RuntaError>();
const servers: IngressServer[] = [];

async function ingress(opts: { maxConnections?: number; idleConnectionMs?: number; bodyWindowMs?: number } = {}): Promise<{ server: IngressServer; port: number }> {
  const server = new IngressServer({ domain: DOMAIN, ca, ...opts });
  server.serve(engine);
  servers.push(server);
  return { server, port: await server.listen("127.0.0.1", 0) };
}

function get(port: number, host: string, opts: { tls?: boolean; path?: string } = {}): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const o = { host: "127.0.0.1", port, path: opts.path ?? "/", headers: { Host: host }, agent: false as const };
    const req = opts.tls ? https.get({ ...o, servername: host.replace(/:\d+$/, ""), ca: ca.certPem }) : http.get(o);
    req.on("response", (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (c: string) => (body += c)).on("end", () => resolve({ status: res.statusCode!, body, headers: res.headers }));
    });
    req.on("error", reject);
  });
}

beforeAll(async () => {
  ca = await CertificateAuthority.loadOrCreate({ dir: join(dir, "ca"), commonName: "test", permittedDomains: [DOMAIN] });
  app = http.createServer((req, res) => {
    // /read-body answers once the whole body arrived (an app that reads what it is sent).
    if (req.url === "/read-body") return void req.resume().on("end", () => res.end("read"));
    res.end(`app ${req.url} proto=${req.headers["x-forwarded-proto"]} host=${req.headers.host} held=${engine.holds.get(`${ID}/ingress`)}`);
  });
  await new Promise<void>((r) => app.listen(0, "127.0.0.1", r));
  appPort = (app.address() as net.AddressInfo).port;
  engine.published = async (runtimeId, port) => {
    const route = routes.get(port);
    if (runtimeId !== ID || route === undefined) throw new RuntaError("not_found", "no such service");
    if (route instanceof RuntaError) throw route;
    const socket = net.connect(appPort, "127.0.0.1");
    await new Promise((r) => socket.once("connect", r));
    return { socket, protocol: route, release: engine.activityHold(runtimeId, "ingress") };
  };
  routes.set(8080, "http").set(8443, "https");
  routes.set(9000, new RuntaError("unavailable", "the service did not accept connections on port 9000 within 30 s; retry later", { details: { retry_after_secs: 5 } }));
  routes.set(9001, new RuntaError("failed_precondition", "the service is paused by its owner"));
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close(0)));
  app.close();
  rmSync(dir, { recursive: true, force: true });
});

test("routes by Host to the published port, and holds the runtime awake only while the request is open", async () => {
  const { port } = await ingress();
  const res = await get(port, `${ingressHostName(8080, ID, DOMAIN)}:${port}`, { path: "/x?y=1" });
  expect(res).toMatchObject({ status: 200, body: `app /x?y=1 proto=http host=8080-${ID}.${DOMAIN}:${port} held=1` });
  expect(engine.holds.get(`${ID}/ingress`)).toBe(0);
});

test("HTTP and HTTPS share the port; an https-published port sends plain HTTP to https (308)", async () => {
  const { port } = await ingress();
  const host = `${ingressHostName(8443, ID, DOMAIN)}:${port}`;
  expect(await get(port, host, { tls: true })).toMatchObject({ status: 200, body: `app / proto=https host=${host} held=1` });
  const plain = await get(port, host, { path: "/a" });
  expect(plain.status).toBe(308);
  expect(plain.headers.location).toBe(`https://${host}/a`);
  // An http-published port also answers over TLS.
  expect((await get(port, `${ingressHostName(8080, ID, DOMAIN)}:${port}`, { tls: true })).status).toBe(200);
});

test("pages of its own: 404 for no route (naming nothing), 503 with Retry-After when not serving", async () => {
  const { port } = await ingress();
  for (const host of ["localhost", `${ingressHostName(7777, ID, DOMAIN)}`, "8080-00000000-0000-4000-8000-000000000000.runta.localhost"]) {
    const res = await get(port, host);
    expect(res.status, host).toBe(404);
    expect(res.body).toContain("No service is published at this address.");
    expect(res.body).not.toContain(ID);
  }
  const waking = await get(port, ingressHostName(9000, ID, DOMAIN));
  expect(waking).toMatchObject({ status: 503, headers: expect.objectContaining({ "retry-after": "5" }) });
  expect(waking.body).toContain("did not accept connections on port 9000 within 30 s");
  const paused = await get(port, ingressHostName(9001, ID, DOMAIN));
  expect(paused.status).toBe(503);
  expect(paused.body).toContain("paused by its owner");
});

test("a body sent slower than the API's minimum rate gets 408 while the app waits for it, and the daemon goes on", async () => {
  const { port } = await ingress({ bodyWindowMs: 300 });
  const host = `${ingressHostName(8080, ID, DOMAIN)}:${port}`;
  const answer = await new Promise<string>((resolve) => {
    const s = net.connect(port, "127.0.0.1", () => s.write(`POST /read-body HTTP/1.1\r\nHost: ${host}\r\nContent-Length: 100000\r\n\r\nabc`));
    let got = "";
    s.setEncoding("utf8").on("data", (c: string) => (got += c));
    s.on("close", () => resolve(got));
    s.on("error", () => undefined);
  });
  expect(answer).toMatch(/^HTTP\/1\.1 408 Request Timeout/);
  expect((await get(port, host)).status).toBe(200);
  expect(engine.holds.get(`${ID}/ingress`)).toBe(0);
});

test("a connection that sends nothing is closed after the idle deadline, as the API's are", async () => {
  const { port } = await ingress({ idleConnectionMs: 300 });
  const closed = await new Promise<boolean>((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.on("close", () => resolve(true));
    s.on("error", () => undefined);
    setTimeout(() => resolve(false), 10_000).unref();
  });
  expect(closed).toBe(true);
});

test("at the connection cap the oldest connection makes room for the newcomer (the API's guard)", async () => {
  const { server, port } = await ingress({ maxConnections: 2 });
  const open = async () => {
    const s = net.connect(port, "127.0.0.1");
    s.on("error", () => undefined);
    await new Promise((r) => s.once("connect", r));
    return s;
  };
  const first = await open();
  const firstClosed = new Promise((r) => first.once("close", r));
  await open();
  await open();
  await firstClosed;
  expect(server.connections.evicted).toBe(1);
  const res = await get(port, `${ingressHostName(8080, ID, DOMAIN)}:${port}`);
  expect(res.status).toBe(200);
});
