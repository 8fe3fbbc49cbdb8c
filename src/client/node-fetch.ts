/**
 * `nodeFetch`: a fetch-compatible function on node:http, for processes where start-up time matters. Node 20's global
 * fetch initialises undici on first use (~125 ms), which is most of a short CLI command; this adapter costs nothing
 * beyond node:http. It covers what the SDK uses: method, headers, string/bytes/streamed request bodies, status,
 * headers.get, json(), text(), arrayBuffer(), a streamed `body` (a web ReadableStream) and AbortSignal. Like fetch,
 * it rejects with `TypeError("fetch failed", { cause })` when the connection fails and with `signal.reason` on abort.
 * The CLI passes it as the SDK's `fetch`: `new Runta({ fetch: nodeFetch })`.
 */
import http from "node:http";
import type https from "node:https";
import { Readable } from "node:stream";
import { NODE_BODY } from "./http.js";

type BodySource = string | Uint8Array | AsyncIterable<Uint8Array | string> | undefined;

/** Keep-alive within one process (a CLI command's probe and request share a socket); idle sockets are unref'd by node, so they never hold the process open. */
const httpAgent = new http.Agent({ keepAlive: true });
let httpsModule: { mod: typeof https; agent: https.Agent } | undefined;

async function transportFor(url: URL): Promise<{ request: typeof http.request; agent: http.Agent }> {
  if (url.protocol === "http:") return { request: http.request, agent: httpAgent };
  if (url.protocol === "https:") {
    // node:https (and tls) only when an https endpoint is used.
    if (!httpsModule) {
      const { default: mod } = await import("node:https");
      httpsModule ??= { mod, agent: new mod.Agent({ keepAlive: true }) };
    }
    return { request: httpsModule.mod.request as typeof http.request, agent: httpsModule.agent };
  }
  throw new TypeError(`fetch failed: unsupported protocol ${url.protocol}`);
}

/** The request headers of `init.headers` (a record, pairs, or a Headers-like object), lower-cased. */
function headerRecord(h: RequestInit["headers"]): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h) return out;
  const pairs: Iterable<[string, string]> =
    typeof (h as { entries?: unknown }).entries === "function" && !Array.isArray(h)
      ? (h as { entries(): Iterable<[string, string]> }).entries()
      : Array.isArray(h)
        ? (h as [string, string][])
        : Object.entries(h as Record<string, string>);
  for (const [k, v] of pairs) {
    const key = k.toLowerCase();
    out[key] = out[key] === undefined ? String(v) : `${out[key]}, ${String(v)}`;
  }
  return out;
}

/** Normalises `init.body` to a string, bytes or an async iterable; sets the content type fetch would. */
function bodySource(body: RequestInit["body"] | AsyncIterable<Uint8Array>, headers: Record<string, string>): BodySource {
  if (body === undefined || body === null) return undefined;
  if (typeof body === "string") {
    headers["content-type"] ??= "text/plain;charset=UTF-8";
    return body;
  }
  if (body instanceof URLSearchParams) {
    headers["content-type"] ??= "application/x-www-form-urlencoded;charset=UTF-8";
    return body.toString();
  }
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  if (typeof (body as Blob).stream === "function" && typeof (body as Blob).arrayBuffer === "function") {
    if ((body as Blob).type) headers["content-type"] ??= (body as Blob).type;
    return (body as Blob).stream() as unknown as AsyncIterable<Uint8Array>;
  }
  if (typeof (body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] === "function") return body as AsyncIterable<Uint8Array>;
  throw new TypeError("nodeFetch: unsupported request body type (use a string, bytes, a Blob or an async iterable)");
}

/** Read-only response headers with the part of the Headers interface callers use. */
class ResponseHeaders {
  constructor(private readonly raw: http.IncomingHttpHeaders) {}
  /** The header's value (repeated headers joined with ", "), or null. */
  get(name: string): string | null {
    const v = this.raw[name.toLowerCase()];
    if (v === undefined) return null;
    return Array.isArray(v) ? v.join(", ") : String(v);
  }
  has(name: string): boolean {
    return this.raw[name.toLowerCase()] !== undefined;
  }
  *entries(): IterableIterator<[string, string]> {
    for (const k of Object.keys(this.raw).sort()) yield [k, this.get(k)!];
  }
  keys(): IterableIterator<string> {
    return [...this.entries()].map(([k]) => k)[Symbol.iterator]();
  }
  values(): IterableIterator<string> {
    return [...this.entries()].map(([, v]) => v)[Symbol.iterator]();
  }
  forEach(fn: (value: string, key: string, parent: this) => void): void {
    for (const [k, v] of this.entries()) fn(v, k, this);
  }
  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }
}

