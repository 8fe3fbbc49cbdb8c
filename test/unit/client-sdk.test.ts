/**
 * SDK behaviour that does not need the API server: the error factory, env defaults, retries (only for idempotent
 * requests) and connection failures. Uses an injected fetch or a tiny real HTTP server on port 0.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, test } from "vitest";
import { DEFAULT_ENDPOINT } from "../../src/api/index.js";
import {
  AlreadyExistsError,
  FailedPreconditionError,
  InternalError,
  InvalidArgumentError,
  ResourceExhaustedError,
  Runta,
  RuntaApiError,
  UnavailableError,
  apiErrorFrom,
  apiErrorFromCode,
} from "../../src/client/index.js";

const RECORD = {
  id: "6f1d6d2e-8f3b-4c39-9a43-2f3c1d1e9a11",
  name: "w",
  status: "running",
  image: "default",
  resources: { requests: { vcpus: 1, memory_mib: 1024 } },
  env_names: [],
  labels: {},
  created_at: "2026-01-01T00:00:00Z",
  updated_at: "2026-01-01T00:00:00Z",
  started_at: null,
  revision: 1,
  last_error: null,
  idle_timeout_secs: null,
  last_activity_at: null,
};

/** A fetch that answers from a script and records every call. */
function scriptedFetch(responses: Array<Response | Error>) {
  const calls: Array<{ url: string; init: RequestInit }> = [];
  const fn = (async (url: URL | string, init: RequestInit = {}) => {
    calls.push({ url: String(url), init });
    const next = responses.shift();
    if (!next) throw new Error("no more scripted responses");
    if (next instanceof Error) throw next;
    return next;
  }) as typeof fetch;
  return { fn, calls };
}
const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
const refused = () => Object.assign(new TypeError("fetch failed"), { cause: Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }) });

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
  delete process.env.RUNTA_ENDPOINT;
  delete process.env.RUNTA_TOKEN;
});

describe("error factory", () => {
  test("builds the typed class from the envelope code, keeping status, details and request id", () => {
    const err = apiErrorFrom(409, { error: { code: "failed_precondition", message: "it is paused", details: { status: "paused" } }, request_id: "req_1" });
    expect(err).toBeInstanceOf(FailedPreconditionError);
    expect(err).toBeInstanceOf(RuntaApiError);
    expect(err).toMatchObject({ code: "failed_precondition", status: 409, message: "it is paused", details: { status: "paused" }, requestId: "req_1", name: "FailedPreconditionError" });
  });

  test("falls back to the status when the body is not an envelope", () => {
    expect(apiErrorFrom(413, "<html>too big</html>")).toBeInstanceOf(ResourceExhaustedError);
    expect(apiErrorFrom(502, null)).toBeInstanceOf(InternalError);
    expect(apiErrorFrom(503, { error: { code: "bogus" } })).toBeInstanceOf(UnavailableError);
    expect(apiErrorFrom(422, {}, "req_h").requestId).toBe("req_h");
  });

  test("apiErrorFromCode maps known codes and turns unknown ones into internal", () => {
    expect(apiErrorFromCode("already_exists", "taken")).toBeInstanceOf(AlreadyExistsError);
    expect(apiErrorFromCode("weird", "x")).toBeInstanceOf(InternalError);
  });
});

