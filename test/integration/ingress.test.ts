/**
 * Published ports through the real daemon, runc and the runtime network (issue 13): a python app started by a
 * detached exec, reached at its published URL over HTTP and HTTPS (curl with the daemon's CA), keep-alive, streaming,
 * websockets, a host port, an app that starts late, 503s, 404s naming no runtime, persistence across a daemon
 * restart, shutdown and boot. Traffic: loopback and the runtimes' own addresses only.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { beforeAll, expect, test } from "vitest";
import WebSocket from "ws";
import type { PublishedPort, Runta, Runtime } from "../../src/client/index.js";
import { daemonSuite } from "../helpers/daemon-suite.js";

const run = promisify(execFile);
const APP = readFileSync(resolve(import.meta.dirname, "../helpers/ingress-app.py"), "utf8");
/** The daemon's bound on waiting for an app (RUNTA_INGRESS_WAKE_TIMEOUT): short, so the 503 test is quick. */
const WAKE_SECS = 8;

const suite = daemonSuite({ defaultImage: true, env: { RUNTA_INGRESS_WAKE_TIMEOUT: String(WAKE_SECS) } });
const d = suite.daemon;
let runta: Runta;
let web: Runtime;
let caFile: string;

/** Starts the test app on `port` inside `rt` (after `delay` seconds), detached like `runta exec -d`. */
async function startApp(rt: Runtime, port: number, delay = 0): Promise<void> {
  await runta.execs.start(rt.id, ["sh", "-c", `${delay ? `sleep ${delay}; ` : ""}exec python3 /srv/app.py ${port}`]);
}

function urlOf(ports: PublishedPort[], port: number): URL {
  const p = ports.find((x) => x.port === port);
  if (!p) throw new Error(`port ${port} is not published: ${JSON.stringify(ports)}`);
  return new URL(p.url);
}

/** curl as a user would run it (it resolves *.localhost to loopback itself); resolves with status and body. */
async function curl(url: string, ...args: string[]): Promise<{ status: number; body: string; headers: string }> {
  const { stdout } = await run("curl", ["-sS", "--max-time", "60", "-D", "-", ...args, url], { encoding: "utf8" });
  const at = stdout.indexOf("\r\n\r\n");
  const headers = stdout.slice(0, at);
  return { status: Number(/^HTTP\/[\d.]+ (\d+)/.exec(headers)?.[1]), headers, body: stdout.slice(at + 4) };
}

/** A node request to the ingress at 127.0.0.1 with the URL's Host (glibc, unlike curl, does not resolve *.localhost). */
function request(url: URL, opts: { path?: string; agent?: http.Agent } = {}): Promise<http.IncomingMessage> {
  const secure = url.protocol === "https:";
  const o = { host: "127.0.0.1", port: Number(url.port), path: opts.path ?? "/", headers: { Host: url.host }, agent: opts.agent };
  return new Promise((res, rej) => {
    const req = secure ? https.get({ ...o, servername: url.hostname, ca: readFileSync(caFile) }, res) : http.get(o, res);
    req.on("error", rej);
  });
}

function text(res: http.IncomingMessage): Promise<string> {
  return new Promise((r) => {
    let s = "";
    res.setEncoding("utf8").on("data", (c: string) => (s += c)).on("end", () => r(s));
  });
}

beforeAll(async () => {
  runta = d.client();
  caFile = join(suite.scratch, "ca.pem");
  await writeFile(caFile, (await runta.ingress()).ca_certificate);
  web = (await runta.runtimes.create("web", {
    memoryMiB: 256,
    ports: [{ port: 8000 }, { port: 8443, protocol: "https" }, { port: 8002 }, { port: 8003 }, { port: 8001, protocol: "tcp" }],
  })) as Runtime;
  await web.files.write("/srv/app.py", APP);
  await Promise.all([startApp(web, 8000), startApp(web, 8443), startApp(web, 8001)]);
});


test("inspect shows each published port's full URL; the API lists them", async () => {
  const ports = (await runta.runtimes.get("web")).info.ports;
  const info = await runta.ingress();
  const ingressPort = info.listen.split(":").pop();
  expect(ports.map((p) => `${p.port}/${p.protocol}`)).toEqual(["8000/http", "8443/https", "8002/http", "8003/http", "8001/tcp"]);
  expect(ports[0]!.url).toBe(`http://8000-${web.id}.runta.localhost:${ingressPort}/`);
  expect(ports[1]!.url).toBe(`https://8443-${web.id}.runta.localhost:${ingressPort}/`);
  expect(ports[4]!.url).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
  expect(await web.ports()).toEqual(ports);
});

test("a python app started by a detached exec answers at its URL over HTTP (curl resolves the name itself)", async () => {
  const res = await curl((await web.ports())[0]!.url);
  expect(res.status).toBe(200);
  expect(res.body).toMatch(/^hello 8000 X-Forwarded-Proto=http X-Forwarded-Host=8000-/);
});

