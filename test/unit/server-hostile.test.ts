/**
 * Hostile clients against the real HTTP server (issue 21, items 2, 3 and 10), as raw sockets in the test process:
 * refused bodies are not read, slow bodies and slow headers are cut, idle and slow connections cannot lock out an
 * authenticated client or health, and 429 says when to retry. Each test failed before its fix.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, test } from "vitest";
import { RuntaError } from "../../src/api/index.js";
import { createApiServer, type ApiServer, type ApiServerOptions } from "../../src/server/app.js";
import { CapturedOutput, type CapturedExec } from "../../src/engine/exec-output.js";
import type { ExecSpec } from "../../src/engine/types.js";
import { FakeEngine } from "../helpers/fake-engine.js";

const TOKEN = "t0ken-for-hostile-tests-0123456789abcdef";
const servers: ApiServer[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => s.close(50)));
});

async function serve(opts: Partial<ApiServerOptions> = {}) {
  const engine = new FakeEngine();
  const api = createApiServer({ engine, token: TOKEN, ...opts });
  servers.push(api);
  const url = await api.listen("127.0.0.1", 0);
  const port = Number(new URL(url).port);
  /** Bytes the server read from every connection it accepted (live and closed). */
  const accepted: Socket[] = [];
  api.server.on("connection", (s: Socket) => accepted.push(s));
  return { api, engine, url, port, bytesRead: () => accepted.reduce((n, s) => n + s.bytesRead, 0) };
}

/** A raw TCP connection to the server; collects what comes back and when it closed. */
async function open(port: number) {
  const s = connect(port, "127.0.0.1");
  sockets.push(s);
  s.on("error", () => undefined);
  let text = "";
  s.setEncoding("utf8").on("data", (d: string) => (text += d));
  const closed = new Promise<number>((r) => s.once("close", () => r(Date.now())));
  await new Promise((r) => s.once("connect", r));
  return { s, closed, text: () => text };
}

const head = (port: number, method: string, path: string, extra: string) =>
  `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: keep-alive\r\n${extra}\r\n`;
const auth = `Authorization: Bearer ${TOKEN}\r\n`;

/** Writes `chunk` as fast as the socket takes it until it closes or `ms` pass. */
async function flood(s: Socket, ms: number): Promise<void> {
  const chunk = Buffer.alloc(1 << 20, 0x61);
  const until = Date.now() + ms;
  while (!s.destroyed && Date.now() < until) {
    if (!s.write(chunk)) await new Promise((r) => setTimeout(r, 5));
  }
}

/** Waits (at most 5 s) until `done()` holds: the server answers on its own turns, which a loaded host delays. */
async function until(done: () => boolean): Promise<void> {
  for (const t0 = Date.now(); !done() && Date.now() - t0 < 5000; ) await new Promise((r) => setTimeout(r, 20));
}

async function health(url: string): Promise<number> {
  return (await fetch(`${url}/v1/health`)).status;
}

describe("refused bodies are not read (item 3)", () => {
  test.each([
    ["GET /v1/health (a body-less route)", "GET", "/v1/health", "", 200],
    ["POST /v1/runtimes without a token", "POST", "/v1/runtimes", "", 401],
    ["an unknown route", "POST", "/v1/nowhere", auth, 404],
    ["a wrong method", "PUT", "/v1/health", auth, 405],
  ])("%s: answered, then the connection closes instead of reading a 1e12-byte body", async (_name, method, path, extra, status) => {
    const { port, bytesRead } = await serve();
    const c = await open(port);
    c.s.write(head(port, method, path, `${extra}Content-Type: application/json\r\nContent-Length: 1000000000000\r\n`));
    const started = Date.now();
    await flood(c.s, 3000);
    const closedAt = await Promise.race([c.closed, new Promise<number>((r) => setTimeout(() => r(Infinity), 3000))]);
    expect(c.text()).toMatch(new RegExp(`^HTTP/1.1 ${status} `));
    expect(c.text()).toMatch(/\r\nConnection: close\r\n/i);
    expect(closedAt - started).toBeLessThan(2000);
    // What the kernel had buffered before the close, not the flood.
    expect(bytesRead()).toBeLessThan(32 * 1024 * 1024);
  });
});