describe("configuration", () => {
  test("RUNTA_ENDPOINT and RUNTA_TOKEN are constructor defaults; options win; DEFAULT_ENDPOINT last", async () => {
    expect(new Runta().endpoint).toBe(DEFAULT_ENDPOINT);
    process.env.RUNTA_ENDPOINT = "http://127.0.0.1:1/";
    process.env.RUNTA_TOKEN = "envtoken";
    const { fn, calls } = scriptedFetch([json(200, { data: RECORD })]);
    const r = new Runta({ fetch: fn });
    expect(r.endpoint).toBe("http://127.0.0.1:1");
    await r.runtimes.get("w");
    expect(calls[0]!.url).toBe("http://127.0.0.1:1/v1/runtimes/w");
    expect((calls[0]!.init.headers as Record<string, string>).Authorization).toBe("Bearer envtoken");
    expect(new Runta({ endpoint: "http://localhost:9" }).endpoint).toBe("http://localhost:9");
    expect(() => new Runta({ endpoint: "ftp://x" })).toThrow(InvalidArgumentError);
  });

  test("resolves like the CLI (one resolver): the config file, then the local daemon and its token file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "runta-sdk-config-"));
    try {
      mkdirSync(join(dir, "xdg", "runta"), { recursive: true });
      writeFileSync(join(dir, "token"), "localtoken\n");
      const env = { HOME: dir, XDG_CONFIG_HOME: join(dir, "xdg"), RUNTA_DATA_DIR: dir, RUNTA_LISTEN: "127.0.0.1:1" };
      const local = scriptedFetch([json(200, { data: RECORD })]);
      const r = new Runta({ env, fetch: local.fn });
      expect(r.endpoint).toBe("http://127.0.0.1:1");
      await r.runtimes.get("w");
      expect((local.calls[0]!.init.headers as Record<string, string>).Authorization).toBe("Bearer localtoken");
      writeFileSync(join(dir, "xdg", "runta", "config.json"), JSON.stringify({ endpoint: "http://h:2", token: "filetoken" }));
      const file = scriptedFetch([json(200, { data: RECORD })]);
      const f = new Runta({ env, fetch: file.fn });
      await f.runtimes.get("w");
      expect(file.calls[0]!.url).toBe("http://h:2/v1/runtimes/w");
      expect((file.calls[0]!.init.headers as Record<string, string>).Authorization).toBe("Bearer filetoken");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("without any token, a 401 is one line saying where to get one", async () => {
    const dir = mkdtempSync(join(tmpdir(), "runta-sdk-config-"));
    try {
      const env = { HOME: dir, XDG_CONFIG_HOME: join(dir, "xdg"), RUNTA_DATA_DIR: dir, RUNTA_LISTEN: "127.0.0.1:1" };
      const unauth = () => json(401, { error: { code: "unauthenticated", message: "missing bearer token" } });
      const local = scriptedFetch([unauth()]);
      const err = await new Runta({ env, fetch: local.fn }).runtimes.list().catch((e: unknown) => e);
      expect(err).toMatchObject({ code: "unauthenticated", message: `no token: ${join(dir, "token")} is missing or empty — start the local daemon (runta daemon start) or set RUNTA_TOKEN` });
      const remote = scriptedFetch([unauth()]);
      const err2 = await new Runta({ env: { ...env, RUNTA_ENDPOINT: "http://h:3" }, fetch: remote.fn }).runtimes.list().catch((e: unknown) => e);
      expect((err2 as Error).message).toBe(`no token for http://h:3 (from RUNTA_ENDPOINT) — set RUNTA_TOKEN, put "token" in ${join(dir, "xdg", "runta", "config.json")}, or pass { token }`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("get with usage: false asks for the record without cgroup usage", async () => {
    const { fn, calls } = scriptedFetch([json(200, { data: RECORD }), json(200, { data: RECORD })]);
    const r = new Runta({ endpoint: "http://h:1", fetch: fn });
    await r.runtimes.get("w", { usage: false });
    await r.runtimes.get("w", { usage: true });
    expect(calls.map((c) => c.url)).toEqual(["http://h:1/v1/runtimes/w?usage=false", "http://h:1/v1/runtimes/w"]);
  });

  test("names with odd characters are path-encoded", async () => {
    const { fn, calls } = scriptedFetch([json(200, { data: RECORD })]);
    await new Runta({ endpoint: "http://h:1", fetch: fn }).runtimes.get("a/b?c");
    expect(calls[0]!.url).toBe("http://h:1/v1/runtimes/a%2Fb%3Fc");
  });

  test("list follows cursors with the largest page, so a big fleet takes few requests", async () => {
    const { fn, calls } = scriptedFetch([
      json(200, { data: [RECORD], pagination: { next_cursor: "c1", has_more: true } }),
      json(200, { data: [RECORD], pagination: { next_cursor: null, has_more: false } }),
    ]);
    expect(await new Runta({ endpoint: "http://h:1", fetch: fn }).runtimes.list()).toHaveLength(2);
    expect(calls.map((c) => c.url)).toEqual(["http://h:1/v1/runtimes?limit=1000", "http://h:1/v1/runtimes?limit=1000&after=c1"]);
  });
});

describe("retries", () => {
  test("GET is retried on connection errors and 503, at most maxRetries times", async () => {
    const { fn, calls } = scriptedFetch([refused(), json(503, { error: { code: "unavailable", message: "starting" }, request_id: "r" }), json(200, { data: RECORD })]);
    const h = await new Runta({ endpoint: "http://h:1", fetch: fn }).runtimes.get("w");
    expect(h.id).toBe(RECORD.id);
    expect(calls).toHaveLength(3);

    const again = scriptedFetch([refused(), refused(), refused(), json(200, { data: RECORD })]);
    const err = await new Runta({ endpoint: "http://h:1", fetch: again.fn }).runtimes.get("w").catch((e) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect(again.calls).toHaveLength(3);
  });

  test("a POST without an Idempotency-Key is never retried; with one it is", async () => {
    const plain = scriptedFetch([json(503, { error: { code: "unavailable", message: "busy" }, request_id: "r" }), json(200, { data: {} })]);
    const err = await new Runta({ endpoint: "http://h:1", fetch: plain.fn }).runtimes.exec("w", "true").catch((e) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect(plain.calls).toHaveLength(1);

    const createRefused = scriptedFetch([refused(), json(201, { data: RECORD })]);
    await expect(new Runta({ endpoint: "http://h:1", fetch: createRefused.fn }).runtimes.create("w")).rejects.toBeInstanceOf(UnavailableError);
    expect(createRefused.calls).toHaveLength(1);

    const keyed = scriptedFetch([refused(), json(201, { data: RECORD })]);
    const h = await new Runta({ endpoint: "http://h:1", fetch: keyed.fn }).runtimes.create("w", { idempotencyKey: "k" });
    expect(h.name).toBe("w");
    expect(keyed.calls).toHaveLength(2);
    expect((keyed.calls[1]!.init.headers as Record<string, string>)["Idempotency-Key"]).toBe("k");
  });

  test("4xx errors are not retried", async () => {
    const { fn, calls } = scriptedFetch([json(404, { error: { code: "not_found", message: "no" }, request_id: "r" }), json(200, { data: RECORD })]);
    await expect(new Runta({ endpoint: "http://h:1", fetch: fn }).runtimes.get("w")).rejects.toMatchObject({ code: "not_found", status: 404 });
    expect(calls).toHaveLength(1);
  });
});

describe("connection failures (real sockets)", () => {
  test("a refused connection is UnavailableError naming the endpoint; ping is false and never throws", async () => {
    const s = createServer();
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    const port = (s.address() as AddressInfo).port;
    await new Promise((r) => s.close(r));
    const runta = new Runta({ endpoint: `http://127.0.0.1:${port}`, maxRetries: 0 });
    const err = await runta.runtimes.list().catch((e) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err.message).toContain(`http://127.0.0.1:${port}`);
    expect(err.message).toContain("ECONNREFUSED");
    expect(await runta.ping(200)).toBe(false);
  });

  test("a server answering non-JSON is a clear internal error; a hung server makes ping false within its timeout", async () => {
    const s = createServer((req, res) => {
      if (req.url === "/v1/health") return; // never answers
      if (req.url?.startsWith("/v1/runtimes")) return void res.writeHead(404).end();
      res.writeHead(200, { "Content-Type": "text/html" });
      res.end("<html>not runta</html>");
    });
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    const endpoint = `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
    const err = await new Runta({ endpoint }).version().catch((e) => e);
    expect(err).toBeInstanceOf(InternalError);
    expect(err.message).toMatch(/not JSON/);
    // An error status without runta's envelope (another web server on that port) names the endpoint.
    const missing = await new Runta({ endpoint, token: "t" }).runtimes.list().catch((e) => e);
    expect(missing.message).toBe(`the server at ${endpoint} answered HTTP 404 without a runta error; is it a runta daemon?`);
    const t0 = Date.now();
    expect(await new Runta({ endpoint }).ping(150)).toBe(false);
    expect(Date.now() - t0).toBeLessThan(1500);
    s.closeAllConnections();
  });
});
