/**
 * API contract tests: the real HTTP server on port 0 over the in-memory FakeEngine, driven through the SDK and raw
 * HTTP (raw so tests control Host, Origin, Content-Type and malformed bodies exactly).
 */
import { request as httpRequest } from "node:http";
import { connect } from "node:net";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, beforeEach, describe, expect, test } from "vitest";
import { ERROR_CODES, LIMITS, RuntaError, type ErrorCode } from "../../src/api/index.js";
import { createApiServer, type ApiServer } from "../../src/server/app.js";
import { attachExecStream } from "../../src/server/exec-stream.js";
import { runtaVersion } from "../../src/server/version.js";
import {
  AlreadyExistsError,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  Runta,
  RuntaApiError,
  UnauthenticatedError,
} from "../../src/client/index.js";
import type { Engine } from "../../src/engine/types.js";
import { FakeEngine } from "../helpers/fake-engine.js";

const TOKEN = "t0ken-for-contract-tests-0123456789abcdef";
let engine: FakeEngine;
let api: ApiServer;
let endpoint: string;
let port: number;
let runta: Runta;

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

/** One HTTP request with full control over headers and body (no connection reuse). */
function raw(method: string, path: string, opts: { headers?: Record<string, string>; body?: string | Buffer; auth?: boolean; chunked?: boolean } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { Host: `127.0.0.1:${port}`, ...opts.headers };
    if (opts.auth !== false && !("Authorization" in headers)) headers.Authorization = `Bearer ${TOKEN}`;
    if (opts.body !== undefined && !opts.chunked) headers["Content-Length"] = String(Buffer.byteLength(opts.body));
    const req = httpRequest({ host: "127.0.0.1", port, method, path, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on("error", reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

const sendJson = (method: string, path: string, body: unknown, headers: Record<string, string> = {}) =>
  raw(method, path, { body: typeof body === "string" ? body : JSON.stringify(body), headers: { "Content-Type": "application/json", ...headers } });
const postJson = (path: string, body: unknown, headers: Record<string, string> = {}) => sendJson("POST", path, body, headers);

function expectError(res: RawResponse, status: number, code: ErrorCode): void {
  expect(res.status).toBe(status);
  expect(res.json.error.code).toBe(code);
  expect(typeof res.json.error.message).toBe("string");
  expect(res.json.request_id).toBe(res.headers["x-request-id"]);
  expect(res.text).not.toMatch(/\n\s+at |Unexpected token|SyntaxError|ZodError/);
}

const createBody = (name: string, extra: Record<string, unknown> = {}) => ({ name, resources: { requests: { vcpus: 1, memory_mib: 256 } }, ...extra });

beforeAll(async () => {
  engine = new FakeEngine();
  api = createApiServer({ engine, token: TOKEN, attachStreams: attachExecStream });
  endpoint = await api.listen("127.0.0.1", 0);
  port = Number(new URL(endpoint).port);
  runta = new Runta({ endpoint, token: TOKEN });
});

afterAll(async () => {
  await api.close(1000);
});

beforeEach(async () => {
  for (const rt of await runta.runtimes.list()) await rt.delete();
});

describe("envelope, request ids, health, version, openapi", () => {
  test("health needs no token and answers {data:{status:ok}} with a request id", async () => {
    const res = await raw("GET", "/v1/health", { auth: false });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ data: { status: "ok" } });
    expect(res.headers["x-request-id"]).toMatch(/^req_/);
    expect(await runta.ping()).toBe(true);
  });

  test("every response carries a distinct request id", async () => {
    const a = await raw("GET", "/v1/runtimes");
    const b = await raw("GET", "/v1/nope");
    expect(a.headers["x-request-id"]).toBeTruthy();
    expect(b.headers["x-request-id"]).toBeTruthy();
    expect(a.headers["x-request-id"]).not.toBe(b.headers["x-request-id"]);
  });

  test("version reports runta from package.json, runc, kernel, node and api v1", async () => {
    const v = await runta.version();
    expect(v).toEqual({ runta: runtaVersion(), runc: "1.1.5-fake", kernel: expect.any(String), node: process.versions.node, api: "v1" });
    expect(v.runta).toMatch(/^\d+\.\d+\.\d+/);
  });

  test("openapi.json describes every route with schemas generated from src/api", async () => {
    const res = await raw("GET", "/v1/openapi.json");
    expect(res.status).toBe(200);
    const doc = res.json;
    expect(doc.openapi).toBe("3.1.0");
    for (const p of ["/v1/runtimes", "/v1/runtimes/{rt}", "/v1/runtimes/{rt}/exec", "/v1/runtimes/{rt}/stop", "/v1/images/build", "/v1/health", "/v1/version"]) {
      expect(doc.paths[p], p).toBeDefined();
    }
    const create = doc.components.schemas.CreateRuntimeRequest;
    expect(create.additionalProperties).toBe(false);
    expect(create.properties.resources.properties.requests.properties.memory_mib.maximum).toBe(LIMITS.memoryMibMax);
    expect(doc.components.schemas.ErrorEnvelope.properties.request_id).toBeDefined();
  });

  test("unknown routes are 404, wrong methods 405 with Allow, malformed escapes 400", async () => {
    expectError(await raw("GET", "/v1/nope"), 404, "not_found");
    expectError(await raw("GET", "/v1/runtimes/%E0%A4%A"), 400, "invalid_argument");
    const plain = await raw("GET", "/v1/runtimes/x/exec/stream");
    expectError(plain, 426, "invalid_argument");
    expect(plain.json.error.message).toMatch(/websocket/);
    const res = await raw("PUT", "/v1/runtimes");
    expectError(res, 405, "invalid_argument");
    expect(res.headers.allow).toContain("GET");
  });
});

describe("auth and DNS-rebinding guards", () => {
  test("a missing token is 401 with WWW-Authenticate: Bearer", async () => {
    const res = await raw("GET", "/v1/runtimes", { auth: false });
    expectError(res, 401, "unauthenticated");
    expect(res.headers["www-authenticate"]).toMatch(/^Bearer/);
    expect(res.json.error.message).toMatch(/Authorization: Bearer/);
  });

  test("a wrong token (shorter, longer, same length, other scheme) is 401 and never echoed", async () => {
    for (const auth of ["Bearer x", `Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}X`, `Basic ${TOKEN}`]) {
      const res = await raw("GET", "/v1/version", { headers: { Authorization: auth } });
      expectError(res, 401, "unauthenticated");
      expect(res.text).not.toContain(TOKEN.slice(0, 10));
    }
    await expect(new Runta({ endpoint, token: "nope" }).runtimes.list()).rejects.toBeInstanceOf(UnauthenticatedError);
  });

  test("unknown routes need the token too (no route discovery)", async () => {
    expectError(await raw("GET", "/v1/secret", { auth: false }), 401, "unauthenticated");
  });

  test("Host must be a loopback name with our port", async () => {
    for (const host of ["evil.example:" + port, `127.0.0.1:${port + 1}`, "127.0.0.1", "localhost.evil.com:" + port]) {
      const res = await raw("GET", "/v1/health", { headers: { Host: host }, auth: false });
      expectError(res, 403, "permission_denied");
    }
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`]) {
      expect((await raw("GET", "/v1/health", { headers: { Host: host } })).status).toBe(200);
    }
  });

  test("Origin, when present, must be loopback", async () => {
    expectError(await raw("GET", "/v1/runtimes", { headers: { Origin: "http://evil.example" } }), 403, "permission_denied");
    expectError(await raw("GET", "/v1/runtimes", { headers: { Origin: "null" } }), 403, "permission_denied");
    expect((await raw("GET", "/v1/runtimes", { headers: { Origin: `http://localhost:${port}` } })).status).toBe(200);
  });

  test("a websocket upgrade with a bad token gets 401 before any 101", async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest({
        host: "127.0.0.1",
        port,
        path: "/v1/runtimes/x/exec/stream",
        agent: false,
        headers: {
          Host: `127.0.0.1:${port}`,
          Connection: "Upgrade",
          Upgrade: "websocket",
          "Sec-WebSocket-Version": "13",
          "Sec-WebSocket-Key": Buffer.from("0123456789abcdef").toString("base64"),
          Authorization: "Bearer wrong",
        },
      });
      req.on("upgrade", () => resolve(101));
      req.on("response", (res) => resolve(res.statusCode ?? 0));
      req.on("error", reject);
      req.end();
    });
    expect(status).toBe(401);
  });
});