test("a refusal's connection is gone as soon as its answer is out, not read until the client's end (item 3: what a flood costs)", async () => {
  const { api, port } = await serve();
  const goneAtFinish: boolean[] = [];
  api.server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    // Right after the answer's last byte was handed over (node alone would half-close and keep reading meanwhile).
    res.once("finish", () => process.nextTick(() => goneAtFinish.push(req.socket.destroyed)));
  });
  const c = await open(port);
  c.s.write(head(port, "POST", "/v1/runtimes", `Content-Type: application/json\r\nContent-Length: 1000000000000\r\n`));
  await flood(c.s, 1000);
  await Promise.race([c.closed, new Promise((r) => setTimeout(r, 3000))]);
  expect(c.text()).toMatch(/^HTTP\/1.1 401 /);
  expect(goneAtFinish).toEqual([true]);
});

describe("slow clients are cut (items 2 and 10)", () => {
  test("a body dribbled one byte at a time gets 408 and the connection closes within two windows", async () => {
    const { port } = await serve({ bodyWindowMs: 300 });
    const c = await open(port);
    c.s.write(head(port, "POST", "/v1/runtimes", `${auth}Content-Type: application/json\r\nContent-Length: 100000\r\n`));
    const started = Date.now();
    const drip = setInterval(() => c.s.write("{"), 100);
    const closedAt = await c.closed;
    clearInterval(drip);
    expect(c.text()).toMatch(/^HTTP\/1.1 408 /);
    expect(c.text()).toContain('"code":"deadline_exceeded"');
    expect(closedAt - started).toBeLessThan(1500);
  });

  test("a body the handler is slow to take is not the client's fault", async () => {
    // The image import reads its upload only as the (fake) engine consumes it: a whole body sent at once and left
    // waiting in the daemon must not be judged slow.
    const { url } = await serve({ bodyWindowMs: 200 });
    const res = await fetch(`${url}/v1/images/import?name=plain`, {
      method: "POST",
      headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/x-tar" },
      body: Buffer.alloc(4096, 1),
    });
    expect(res.status).toBe(201);
  });

  test("headers sent one byte at a time are cut at the header timeout, not up to 30 s later", async () => {
    const { port } = await serve({ idleConnectionMs: 1000 });
    const c = await open(port);
    const request = head(port, "GET", "/v1/health", "X-Padding: " + "a".repeat(200) + "\r\n");
    let i = 0;
    const started = Date.now();
    const drip = setInterval(() => c.s.write(request[i++ % request.length]!), 100);
    const closedAt = await Promise.race([c.closed, new Promise<number>((r) => setTimeout(() => r(Infinity), 5000))]);
    clearInterval(drip);
    expect(closedAt - started).toBeLessThan(3000);
  });
});

describe("connection exhaustion (item 2)", () => {
  test("idle and slow anonymous connections at the cap cannot lock out health or an authenticated client", async () => {
    const cap = 40;
    const { api, url, port } = await serve({ maxConnections: cap });
    // A client with the token, kept alive across the attack.
    const trusted = await open(port);
    trusted.s.write(head(port, "GET", "/v1/version", auth));
    await until(() => trusted.text().includes("\r\n\r\n"));
    expect(trusted.text()).toMatch(/^HTTP\/1.1 200 /);
    // The rest of the cap: idle connections, and connections that send headers slowly.
    const attackers = await Promise.all(Array.from({ length: cap - 1 }, () => open(port)));
    const slow = attackers.slice(0, cap / 2);
    for (const a of slow) a.s.write(`GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Slow: `);
    const drip = setInterval(() => {
      for (const a of slow) if (!a.s.destroyed) a.s.write("a");
    }, 100);
    try {
      for (let i = 0; i < 5; i++) expect(await health(url)).toBe(200);
      const res = await fetch(`${url}/v1/version`, { headers: { Authorization: `Bearer ${TOKEN}` } });
      expect(res.status).toBe(200);
      // A second wave of anonymous connections evicts the first, never the authenticated one.
      const evictedBefore = api.connections.evicted;
      await Promise.all(Array.from({ length: cap }, () => open(port)));
      await until(() => api.connections.evicted - evictedBefore >= cap - 1);
      expect(api.connections.evicted - evictedBefore).toBeGreaterThanOrEqual(cap - 1);
      const before = trusted.text().length;
      trusted.s.write(head(port, "GET", "/v1/version", auth));
      await until(() => trusted.text().slice(before).includes("\r\n\r\n"));
      expect(trusted.text().slice(before)).toMatch(/^HTTP\/1.1 200 /);
    } finally {
      clearInterval(drip);
    }
  });

  test("when every connection carries the token, the newcomer is the one dropped", async () => {
    const { api, port } = await serve({ maxConnections: 2 });
    const held = [await open(port), await open(port)];
    for (const h of held) h.s.write(head(port, "GET", "/v1/version", auth));
    await new Promise((r) => setTimeout(r, 50));
    const extra = await open(port);
    const started = Date.now();
    expect((await extra.closed) - started).toBeLessThan(1000);
    expect(api.connections.dropped).toBe(1);
    for (const h of held) expect(h.s.destroyed).toBe(false);
  });
});