test("HTTPS: TLS ends at the ingress with a leaf from the daemon's CA, which curl --cacert trusts", async () => {
  const url = urlOf(await web.ports(), 8443).href;
  const res = await curl(url, "--cacert", caFile);
  expect(res.status).toBe(200);
  expect(res.body).toMatch(/^hello 8443 X-Forwarded-Proto=https/);
  // Without the CA curl refuses the certificate; over plain http the browser is sent to https.
  await expect(curl(url)).rejects.toThrow(/certificate/);
  const plain = await curl(url.replace("https:", "http:"));
  expect(plain.status).toBe(308);
  expect(plain.headers).toContain(`location: ${url}`.replace("location", "Location"));
});

test("keep-alive: two requests travel on one client connection", async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const url = urlOf(await web.ports(), 8000);
  const first = await request(url, { agent });
  expect(await text(first)).toMatch(/^hello 8000/);
  const second = await request(url, { agent });
  expect(await text(second)).toMatch(/^hello 8000/);
  expect(second.socket).toBe(first.socket);
  agent.destroy();
});

test("streaming: the first chunk arrives while the app still holds the response open (nothing buffered)", async () => {
  const res = await request(urlOf(await web.ports(), 8000), { path: "/stream" });
  const chunks: string[] = [];
  const firstSeen = new Promise<void>((r) => res.setEncoding("utf8").on("data", (c: string) => (chunks.push(c), r())));
  const ended = new Promise<void>((r) => res.on("end", r));
  await firstSeen;
  expect(chunks.join("")).toBe("first\n");
  // Only now may the app finish: had the ingress waited for the whole answer, "first" would never have come.
  await web.exec("touch /tmp/go-8000");
  await ended;
  expect(chunks.join("")).toBe("first\ndone\n");
});

test("websockets pass through the ingress, over ws and over wss", async () => {
  for (const port of [8000, 8443]) {
    const url = urlOf(await web.ports(), port);
    const scheme = url.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://127.0.0.1:${url.port}/ws`, { headers: { Host: url.host }, servername: url.hostname, ca: readFileSync(caFile) });
    const echoed = await new Promise<string>((res, rej) => {
      ws.once("open", () => ws.send(`ping ${port}`));
      ws.once("message", (m) => res(String(m)));
      ws.once("error", rej);
    });
    expect(echoed).toBe(`echo ping ${port}`);
    ws.close();
  }
});

test("a host port forwards plain TCP to the runtime's port", async () => {
  const url = urlOf(await web.ports(), 8001);
  const answer = await new Promise<string>((res, rej) => {
    const s = net.connect(Number(url.port), url.hostname, () => s.end("GET / HTTP/1.0\r\n\r\n"));
    let got = "";
    s.setEncoding("utf8").on("data", (c: string) => (got += c)).on("end", () => res(got)).on("error", rej);
  });
  expect(answer).toMatch(/^HTTP\/1\.[01] 200 OK[\s\S]*hello 8001/);
});

test("an app that starts listening 3 s late still answers the first request (no 502, no refusal)", async () => {
  await startApp(web, 8002, 3);
  const res = await curl(urlOf(await web.ports(), 8002).href);
  expect(res.status).toBe(200);
  expect(res.body).toMatch(/^hello 8002/);
});

test("nothing listening within the bound: 503 with Retry-After, naming no runtime", async () => {
  const res = await curl(urlOf(await web.ports(), 8003).href);
  expect(res.status).toBe(503);
  expect(res.headers).toMatch(/retry-after: \d+/i);
  expect(res.body).toContain(`did not accept connections on port 8003 within ${WAKE_SECS} s`);
  expect(res.body).not.toContain(web.id);
  expect(res.body).not.toContain("web");
});

test("unknown names, unpublished ports and the API's own address get the same 404 page, naming no runtime", async () => {
  const url = urlOf(await web.ports(), 8000);
  const pages = [
    await curl(`http://8999-${web.id}.runta.localhost:${url.port}/`),
    await curl(`http://8000-00000000-0000-4000-8000-000000000000.runta.localhost:${url.port}/`),
    await curl(`http://nothing.runta.localhost:${url.port}/`),
    await curl(`http://127.0.0.1:${url.port}/v1/runtimes`, "-H", `Authorization: Bearer ${d.token}`),
  ];
  for (const p of pages) {
    expect(p.status).toBe(404);
    expect(p.body).toContain("No service is published at this address.");
    expect(p.body).not.toContain(web.id);
  }
  expect(pages[0]!.body).toBe(pages[1]!.body);
});

test("a paused runtime is not woken by a request (503); resumed, it answers again", async () => {
  await web.pause();
  try {
    const res = await curl(urlOf(await web.ports(), 8000).href);
    expect(res.status).toBe(503);
    expect(res.body).toContain("paused");
    expect((await web.refresh()).status).toBe("paused");
  } finally {
    await web.resume();
  }
  expect((await curl(urlOf(await web.ports(), 8000).href)).status).toBe(200);
});

