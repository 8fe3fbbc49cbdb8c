import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, test } from "vitest";
import WebSocket from "ws";
import { LIMITS, RuntaError, type ServerFrame } from "../../src/api/index.js";
import type { Engine, StreamProcess, StreamSpec } from "../../src/engine/types.js";
import { startSpec } from "../../src/server/exec-session.js";
import { attachExecStream, type ExecStreamDeps } from "../../src/server/exec-stream.js";
import { FakeStreamProcess } from "../helpers/fake-stream.js";

const TOKEN = "s3cret";

/** Only execStream matters here; the runtime "paused" behaves like a paused runtime in the real engine. */
function fakeEngine(opts: { delayMs?: number } = {}) {
  const procs: FakeStreamProcess[] = [];
  const engine = {
    async get(ref: string) {
      if (ref === "missing") throw new RuntaError("not_found", "no runtime named 'missing'");
      return { name: ref };
    },
    async execStream(ref: string, spec: StreamSpec): Promise<StreamProcess> {
      if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
      if (ref === "paused") throw new RuntaError("failed_precondition", "runtime 'paused' is paused; run 'runta resume paused' first");
      if (ref === "missing") throw new RuntaError("not_found", "no runtime named 'missing'");
      if (ref === "broken") throw new Error("EIO: something low-level");
      const p = new FakeStreamProcess(spec);
      procs.push(p);
      return p;
    },
  } as unknown as Engine;
  return { engine, procs };
}

const servers: http.Server[] = [];
const clients: WebSocket[] = [];

afterEach(async () => {
  for (const c of clients.splice(0)) c.terminate();
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise<void>((r) => {
          s.closeAllConnections();
          s.close(() => r());
        }),
    ),
  );
});

async function serve(engine: Engine, extra: Partial<ExecStreamDeps> = {}) {
  const server = http.createServer((_req, res) => res.writeHead(404).end());
  servers.push(server);
  const ctl = attachExecStream(server, {
    engine,
    authenticate: (req) => req.headers.authorization === `Bearer ${TOKEN}`,
    checkOrigin: (req) => req.headers.origin === undefined || req.headers.origin === "http://127.0.0.1",
    ...extra,
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return { ctl, url: (rt: string) => `ws://127.0.0.1:${port}/v1/runtimes/${rt}/exec/stream`, port };
}

/** A connected raw client that collects frames. */
async function connect(url: string, headers: Record<string, string> = { Authorization: `Bearer ${TOKEN}` }) {
  const ws = new WebSocket(url, { headers });
  clients.push(ws);
  const frames: ServerFrame[] = [];
  const closed = new Promise<{ code: number; reason: string }>((r) => ws.on("close", (code, reason) => r({ code, reason: reason.toString() })));
  ws.on("message", (d) => frames.push(JSON.parse(d.toString())));
  ws.on("error", () => undefined);
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
  return { ws, frames, closed, send: (f: object) => ws.send(JSON.stringify(f)) };
}

/** Sends an upgrade request by hand and reports the HTTP status the server answered with. */
function upgradeStatus(port: number, path: string, headers: Record<string, string>): Promise<{ status: number; body: string; retryAfter?: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      port,
      host: "127.0.0.1",
      path,
      headers: {
        Connection: "Upgrade",
        Upgrade: "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": Buffer.from("0123456789abcdef").toString("base64"),
        ...headers,
      },
    });
    req.on("upgrade", () => reject(new Error("server upgraded (101) a request it should have refused")));
    req.on("response", (res) => {
      let body = "";
      res.on("data", (c) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, retryAfter: res.headers["retry-after"] }));
    });
    req.on("error", reject);
    req.end();
  });
}