test("429 answers carry Retry-After (item 10)", async () => {
  const { engine, url } = await serve();
  engine.inject("list", new RuntaError("resource_exhausted", "too many"));
  const res = await fetch(`${url}/v1/runtimes`, { headers: { Authorization: `Bearer ${TOKEN}` } });
  expect(res.status).toBe(429);
  expect(res.headers.get("retry-after")).toBe("1");
});

test("exec output is streamed as JSON equal to JSON.stringify's, escapes and surrogate pairs included (item 1)", async () => {
  const { url } = await serve();
  const created = await fetch(`${url}/v1/runtimes`, {
    method: "POST",
    headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
    body: JSON.stringify({ name: "rt" }),
  });
  expect(created.status).toBe(201);
  // Slices are 64 Ki characters: odd lengths put surrogate pairs and escapes across every boundary.
  const stdin = "\u0001\"\\".repeat(30001) + "😀".repeat(50001) + "é\n".repeat(40001);
  const res = await fetch(`${url}/v1/runtimes/rt/exec`, {
    method: "POST",
    headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
    body: JSON.stringify({ command: ["cat"], stdin, max_output_bytes: 16 * 1024 * 1024 }),
  });
  expect(res.status).toBe(200);
  expect(res.headers.get("transfer-encoding")).toBe("chunked");
  const text = await res.text();
  const body = JSON.parse(text);
  expect(body.data.stdout).toBe("cat\n" + stdin);
  expect(text).toBe(JSON.stringify(body));
});

test("an exec's output stays counted until its client has taken the answer, which is encoded as it goes (item 1)", async () => {
  const total = 8 * 1024 * 1024;
  /** The fake's exec with 8 MiB of \x01 on stdout, captured in 64 KiB chunks as from a pipe. */
  class LoudEngine extends FakeEngine {
    stdout?: CapturedOutput;
    override async execCaptured(ref: string, spec: ExecSpec): Promise<CapturedExec> {
      const captured = await super.execCaptured(ref, spec);
      const stdout = new CapturedOutput(total);
      for (let i = 0; i < total; i += 65536) stdout.push(Buffer.alloc(65536, 1));
      this.stdout = stdout;
      return { ...captured, stdout, result: { ...captured.result, stdout_invalid_utf8: false } };
    }
  }
  const engine = new LoudEngine();
  const { port } = await serve({ engine });
  await engine.create({ name: "rt" } as never);
  const body = JSON.stringify({ command: ["true"] });
  const c = await open(port);
  c.s.write(head(port, "POST", "/v1/runtimes/rt/exec", `${auth}Content-Type: application/json\r\nContent-Length: ${body.length}\r\n`) + body);
  // The answer's first bytes are here: read no more. 48 MiB of escapes cannot all wait in the sockets' buffers.
  await until(() => c.text().includes('"stdout":"'));
  c.s.pause();
  expect(engine.outputsHeld).toBe(1);
  // Part of the output was encoded and let go, the rest is still held as it was captured: neither joined nor copied.
  expect(engine.stdout!.heldBytes).toBeGreaterThan(0);
  expect(engine.stdout!.heldBytes).toBeLessThan(total);
  c.s.resume();
  // 48 MiB to read: more than until()'s 5 s on a loaded host.
  for (const t0 = Date.now(); !c.text().endsWith("0\r\n\r\n") && Date.now() - t0 < 60_000; ) await new Promise((r) => setTimeout(r, 20));
  expect(engine.outputsHeld).toBe(0);
  const chunked = c.text().slice(c.text().indexOf("\r\n\r\n") + 4);
  expect(chunked.length).toBeGreaterThan(6 * total);
});
