/** `nodeFetch` (the CLI's fetch on node:http) against a real HTTP server on port 0, and the SDK driven through it. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, expect, test } from "vitest";
import { Runta, UnavailableError, nodeFetch } from "../../src/client/index.js";

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse, body: Buffer) => void): Promise<string> {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => handler(req, res, Buffer.concat(chunks)));
  });
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", () => r()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

test("sends method, headers and a JSON body; reads status, headers and JSON", async () => {
  let seen: { method?: string; url?: string; auth?: string; type?: string; body?: string } = {};
  const base = await serve((req, res, body) => {
    seen = { method: req.method, url: req.url, auth: req.headers.authorization, type: req.headers["content-type"], body: body.toString() };
    res.writeHead(201, { "Content-Type": "application/json", "X-Request-Id": "r1", "Set-Cookie": ["a=1", "b=2"] });
    res.end(JSON.stringify({ data: { ok: true } }));
  });
  const res = await nodeFetch(new URL(`${base}/v1/x?y=1`), {
    method: "POST",
    headers: { Authorization: "Bearer t", "Content-Type": "application/json" },
    body: JSON.stringify({ a: 1 }),
  });
  expect(seen).toEqual({ method: "POST", url: "/v1/x?y=1", auth: "Bearer t", type: "application/json", body: '{"a":1}' });
  expect(res.status).toBe(201);
  expect(res.ok).toBe(true);
  expect(res.headers.get("x-request-id")).toBe("r1");
  expect(res.headers.get("X-Request-ID")).toBe("r1");
  expect(res.headers.get("set-cookie")).toBe("a=1, b=2");
  expect(res.headers.get("missing")).toBeNull();
  expect(await res.json()).toEqual({ data: { ok: true } });
  await expect(res.text()).rejects.toThrow(/already been read/);
});

test("error statuses are responses, not rejections; text() reads the body", async () => {
  const base = await serve((_req, res) => {
    res.writeHead(404, { "Content-Type": "text/plain" });
    res.end("nope");
  });
  const res = await nodeFetch(`${base}/missing`);
  expect(res.status).toBe(404);
  expect(res.ok).toBe(false);
  expect(await res.text()).toBe("nope");
});

test("streams a request body from an async iterable (duplex half), in order and complete", async () => {
  let received = Buffer.alloc(0);
  let encoding: string | undefined;
  const base = await serve((req, res, body) => {
    received = body;
    encoding = req.headers["transfer-encoding"];
    res.end("{}");
  });
  const chunk = Buffer.alloc(64 * 1024, 7);
  async function* gen() {
    for (let i = 0; i < 32; i++) {
      await new Promise((r) => setImmediate(r));
      yield Buffer.concat([Buffer.from([i]), chunk]);
    }
  }
  const res = await nodeFetch(`${base}/upload`, { method: "POST", body: gen() as unknown as BodyInit, duplex: "half" });
  expect(res.status).toBe(200);
  expect(encoding).toBe("chunked");
  expect(received.length).toBe(32 * (chunk.length + 1));
  for (let i = 0; i < 32; i++) expect(received[i * (chunk.length + 1)]).toBe(i);
  await res.body?.cancel();
});

test("streams a response body: each line is readable before the server ends the response", async () => {
  let finish!: () => void;
  const base = await serve((_req, res) => {
    res.writeHead(200, { "Content-Type": "application/x-ndjson" });
    res.write('{"n":1}\n');
    finish = () => res.end('{"n":2}\n');
  });
  const res = await nodeFetch(`${base}/stream`);
  const lines: string[] = [];
  const decoder = new TextDecoder();
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    lines.push(...decoder.decode(chunk).split("\n").filter(Boolean));
    if (lines.length === 1) finish();
  }
  expect(lines).toEqual(['{"n":1}', '{"n":2}']);
});

test("an AbortSignal rejects a pending request with its reason, and an already aborted one never connects", async () => {
  let requests = 0;
  const base = await serve(() => {
    requests++; // never answers
  });
  const abort = new AbortController();
  const pending = nodeFetch(`${base}/slow`, { signal: abort.signal });
  await expect.poll(() => requests).toBe(1); // pending at the server (a fixed sleep was too short at load 20)
  abort.abort();
  const err = await pending.catch((e: unknown) => e);
  expect((err as Error).name).toBe("AbortError");

  const timeout = await nodeFetch(`${base}/slow`, { signal: AbortSignal.timeout(30) }).catch((e: unknown) => e);
  expect((timeout as Error).name).toBe("TimeoutError");
  // Whether the timed-out request reached the server before its 30 ms ran out depends on the machine's load.
  await new Promise((r) => setTimeout(r, 200));
  const seen = requests;

  const before = await nodeFetch(`${base}/slow`, { signal: AbortSignal.abort() }).catch((e: unknown) => e);
  expect((before as Error).name).toBe("AbortError");
  await new Promise((r) => setTimeout(r, 200));
  expect(requests).toBe(seen);
});

test("a refused connection rejects like fetch (TypeError with the cause), which the SDK maps to UnavailableError", async () => {
  const base = await serve(() => {});
  await new Promise<void>((r) => server!.close(() => r()));
  server = undefined;
  const err = (await nodeFetch(`${base}/v1/health`).catch((e: unknown) => e)) as TypeError & { cause?: { code?: string } };
  expect(err).toBeInstanceOf(TypeError);
  expect(err.cause?.code).toBe("ECONNREFUSED");

  const sdkErr = await new Runta({ endpoint: base, fetch: nodeFetch, maxRetries: 0 }).runtimes.list().catch((e: unknown) => e);
  expect(sdkErr).toBeInstanceOf(UnavailableError);
  expect((sdkErr as Error).message).toContain("ECONNREFUSED");
});

test("the SDK through nodeFetch: list, typed errors, NDJSON build stream and a streamed import", async () => {
  let imported = 0;
  const base = await serve((req, res, body) => {
    res.setHeader("Content-Type", "application/json");
    if (req.url?.startsWith("/v1/runtimes?")) return res.end(JSON.stringify({ data: [], pagination: { has_more: false } }));
    if (req.url === "/v1/images/build") {
      res.setHeader("Content-Type", "application/x-ndjson");
      res.write('{"type":"progress","message":"a"}\n');
      return res.end('{"type":"done","data":{"name":"x"}}\n');
    }
    if (req.url?.startsWith("/v1/images/import")) {
      imported = body.length;
      return res.end(JSON.stringify({ data: { name: "x" } }));
    }
    res.statusCode = 404;
    res.end(JSON.stringify({ error: { code: "not_found", message: "no such runtime" } }));
  });
  const runta = new Runta({ endpoint: base, fetch: nodeFetch });
  expect(await runta.runtimes.list()).toEqual([]);
  await expect(runta.runtimes.get("ghost")).rejects.toThrow("no such runtime");
  const events: string[] = [];
  expect(await runta.images.build("x", { onEvent: (e) => events.push(e.type) })).toEqual({ name: "x" });
  expect(events).toEqual(["progress", "done"]);
  async function* tar() {
    yield Buffer.alloc(1000, 1);
    yield Buffer.alloc(1000, 2);
  }
  const { Readable } = await import("node:stream");
  expect(await runta.images.import("x", Readable.from(tar()))).toEqual({ name: "x" });
  expect(imported).toBe(2000);
});

test("https URLs go through node:https (here: a TLS handshake with a plain-HTTP server fails like fetch does)", async () => {
  const base = await serve((_req, res) => res.end("{}"));
  const err = (await nodeFetch(base.replace("http:", "https:")).catch((e: unknown) => e)) as TypeError & { cause?: { code?: string } };
  expect(err).toBeInstanceOf(TypeError);
  expect(err.message).toBe("fetch failed");
  expect(err.cause?.code).toMatch(/SSL|EPROTO/);
  await expect(nodeFetch("ftp://127.0.0.1/x")).rejects.toThrow(/unsupported protocol ftp:/);
});