async function until(cond: () => boolean, ms = 3000) {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("upgrade checks", () => {
  test("a missing or wrong token gets 401 with an error envelope, before any 101", async () => {
    const { port } = await serve(fakeEngine().engine);
    const none = await upgradeStatus(port, "/v1/runtimes/rt/exec/stream", {});
    expect(none.status).toBe(401);
    expect(JSON.parse(none.body).error.code).toBe("unauthenticated");
    // The REST envelope, from the same mapping: a request id to find in the daemon log.
    expect(JSON.parse(none.body).request_id).toMatch(/^req_/);
    const wrong = await upgradeStatus(port, "/v1/runtimes/rt/exec/stream", { Authorization: "Bearer nope" });
    expect(wrong.status).toBe(401);
    expect(wrong.body).not.toContain(TOKEN);
  });

  test("a foreign Origin gets 403 even with the right token", async () => {
    const { port } = await serve(fakeEngine().engine);
    const r = await upgradeStatus(port, "/v1/runtimes/rt/exec/stream", { Authorization: `Bearer ${TOKEN}`, Origin: "http://evil.example" });
    expect(r.status).toBe(403);
    expect(JSON.parse(r.body).error.code).toBe("permission_denied");
  });

  test("an unknown websocket path gets 404", async () => {
    const { port } = await serve(fakeEngine().engine);
    expect((await upgradeStatus(port, "/v1/runtimes/rt/shell", { Authorization: `Bearer ${TOKEN}` })).status).toBe(404);
  });

  test("an upgrade to an unknown runtime gets 404 before any 101", async () => {
    const { port } = await serve(fakeEngine().engine);
    const r = await upgradeStatus(port, "/v1/runtimes/missing/exec/stream", { Authorization: `Bearer ${TOKEN}` });
    expect(r.status).toBe(404);
    expect(JSON.parse(r.body).error.code).toBe("not_found");
  });

  test("sessions beyond the cap get 429 with Retry-After and the cap frees up when one ends", async () => {
    const { engine } = fakeEngine();
    const { url, port } = await serve(engine, { maxSessions: 1 });
    const a = await connect(url("rt"));
    const r = await upgradeStatus(port, "/v1/runtimes/rt/exec/stream", { Authorization: `Bearer ${TOKEN}` });
    expect(r.status).toBe(429);
    expect(r.retryAfter).toBe("1");
    expect(JSON.parse(r.body).error.code).toBe("resource_exhausted");
    a.ws.close();
    await a.closed;
    await new Promise((r) => setTimeout(r, 50));
    const b = await connect(url("rt"));
    b.ws.close();
  });
});

describe("session", () => {
  test("relays start, typed-ahead stdin, resize, signal and EOF to the process, output and exit back", async () => {
    const { engine, procs } = fakeEngine({ delayMs: 50 });
    const { url } = await serve(engine);
    const c = await connect(url("rt"));
    c.send({ type: "start", command: ["cat"], tty: true, rows: 40, cols: 132, env: { A: "1" } });
    c.send({ type: "stdin", data_base64: Buffer.from([0, 255, 10]).toString("base64") });
    c.send({ type: "resize", rows: 50, cols: 160 });
    c.send({ type: "signal", signal: "INT" });
    c.send({ type: "close_stdin" });
    await until(() => procs.length === 1 && procs[0].stdinClosed);
    const p = procs[0];
    // Passed through as sent: TERM for a tty is the engine spec builder's default (engine-spec.test.ts).
    expect(p.spec).toEqual({ argv: ["cat"], cwd: undefined, env: { A: "1" }, tty: true, rows: 40, cols: 132 });
    expect(Buffer.concat(p.stdin)).toEqual(Buffer.from([0, 255, 10]));
    expect(p.resizes).toEqual([[50, 160]]);
    expect(p.signals).toEqual(["INT"]);
    p.stdout(Buffer.from([1, 2, 3]));
    p.stderr("oops");
    p.exit(3);
    expect(await c.closed).toMatchObject({ code: 1000 });
    expect(c.frames).toEqual([
      { type: "stdout", data_base64: Buffer.from([1, 2, 3]).toString("base64") },
      { type: "stderr", data_base64: Buffer.from("oops").toString("base64") },
      { type: "exit", code: 3, signal: null, oom_killed: false },
    ]);
    expect(p.hangups).toBe(0);
  });

  test("a first frame that is not a valid start is an invalid_argument error frame, then close", async () => {
    const { engine, procs } = fakeEngine();
    const { url } = await serve(engine);
    const c = await connect(url("rt"));
    c.send({ type: "stdin", data_base64: "" });
    await c.closed;
    expect(c.frames).toEqual([{ type: "error", code: "invalid_argument", message: "the first frame must be 'start', got 'stdin'" }]);

    const d = await connect(url("rt"));
    d.send({ type: "start", command: [], rows: 0 });
    await d.closed;
    expect(d.frames[0]).toMatchObject({ type: "error", code: "invalid_argument" });
    expect((d.frames[0] as { message: string }).message).toMatch(/^invalid frame: command/);

    const e = await connect(url("rt"));
    e.ws.send("not json");
    await e.closed;
    expect(e.frames[0]).toMatchObject({ type: "error", code: "invalid_argument" });

    // The argv cap of buffered exec holds for a streamed command's args too.
    const f = await connect(url("rt"));
    f.send({ type: "start", command: "echo", args: Array.from({ length: LIMITS.execArgvMaxEntries + 1 }, () => "x") });
    await f.closed;
    expect(f.frames[0]).toMatchObject({ type: "error", code: "invalid_argument", message: expect.stringMatching(/^invalid frame: args/) });
    expect(procs).toHaveLength(0);
  });

  test("exec on a paused runtime is a failed_precondition error frame with the fix, closed normally", async () => {
    const { url } = await serve(fakeEngine().engine);
    const c = await connect(url("paused"));
    c.send({ type: "start", command: "sh" });
    expect((await c.closed).code).toBe(1000);
    expect(c.frames).toEqual([{ type: "error", code: "failed_precondition", message: "runtime 'paused' is paused; run 'runta resume paused' first" }]);
  });

  test("an unexpected engine failure is an internal error frame without internals, closed with 1011", async () => {
    const { url } = await serve(fakeEngine().engine);
    const c = await connect(url("broken"));
    c.send({ type: "start", command: "sh" });
    expect((await c.closed).code).toBe(1011);
    expect(c.frames[0]).toMatchObject({ type: "error", code: "internal" });
    expect(JSON.stringify(c.frames)).not.toContain("EIO");
  });

  test("a string command without args runs through sh -c; with args it is the argv head", () => {
    expect(startSpec({ type: "start", command: "echo $HOME" }).argv).toEqual(["sh", "-c", "echo $HOME"]);
    expect(startSpec({ type: "start", command: "echo $HOME", args: [] }).argv).toEqual(["sh", "-c", "echo $HOME"]);
    expect(startSpec({ type: "start", command: "ls", args: ["-l"] }).argv).toEqual(["ls", "-l"]);
    expect(startSpec({ type: "start", command: ["ls"], args: ["-a"] }).argv).toEqual(["ls", "-a"]);
    expect(startSpec({ type: "start", command: "sh", tty: false }).env).toBeUndefined();
    expect(startSpec({ type: "start", command: "sh", tty: true, env: { TERM: "vt100" } }).env).toEqual({ TERM: "vt100" });
  });

  test("two sessions on one runtime are independent", async () => {
    const { engine, procs } = fakeEngine();
    const { url } = await serve(engine);
    const a = await connect(url("rt"));
    const b = await connect(url("rt"));
    a.send({ type: "start", command: "a" });
    b.send({ type: "start", command: "b" });
    await until(() => procs.length === 2);
    const pa = procs.find((p) => p.spec.argv[2] === "a")!;
    const pb = procs.find((p) => p.spec.argv[2] === "b")!;
    a.ws.terminate();
    await until(() => pa.hangups === 1);
    pb.stdout("still here");
    pb.exit(0);
    await b.closed;
    expect(b.frames.map((f) => f.type)).toEqual(["stdout", "exit"]);
    expect(pb.hangups).toBe(0);
  });
});

describe("lifetime", () => {
  test("a client whose TCP connection vanishes without a close frame gets its process hung up", async () => {
    const { engine, procs } = fakeEngine();
    const { url } = await serve(engine);
    const c = await connect(url("rt"));
    c.send({ type: "start", command: "sh", tty: true });
    await until(() => procs.length === 1);
    (c.ws as unknown as { _socket: import("node:net").Socket })._socket.destroy();
    await until(() => procs[0].hangups === 1);
  });

  test("a peer that stops answering pings is dropped after two missed heartbeats and its process hung up", async () => {
    const { engine, procs } = fakeEngine();
    const { url } = await serve(engine, { heartbeatMs: 100 });
    const c = await connect(url("rt"));
    c.send({ type: "start", command: "sh", tty: true });
    await until(() => procs.length === 1);
    // A frozen peer: its socket stays open but it reads nothing, so it never answers a ping.
    (c.ws as unknown as { _socket: import("node:net").Socket })._socket.pause();
    const t0 = Date.now();
    await until(() => procs[0].hangups === 1, 2000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150);
  });

  test("a live peer survives many heartbeats", async () => {
    const { engine, procs } = fakeEngine();
    const { url } = await serve(engine, { heartbeatMs: 50 });
    const c = await connect(url("rt"));
    c.send({ type: "start", command: "sh" });
    await until(() => procs.length === 1);
    await new Promise((r) => setTimeout(r, 400));
    expect(procs[0].hangups).toBe(0);
    procs[0].exit(0);
    await c.closed;
  });

  test("closeAll closes every session with 1001, hangs the processes up and refuses new sessions", async () => {
    const { engine, procs } = fakeEngine();
    const { url, ctl, port } = await serve(engine);
    const a = await connect(url("rt"));
    a.send({ type: "start", command: "sh" });
    await until(() => procs.length === 1);
    expect(ctl.sessionCount).toBe(1);
    ctl.closeAll(1001, "daemon shutting down");
    expect(await a.closed).toEqual({ code: 1001, reason: "daemon shutting down" });
    await until(() => procs[0].hangups === 1);
    expect((await upgradeStatus(port, "/v1/runtimes/rt/exec/stream", { Authorization: `Bearer ${TOKEN}` })).status).toBe(503);
  });

  test("a frame larger than maxPayload closes the session (1009) and hangs the process up", async () => {
    const { engine, procs } = fakeEngine();
    const { url } = await serve(engine);
    const c = await connect(url("rt"));
    c.send({ type: "start", command: "sh" });
    await until(() => procs.length === 1);
    c.send({ type: "stdin", data_base64: "A".repeat(2 * 1024 * 1024) });
    expect((await c.closed).code).toBe(1009);
    await until(() => procs[0].hangups === 1);
  });

  test("stdin the command does not take stops the socket being read (no daemon memory growth), without counting as a dead peer", async () => {
    const { engine, procs } = fakeEngine();
    const { url } = await serve(engine, { heartbeatMs: 30 });
    const c = await connect(url("rt"));
    c.send({ type: "start", command: "sleep 100" });
    await until(() => procs.length === 1);
    const p = procs[0];
    const chunk = Buffer.alloc(512 * 1024, 0x61).toString("base64");
    for (let i = 0; i < 40; i++) c.send({ type: "stdin", data_base64: chunk });
    // 20 MiB sent; the session stops reading a little past the 1 MiB high-water mark and stays so, pings unanswered
    // (13 heartbeats in 400 ms). Waiting for the mark first keeps this true on a machine too loaded to get there soon.
    const taken = () => p.stdin.reduce((n, b) => n + b.length, 0);
    await until(() => taken() > 1024 * 1024, 10_000);
    await new Promise((r) => setTimeout(r, 400));
    expect(taken()).toBeLessThan(4 * 1024 * 1024);
    expect(p.hangups).toBe(0);
    // The command reads its input: the rest flows in, in order, and the session is still alive.
    const drain = setInterval(() => (p.backlog = 0), 5);
    await until(() => taken() === 40 * 512 * 1024, 10_000).finally(() => clearInterval(drain));
    expect(p.hangups).toBe(0);
    p.exit(0);
    expect((await c.closed).code).toBe(1000);
  });

  test("a client that does not read makes the session pause a pausable process, and resume it once drained", async () => {
    const { engine, procs } = fakeEngine();
    const { url } = await serve(engine);
    const c = await connect(url("rt"));
    c.send({ type: "start", command: "yes" });
    await until(() => procs.length === 1);
    const p = procs[0];
    const socket = (c.ws as unknown as { _socket: import("node:net").Socket })._socket;
    socket.pause();
    const chunk = Buffer.alloc(64 * 1024, 0x79);
    // Keep producing, as a real process would until paused, while the client reads nothing.
    for (let i = 0; i < 2000 && !p.paused; i++) {
      p.stdout(chunk);
      if (i % 16 === 0) await new Promise((r) => setTimeout(r, 1));
    }
    expect(p.pauses).toBe(1);
    socket.resume();
    await until(() => !p.paused, 10_000);
    expect(p.resumes).toBe(1);
    p.exit(0);
    await c.closed;
  });
});