/** The response: status and headers now, the body read once, as a stream or whole. */
class NodeResponse {
  readonly status: number;
  readonly statusText: string;
  readonly ok: boolean;
  readonly headers: ResponseHeaders;
  readonly url: string;
  readonly redirected = false;
  readonly type = "basic";
  private stream: ReadableStream<Uint8Array> | null | undefined;
  private used = false;

  constructor(private readonly msg: http.IncomingMessage, url: string, method: string) {
    this.status = msg.statusCode ?? 0;
    this.statusText = msg.statusMessage ?? "";
    this.ok = this.status >= 200 && this.status < 300;
    this.headers = new ResponseHeaders(msg.headers);
    this.url = url;
    // Like fetch: no body for HEAD, 204 and 304.
    if (method === "HEAD" || this.status === 204 || this.status === 304) {
      this.stream = null;
      msg.resume();
    }
  }

  /** The body as a web ReadableStream (async-iterable in node), or null when the response has none. */
  get body(): ReadableStream<Uint8Array> | null {
    if (this.stream === undefined) this.stream = Readable.toWeb(this.msg) as unknown as ReadableStream<Uint8Array>;
    return this.stream;
  }

  /** The body as node's own stream, unless a web stream was made of it already (see http.ts bodyChunks). */
  [NODE_BODY](): AsyncIterable<Uint8Array> | null {
    return this.stream === undefined ? this.msg : (this.stream as unknown as AsyncIterable<Uint8Array> | null);
  }

  get bodyUsed(): boolean {
    return this.used;
  }

  /** The whole body as bytes. */
  async arrayBuffer(): Promise<ArrayBuffer> {
    if (this.used) throw new TypeError("Body is unusable: Body has already been read");
    this.used = true;
    const body = this[NODE_BODY]();
    if (!body) return new ArrayBuffer(0);
    const chunks: Uint8Array[] = [];
    for await (const chunk of body) chunks.push(chunk);
    const all = Buffer.concat(chunks);
    return all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer;
  }

  /** The whole body decoded as UTF-8. */
  async text(): Promise<string> {
    return new TextDecoder().decode(await this.arrayBuffer());
  }

  /** The whole body parsed as JSON. */
  async json(): Promise<unknown> {
    return JSON.parse(await this.text()) as unknown;
  }

  clone(): never {
    throw new TypeError("nodeFetch: Response.clone() is not supported");
  }
}

/** A fetch-compatible function on node:http/https, without undici's start-up cost. Default agent: keep-alive, unref'd idle sockets. */
export async function nodeFetch(input: string | URL | Request, init: RequestInit & { duplex?: "half" } = {}): Promise<Response> {
  if (typeof input !== "string" && !(input instanceof URL)) throw new TypeError("nodeFetch: pass a URL or string, not a Request");
  const url = new URL(input);
  const { request, agent } = await transportFor(url);
  const headers = headerRecord(init.headers);
  const source = bodySource(init.body as RequestInit["body"], headers);
  const method = (init.method ?? "GET").toUpperCase();
  return new Promise<Response>((resolve, reject) => {
    const signal = init.signal ?? undefined;
    if (signal?.aborted) return reject(signal.reason);
    if (typeof source === "string" || source instanceof Uint8Array) headers["content-length"] = String(Buffer.byteLength(source));
    else if (source === undefined && (method === "POST" || method === "PUT" || method === "PATCH")) headers["content-length"] = "0";

    let settled = false;
    let response: http.IncomingMessage | undefined;
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      reject(err);
    };
    const onAbort = () => {
      const reason = signal!.reason as Error;
      fail(reason);
      req.destroy(reason);
      // An abort after the headers arrived ends the body stream with the same reason, as fetch does.
      response?.destroy(reason);
    };
    const req = request(url, { method, headers, agent }, (res) => {
      response = res;
      res.on("close", () => signal?.removeEventListener("abort", onAbort));
      if (settled) return void res.destroy();
      settled = true;
      resolve(new NodeResponse(res, url.href, method) as unknown as Response);
    });
    req.on("error", (err) => fail(new TypeError("fetch failed", { cause: err })));
    req.on("close", () => {
      if (!response) signal?.removeEventListener("abort", onAbort);
    });
    signal?.addEventListener("abort", onAbort, { once: true });

    if (source === undefined) req.end();
    else if (typeof source === "string" || source instanceof Uint8Array) req.end(source);
    else {
      const body = Readable.from(source as AsyncIterable<Uint8Array>, { objectMode: false });
      body.on("error", (err) => {
        fail(new TypeError("fetch failed", { cause: err }));
        req.destroy(err);
      });
      body.pipe(req);
    }
  });
}