describe("request bodies", () => {
  test("bad JSON is 400 with a plain message and no parser text", async () => {
    const res = await postJson("/v1/runtimes", '{"name": "a",');
    expectError(res, 400, "invalid_argument");
    expect(res.json.error.message).toBe("request body is not valid JSON");
  });

  test("a non-JSON content type is 415", async () => {
    const res = await raw("POST", "/v1/runtimes", { body: "name=a", headers: { "Content-Type": "application/x-www-form-urlencoded" } });
    expectError(res, 415, "invalid_argument");
    expect(res.json.error.message).toMatch(/application\/json/);
  });

  test("a body over the limit is 413 resource_exhausted", async () => {
    const big = JSON.stringify({ name: "big", labels: { a: "x".repeat(LIMITS.requestBodyMaxBytes) } });
    const res = await postJson("/v1/runtimes", big);
    expectError(res, 413, "resource_exhausted");
    expect(res.json.error.details.limit_bytes).toBe(LIMITS.requestBodyMaxBytes);
    // Without a Content-Length the limit is enforced while reading.
    const chunked = await raw("POST", "/v1/runtimes", { body: big, chunked: true, headers: { "Content-Type": "application/json" } });
    expectError(chunked, 413, "resource_exhausted");
  });

  test("a missing body on create is 400", async () => {
    expectError(await raw("POST", "/v1/runtimes"), 400, "invalid_argument");
  });

  test("unknown fields are rejected naming the field", async () => {
    const res = await postJson("/v1/runtimes", { ...createBody("a"), colour: "red" });
    expectError(res, 400, "invalid_argument");
    expect(res.json.error.message).toContain("colour");
    const nested = await postJson("/v1/runtimes", { name: "a", resources: { requests: { cpus: 1 } } });
    expectError(nested, 400, "invalid_argument");
    expect(nested.json.error.message).toContain("resources.requests.cpus");
  });

  test("wrong types are 400 naming the field", async () => {
    const res = await postJson("/v1/runtimes", { name: "a", resources: { requests: { vcpus: "2" } } });
    expectError(res, 400, "invalid_argument");
    expect(res.json.error.message).toMatch(/^resources\.requests\.vcpus: must be of type number/);
    expect(res.json.error.details.field).toBe("resources.requests.vcpus");
  });

  test("a well-formed value out of range is 422 naming the field and the range", async () => {
    const res = await postJson("/v1/runtimes", { name: "a", resources: { requests: { vcpus: 100 } } });
    expectError(res, 422, "invalid_argument");
    expect(res.json.error.message).toBe(`resources.requests.vcpus: must be between ${LIMITS.vcpusMin} and ${LIMITS.vcpusMax}`);
    const mem = await postJson("/v1/runtimes", { name: "a", resources: { requests: { memory_mib: 8 } } });
    expectError(mem, 422, "invalid_argument");
    expect(mem.json.error.message).toContain(`${LIMITS.memoryMibMin} and ${LIMITS.memoryMibMax} MiB`);
    const frac = await postJson("/v1/runtimes", { name: "a", resources: { requests: { memory_mib: 100.5 } } });
    expectError(frac, 422, "invalid_argument");
    expect(frac.json.error.message).toContain("whole number");
  });

  test("an invalid name is 400 naming the field and the rule", async () => {
    const err = await runta.runtimes.create("-bad name").catch((e) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err.status).toBe(400);
    expect(err.message).toMatch(/^name: must start with a letter or digit/);
    expect(err.requestId).toMatch(/^req_/);
  });
});