test("publish and unpublish on a live runtime; bad input is refused and leaves nothing behind", async () => {
  const added = await web.publish({ port: 8004 });
  expect(added.url).toBe(added.url.replace(/8004-/, "8004-"));
  expect((await web.ports()).map((p) => p.port)).toContain(8004);
  await expect(web.publish({ port: 8004, protocol: "https" })).rejects.toMatchObject({ code: "already_exists" });
  await expect(web.publish({ port: 0 })).rejects.toMatchObject({ code: "invalid_argument" });
  await expect(web.publish({ port: 70000 })).rejects.toMatchObject({ code: "invalid_argument" });
  await expect(web.publish({ port: 9000, protocol: "udp" as "tcp" })).rejects.toThrow(/protocol: must be one of "http", "https", "tcp"/);
  await expect(web.publish({ port: 9000, protocol: "http", host_port: 19000 })).rejects.toThrow(/a host port forwards plain TCP/);
  // A host port someone else holds: 409, and the port is not recorded.
  const holder = net.createServer().listen(0, "127.0.0.1");
  await new Promise((r) => holder.once("listening", r));
  const taken = (holder.address() as net.AddressInfo).port;
  await expect(web.publish({ port: 9001, host_port: taken })).rejects.toThrow(new RegExp(`host port 127.0.0.1:${taken} is already in use`));
  await expect(runta.runtimes.create("taken", { ports: [{ port: 80, host_port: taken }] })).rejects.toThrow(/already in use/);
  holder.close();
  expect((await runta.runtimes.list()).map((r) => r.name)).not.toContain("taken");
  expect((await web.ports()).map((p) => p.port)).not.toContain(9001);
  await expect(web.publish({ port: 9002, host_ip: "10.1.2.3" })).rejects.toThrow(/is not loopback/);
  const removed = await web.unpublish(8004);
  expect(removed.port).toBe(8004);
  await expect(web.unpublish(8004)).rejects.toMatchObject({ code: "not_found" });
  expect((await curl(added.url)).status).toBe(404);
});

test("a runtime without networking cannot publish", async () => {
  await expect(runta.runtimes.create("sealed", { network: "none", ports: [{ port: 80 }] })).rejects.toThrow(/publishing ports needs a network/);
  const sealed = await runta.runtimes.create("sealed", { network: "none", image: "busybox", memoryMiB: 64 });
  await expect(sealed.publish({ port: 80 })).rejects.toThrow(/has no network/);
  await sealed.delete();
});

test("a request to a suspended runtime wakes it, waits for the app and gets the page; it counts as activity", async () => {
  const rt = (await runta.runtimes.create("sleepy", { memoryMiB: 128, idleTimeoutSecs: 5, ports: [{ port: 8000 }] })) as Runtime;
  await rt.files.write("/srv/app.py", APP);
  // In the background of an exec that ends: the server alone does not keep the runtime awake (README, idle).
  await rt.exec("sh -c 'python3 /srv/app.py 8000 >/dev/null 2>&1 &'");
  const url = urlOf(await rt.ports(), 8000).href;
  expect((await curl(url)).status).toBe(200);
  await expect.poll(async () => (await rt.refresh()).status, { timeout: 60_000, interval: 500 }).toBe("suspended");
  expect(rt.info.pause_reason).toBe("idle");
  const woken = await curl(url);
  expect(woken.status).toBe(200);
  expect(woken.body).toMatch(/^hello 8000/);
  const after = await rt.refresh();
  expect(after.status).toBe("running");
  expect(after.idle?.last_activity).toBe("ingress");
  await rt.delete();
});

test("ports survive a daemon restart (host ports bound again) and shutdown/boot; removing the runtime frees its host port", async () => {
  const tcpBefore = urlOf(await web.ports(), 8001);
  await d.restart();
  runta = d.client();
  web = (await runta.runtimes.get("web")) as Runtime;
  const ports = await web.ports();
  expect(ports.map((p) => p.port)).toEqual([8000, 8443, 8002, 8003, 8001]);
  expect(urlOf(ports, 8001).port).toBe(tcpBefore.port);
  expect((await curl(urlOf(ports, 8000).href)).status).toBe(200);

  await web.stop({ graceSecs: 0 });
  const down = await curl(urlOf(ports, 8000).href);
  expect(down.status).toBe(503);
  expect(down.body).toContain("shut down");
  await web.start();
  await startApp(web, 8000);
  expect((await curl(urlOf(await web.ports(), 8000).href)).body).toMatch(/^hello 8000/);

  await web.delete();
  const free = net.createServer();
  await new Promise<void>((res, rej) => free.once("error", rej).listen(Number(tcpBefore.port), "127.0.0.1", res));
  free.close();
});