describe("runtimes", () => {
  test("create waits until running, returns 201 and the record; the SDK handle exposes cachedInfo.status", async () => {
    const res = await postJson("/v1/runtimes", createBody("w1", { env: { A: "1" }, labels: { team: "x" } }));
    expect(res.status).toBe(201);
    expect(res.json.data).toMatchObject({ name: "w1", status: "running", resources: { requests: { vcpus: 1, memory_mib: 256 } }, env_names: ["A"], labels: { team: "x" } });
    const h = await runta.runtimes.create("w2", { vcpus: 0.5, memoryMiB: 512 });
    expect(h.cachedInfo.status).toBe("running");
    expect(h.info.resources.requests).toEqual({ vcpus: 0.5, memory_mib: 512 });
    expect(engine.creates.at(-1)).toMatchObject({ name: "w2", vcpus: 0.5, memoryMib: 512 });
  });

  test("wait=false returns at creating; bad wait values are 400 naming query.wait", async () => {
    const h = await runta.runtimes.create("lazy", { wait: false });
    expect(h.cachedInfo.status).toBe("creating");
    await new Promise((r) => setTimeout(r, 50));
    expect((await h.refresh()).status).toBe("running");
    const res = await postJson("/v1/runtimes?wait=maybe", createBody("x"));
    expectError(res, 400, "invalid_argument");
    expect(res.json.error.message).toMatch(/^query\.wait/);
  });

  test("get carries current usage; usage=false is the record alone (the SDK's cheap lookup); bad values are 400", async () => {
    await runta.runtimes.create("looked-up");
    expect((await raw("GET", "/v1/runtimes/looked-up")).json.data.usage).toMatchObject({ pids: 1 });
    expect((await raw("GET", "/v1/runtimes/looked-up?usage=false")).json.data.usage).toBeUndefined();
    expect((await runta.runtimes.get("looked-up", { usage: false })).info.usage).toBeUndefined();
    const res = await raw("GET", "/v1/runtimes/looked-up?usage=no");
    expectError(res, 400, "invalid_argument");
    expect(res.json.error.message).toMatch(/^query\.usage/);
  });

  test("list carries usage only when asked (usage=true), and null for a runtime that is not running", async () => {
    await runta.runtimes.create("listed-live");
    await runta.runtimes.create("listed-down");
    await runta.runtimes.stop("listed-down");
    const find = (items: { name: string; usage?: unknown }[], name: string) => items.find((r) => r.name === name)!;
    const plain = (await raw("GET", "/v1/runtimes?limit=1000")).json.data;
    expect(find(plain, "listed-live").usage).toBeUndefined();
    const withUsage = (await raw("GET", "/v1/runtimes?limit=1000&usage=true")).json.data;
    expect(find(withUsage, "listed-live").usage).toMatchObject({ pids: 1, memory_limit_bytes: 1024 * 1024 * 1024 });
    expect(find(withUsage, "listed-down").usage).toBeNull();
    expectError(await raw("GET", "/v1/runtimes?usage=yes"), 400, "invalid_argument");
  });

  test("a taken name is 409 already_exists", async () => {
    await runta.runtimes.create("dup");
    const err = await runta.runtimes.create("dup").catch((e) => e);
    expect(err).toBeInstanceOf(AlreadyExistsError);
    expect(err.status).toBe(409);
  });

  test("Idempotency-Key: same key + same body (any key order) is the same runtime; other body is 409", async () => {
    const body = createBody("idem", { labels: { a: "1", b: "2" } });
    const first = await postJson("/v1/runtimes", body, { "Idempotency-Key": "k1" });
    const reordered = { resources: body.resources, labels: { b: "2", a: "1" }, name: "idem" };
    const again = await postJson("/v1/runtimes", reordered, { "Idempotency-Key": "k1" });
    expect(first.status).toBe(201);
    expect(again.status).toBe(200); // "already existed", as seed 002 answers
    expect(again.json.data.id).toBe(first.json.data.id);
    expectError(await postJson("/v1/runtimes", createBody("idem2"), { "Idempotency-Key": "k1" }), 409, "already_exists");
    expectError(await postJson("/v1/runtimes", createBody("idem3"), { "Idempotency-Key": "k".repeat(256) }), 400, "invalid_argument");
    const sdk = await runta.runtimes.create("idem", { idempotencyKey: "k2" }).catch((e) => e);
    expect(sdk).toBeInstanceOf(AlreadyExistsError);
  });

  test("list paginates with cursors and filters by status; the SDK follows cursors", async () => {
    for (const n of ["p1", "p2", "p3", "p4", "p5"]) await runta.runtimes.create(n);
    await runta.runtimes.pause("p2");
    await runta.runtimes.stop("p4");
    const page1 = await raw("GET", "/v1/runtimes?limit=2");
    expect(page1.json.data.map((r: { name: string }) => r.name)).toEqual(["p1", "p2"]);
    expect(page1.json.pagination).toEqual({ next_cursor: expect.any(String), has_more: true });
    const page3 = await raw("GET", `/v1/runtimes?limit=2&after=${page1.json.pagination.next_cursor}`);
    expect(page3.json.data.map((r: { name: string }) => r.name)).toEqual(["p3", "p4"]);
    const all = await runta.runtimes.list();
    expect(all.map((r) => r.name)).toEqual(["p1", "p2", "p3", "p4", "p5"]);
    const one = await runta.runtimes.list({ limit: 2 });
    expect(one).toHaveLength(2);
    const filtered = await runta.runtimes.list({ status: ["paused", "shutdown"] });
    expect(filtered.map((r) => [r.name, r.cachedInfo.status])).toEqual([
      ["p2", "paused"],
      ["p4", "shutdown"],
    ]);
    const bad = await raw("GET", "/v1/runtimes?status=sleeping");
    expectError(bad, 400, "invalid_argument");
    expect(bad.json.error.message).toMatch(/^query\.status/);
    expectError(await raw("GET", "/v1/runtimes?limit=0"), 422, "invalid_argument");
    expectError(await raw("GET", "/v1/runtimes?colour=red"), 400, "invalid_argument");
  });

  test("get accepts a name or an id and includes usage; unknown is 404", async () => {
    const h = await runta.runtimes.create("g1");
    const byName = await raw("GET", "/v1/runtimes/g1");
    const byId = await raw("GET", `/v1/runtimes/${h.id}`);
    expect(byName.json.data.id).toBe(h.id);
    expect(byId.json.data.name).toBe("g1");
    expect(byId.json.data.usage).toMatchObject({ memory_bytes: expect.any(Number), memory_limit_bytes: 1024 * 1024 * 1024 });
    const err = await runta.runtimes.get("ghost").catch((e) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect(err.status).toBe(404);
  });

  test("PATCH resizes live and validates", async () => {
    const h = await runta.runtimes.create("r1");
    const after = await h.resizeMemory(2048);
    expect(after.resources.requests.memory_mib).toBe(2048);
    expect(h.info.resources.requests.memory_mib).toBe(2048);
    expect((await h.resize({ vcpus: 2 })).resources.requests).toEqual({ vcpus: 2, memory_mib: 2048 });
    const empty = await raw("PATCH", "/v1/runtimes/r1", { body: JSON.stringify({ resources: { requests: {} } }), headers: { "Content-Type": "application/json" } });
    expectError(empty, 400, "invalid_argument");
    expect(empty.json.error.message).toContain("memory_mib, vcpus, disk_size_gib or several");
    const tooMuch = await runta.runtimes.resize("r1", { vcpus: 9 }).catch((e) => e);
    expect(tooMuch).toBeInstanceOf(InvalidArgumentError);
    expect(tooMuch.status).toBe(422);
  });

  test("PATCH changes the description in any status, alone or with a resize; create takes one", async () => {
    const h = await runta.runtimes.create("described", { description: "first" });
    expect(h.info.description).toBe("first");
    await h.stop();
    expect((await h.update({ description: "second" })).description).toBe("second");
    expect((await runta.runtimes.get("described")).info.description).toBe("second");
    const both = await raw("PATCH", "/v1/runtimes/described", {
      body: JSON.stringify({ resources: { requests: { memory_mib: 512 } }, description: "" }),
      headers: { "Content-Type": "application/json" },
    });
    expect(both.status).toBe(200);
    expect(both.json.data).toMatchObject({ description: "", resources: { requests: { memory_mib: 512 } } });
    const none = await raw("PATCH", "/v1/runtimes/described", { body: "{}", headers: { "Content-Type": "application/json" } });
    expectError(none, 400, "invalid_argument");
    expect(none.json.error.message).toContain("give name, resources, description, idle_timeout_secs or several");
    const renamed = await raw("PATCH", "/v1/runtimes/described", { body: JSON.stringify({ name: "described2", description: "renamed" }), headers: { "Content-Type": "application/json" } });
    expect(renamed.json.data).toMatchObject({ name: "described2", description: "renamed" });
  });

  test("lifecycle: pause, resume, stop, start; no-ops succeed; impossible transitions are 409 naming the status", async () => {
    const h = await runta.runtimes.create("life");
    expect((await h.pause()).status).toBe("paused");
    expect((await h.pause()).status).toBe("paused");
    const execPaused = await h.exec("true").catch((e) => e);
    expect(execPaused).toBeInstanceOf(FailedPreconditionError);
    expect(execPaused.status).toBe(409);
    expect(execPaused.message).toMatch(/paused.*resume/);
    expect((await h.resume()).status).toBe("running");
    expect((await h.stop()).status).toBe("shutdown");
    expect(h.cachedInfo.status).toBe("shutdown");
    expect((await raw("POST", "/v1/runtimes/life/pause")).json.error.message).toMatch(/shutdown/);
    expect((await h.start()).status).toBe("running");
    const withBody = await postJson("/v1/runtimes/life/stop", {});
    expect(withBody.json.data.status).toBe("shutdown");
    await h.start();
    expect((await runta.runtimes.stop("life", { graceSecs: 30 })).status).toBe("shutdown");
    expect(engine.stopGraces.slice(-2)).toEqual([undefined, 30]);
    expectError(await postJson("/v1/runtimes/life/stop", { grace_secs: -1 }), 422, "invalid_argument");
    expectError(await postJson("/v1/runtimes/life/stop", { grace_secs: 3601 }), 422, "invalid_argument");
    expectError(await postJson("/v1/runtimes/life/start", { now: true }), 400, "invalid_argument");
  });

  test("PATCH renames (name unique, id kept), resizes, or both; an empty body or a bad name is refused", async () => {
    const h = await runta.runtimes.create("before");
    await runta.runtimes.create("other");
    const renamed = await runta.runtimes.rename("before", "after");
    expect(renamed).toMatchObject({ id: h.id, name: "after" });
    expectError(await raw("GET", "/v1/runtimes/before"), 404, "not_found");
    expect((await runta.runtimes.rename("after", "other").catch((e: unknown) => e)) as object).toMatchObject({ code: "already_exists" });
    const both = await sendJson("PATCH", `/v1/runtimes/${h.id}`, { name: "both", resources: { requests: { memory_mib: 512 } } });
    expect(both.json.data).toMatchObject({ id: h.id, name: "both", resources: { requests: { memory_mib: 512 } } });
    expectError(await sendJson("PATCH", `/v1/runtimes/${h.id}`, {}), 400, "invalid_argument");
    expectError(await sendJson("PATCH", `/v1/runtimes/${h.id}`, { name: "bad name" }), 400, "invalid_argument");
  });

  test("delete returns the last record, then the runtime is 404", async () => {
    const h = await runta.runtimes.create("gone");
    const res = await raw("DELETE", `/v1/runtimes/${h.id}`);
    expect(res.status).toBe(200);
    expect(res.json.data.id).toBe(h.id);
    expectError(await raw("GET", "/v1/runtimes/gone"), 404, "not_found");
    expectError(await raw("DELETE", "/v1/runtimes/gone"), 404, "not_found");
  });
});

describe("exec", () => {
  test("a string command without args runs through sh -c; argv and args run as is", async () => {
    await runta.runtimes.create("ex");
    await runta.runtimes.exec("ex", "echo hi | wc -c");
    expect(engine.execs.at(-1)!.spec.argv).toEqual(["sh", "-c", "echo hi | wc -c"]);
    // An empty args list is no args: the same rule as the exec stream (src/api/command.ts).
    await postJson("/v1/runtimes/ex/exec", { command: "echo hi | wc -c", args: [] });
    expect(engine.execs.at(-1)!.spec.argv).toEqual(["sh", "-c", "echo hi | wc -c"]);
    await postJson("/v1/runtimes/ex/exec", { command: "ls", args: ["-l", "/"] });
    expect(engine.execs.at(-1)!.spec.argv).toEqual(["ls", "-l", "/"]);
    await postJson("/v1/runtimes/ex/exec", { command: ["sh", "-lc"], args: ["pwd"] });
    expect(engine.execs.at(-1)!.spec.argv).toEqual(["sh", "-lc", "pwd"]);
  });

  test("options are forwarded and the SDK returns stdoutText/stderrText", async () => {
    const h = await runta.runtimes.create("ex2");
    const out = await h.exec(["cat"], { timeoutSecs: 30, env: { APP_ENV: "dev" }, cwd: "/tmp", stdin: "input", maxOutputBytes: 1000 });
    expect(engine.execs.at(-1)!.spec).toEqual({
      argv: ["cat"],
      cwd: "/tmp",
      env: { APP_ENV: "dev" },
      stdin: Buffer.from("input"),
      timeoutSecs: 30,
      maxOutputBytes: 1000,
      signal: expect.any(AbortSignal),
      user: undefined,
      outputEncoding: "base64",
    });
    expect(out.exit_code).toBe(0);
    expect(out.stdoutText).toBe("cat\ninput");
    expect(out.stderrText).toBe("");
    expect(JSON.parse(JSON.stringify(out))).not.toHaveProperty("stdoutText");
    expect((await h.exec("exit 3")).exit_code).toBe(3);
  });

  test("exec validation names the field and range", async () => {
    await runta.runtimes.create("ex3");
    const t = await postJson("/v1/runtimes/ex3/exec", { command: "true", timeout_secs: 99999 });
    expectError(t, 422, "invalid_argument");
    expect(t.json.error.message).toBe(`timeout_secs: must be between 0 and ${LIMITS.execTimeoutSecsMax}`);
    const cwd = await postJson("/v1/runtimes/ex3/exec", { command: "true", cwd: "relative" });
    expectError(cwd, 400, "invalid_argument");
    expect(cwd.json.error.message).toBe("cwd: must be an absolute path");
    expectError(await postJson("/v1/runtimes/ex3/exec", { command: "" }), 422, "invalid_argument");
    expectError(await postJson("/v1/runtimes/ex3/exec", { args: ["x"] }), 400, "invalid_argument");
    expectError(await postJson("/v1/runtimes/nope/exec", { command: "true" }), 404, "not_found");
  });
});

describe("images", () => {
  test("list, build with NDJSON progress, import (tar and gzip), remove", async () => {
    expect((await runta.images.list()).map((i) => i.name)).toEqual(["default", "busybox"]);
    const events: string[] = [];
    const built = await runta.images.build("default", { force: true, onEvent: (ev) => events.push(ev.type) });
    expect(built.source).toMatch(/debootstrap/);
    expect(events).toEqual(["progress", "progress", "done"]);
    const rawBuild = await postJson("/v1/images/build", {});
    expect(rawBuild.headers["content-type"]).toBe("application/x-ndjson");
    expect(rawBuild.text.trim().split("\n").map((l) => JSON.parse(l).type)).toEqual(["done"]);

    const tar = Buffer.alloc(2048, 1);
    const img = await runta.images.import("plain", tar);
    expect(img).toMatchObject({ name: "plain", size_bytes: 2048 });
    const gz = gzipSync(tar);
    const { Readable } = await import("node:stream");
    const img2 = await runta.images.import("zipped", Readable.from([gz.subarray(0, 10), gz.subarray(10)]));
    expect(img2.size_bytes).toBe(gz.length);
    await runta.images.remove("plain");
    await runta.images.remove("zipped");
    expect(await runta.images.remove("plain").catch((e) => e)).toBeInstanceOf(NotFoundError);
  });

  test("image errors: build failures end the stream with an error line; import checks type and name", async () => {
    const err = await runta.images.build("custom").catch((e) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    const lines = (await postJson("/v1/images/build", { name: "custom" })).text.trim().split("\n");
    expect(JSON.parse(lines.at(-1)!)).toEqual({ type: "error", error: { code: "invalid_argument", message: expect.stringContaining("default") } });
    expectError(await postJson("/v1/images/build", { name: "x", speed: 1 }), 400, "invalid_argument");
    expectError(await raw("POST", "/v1/images/import?name=a", { body: "{}", headers: { "Content-Type": "application/json" } }), 415, "invalid_argument");
    expectError(await raw("POST", "/v1/images/import?name=BAD", { body: "x", headers: { "Content-Type": "application/x-tar" } }), 400, "invalid_argument");
    expectError(await raw("POST", "/v1/images/import", { body: "x", headers: { "Content-Type": "application/x-tar" } }), 400, "invalid_argument");
    // A refused import does not read the rest of its (possibly huge) upload: the connection is closed instead.
    const dup = await raw("POST", "/v1/images/import?name=busybox", { body: "x", headers: { "Content-Type": "application/x-tar", Connection: "keep-alive" } });
    expectError(dup, 409, "already_exists");
    expect(dup.headers.connection).toBe("close");
    await runta.runtimes.create("user", { image: "busybox" });
    expect(await runta.images.remove("busybox").catch((e) => e)).toBeInstanceOf(FailedPreconditionError);
  });
});

describe("connections", () => {
  test("a connection that sends nothing is closed after the idle timeout; a request slower than it still completes", async () => {
    const slow = { version: () => new Promise((r) => setTimeout(() => r({ runc: "1.1.5", kernel: "6.1" }), 800)) } as unknown as Engine;
    const small = createApiServer({ engine: slow, token: TOKEN, idleConnectionMs: 300 });
    const url = await small.listen("127.0.0.1", 0);
    try {
      const started = Date.now();
      const idle = connect(Number(new URL(url).port), "127.0.0.1");
      idle.on("error", () => undefined);
      await new Promise((r) => idle.once("close", r));
      expect(Date.now() - started).toBeLessThan(3000);
      const res = await fetch(`${url}/v1/version`, { headers: { Authorization: `Bearer ${TOKEN}` } });
      expect(res.status).toBe(200);
      expect((await res.json()).data.runc).toBe("1.1.5");
    } finally {
      await small.close(100);
    }
  });

  test("at the cap a newcomer closes the oldest connection without a token at once, and is served", async () => {
    const capped = createApiServer({ engine: new FakeEngine(), token: TOKEN, maxConnections: 2 });
    const url = await capped.listen("127.0.0.1", 0);
    const port = Number(new URL(url).port);
    const open = async () => {
      const s = connect(port, "127.0.0.1");
      s.on("error", () => undefined);
      await new Promise((r) => s.once("connect", r));
      return s;
    };
    try {
      const held = [await open(), await open()];
      const started = Date.now();
      const newcomer = await open();
      // Closed at once, not by the 20 s idle timeout.
      await new Promise((r) => held[0]!.once("close", r));
      expect(Date.now() - started).toBeLessThan(2000);
      expect(held[1]!.destroyed).toBe(false);
      expect(newcomer.destroyed).toBe(false);
      expect((await fetch(`${url}/v1/health`)).status).toBe(200);
      held[1]!.destroy();
      newcomer.destroy();
    } finally {
      await capped.close(100);
    }
  });
});

describe("error mapping", () => {
  test("every error code reaches the SDK as its typed class with the right status", async () => {
    const statuses: Record<string, number> = {};
    for (const code of ERROR_CODES) {
      engine.inject("get", new RuntaError(code, `synthetic ${code}`));
      const err = await new Runta({ endpoint, token: TOKEN, maxRetries: 0 }).runtimes.get("x").catch((e) => e);
      expect(err).toBeInstanceOf(RuntaApiError);
      expect(err.code).toBe(code);
      expect(err.message).toBe(`synthetic ${code}`);
      expect(err.constructor.name).not.toBe("RuntaApiError");
      statuses[code] = err.status;
    }
    expect(statuses).toEqual({
      invalid_argument: 400,
      unauthenticated: 401,
      permission_denied: 403,
      not_found: 404,
      already_exists: 409,
      failed_precondition: 409,
      resource_exhausted: 429,
      deadline_exceeded: 504,
      internal: 500,
      unavailable: 503,
    });
  });

  test("engine status overrides (507) and details pass through", async () => {
    engine.inject("create", new RuntaError("resource_exhausted", "disk full", { httpStatus: 507, details: { free_bytes: 0 } }));
    const res = await postJson("/v1/runtimes", createBody("full"));
    expectError(res, 507, "resource_exhausted");
    expect(res.json.error.details).toEqual({ free_bytes: 0 });
  });

  test("an unexpected error is a generic 500 internal: no message, stack or path leaks", async () => {
    engine.inject("list", new Error("ENOENT: /var/lib/secret/state.db at Object.<anonymous>"));
    const res = await raw("GET", "/v1/runtimes");
    expectError(res, 500, "internal");
    expect(res.text).not.toContain("secret");
    expect(res.text).not.toContain("ENOENT");
    expect(res.json.error.message).toContain(res.json.request_id);
  });
});
