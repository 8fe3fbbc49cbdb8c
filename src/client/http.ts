/**
 * The SDK's HTTP transport: one place that adds the token, encodes bodies, maps errors through the one factory and
 * retries idempotent requests (GET/HEAD/PUT/DELETE, and POSTs carrying an Idempotency-Key) on connection errors and 503.
 */
import { apiErrorFrom, typedApiError, unavailableError, type RuntaApiError } from "./errors.js";
import type { Pagination } from "../api/index.js";

/** Options of {@link Transport}. */
export interface TransportOptions {
  endpoint: string;
  token?: string;
  /** With no token, what a 401 is reported as (it says where to get one). Default: the daemon's own message. */
  noToken?: RuntaApiError;
  /** Default: the global fetch. */
  fetch?: typeof fetch;
  /** Retries of idempotent requests. Default 2. */
  maxRetries?: number;
}

/** One request. */
export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  /** JSON-encoded unless `rawBody` is given. */
  body?: unknown;
  rawBody?: { data: BodyInit | AsyncIterable<Uint8Array>; contentType: string };
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Overrides the method-based idempotency rule. */
  retry?: boolean;
}

/**
 * A response from nodeFetch keeps its node stream under this key (a method returning it): reading the body through
 * {@link bodyChunks} skips wrapping it in a web ReadableStream, whose module alone is a few ms of a short CLI command.
 */
export const NODE_BODY = Symbol.for("runta.nodeBody");

/** A response's body as chunks (the node stream of a nodeFetch response, fetch's web stream otherwise), or null. */
export function bodyChunks(res: Response): AsyncIterable<Uint8Array> | null {
  const node = (res as { [NODE_BODY]?: () => AsyncIterable<Uint8Array> | null })[NODE_BODY];
  return node ? node.call(res) : (res.body as unknown as AsyncIterable<Uint8Array> | null);
}

/** Drops a response's body unread, closing its connection (as cancelling fetch's body does). */
export async function discardBody(res: Response): Promise<void> {
  const chunks = bodyChunks(res) as (AsyncIterable<Uint8Array> & { destroy?(): void; cancel?(): Promise<void> }) | null;
  if (chunks?.destroy) chunks.destroy();
  else await chunks?.cancel?.();
}

const IDEMPOTENT = new Set(["GET", "HEAD", "PUT", "DELETE"]);
const BACKOFF_MS = [100, 300];

/** A parsed successful JSON response. */
export interface JsonResponse<T> {
  data: T;
  pagination?: Pagination;
}

/** HTTP transport bound to one endpoint and token. */
export class Transport {
  /** Endpoint without a trailing slash. */
  readonly endpoint: string;
  readonly token?: string;
  private readonly noToken?: RuntaApiError;
  private readonly fetchImpl: typeof fetch;
  private readonly maxRetries: number;

  constructor(opts: TransportOptions) {
    this.endpoint = opts.endpoint.replace(/\/+$/, "");
    this.token = opts.token;
    this.noToken = opts.noToken;
    this.fetchImpl = opts.fetch ?? globalThis.fetch;
    this.maxRetries = Math.max(0, opts.maxRetries ?? 2);
  }

  /** Sends a request and returns the raw response once its status is a success; error statuses throw typed errors. */
  async send(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    const url = new URL(this.endpoint + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { Accept: "application/json", ...opts.headers };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    let body: BodyInit | undefined;
    let duplex: "half" | undefined;
    if (opts.rawBody) {
      headers["Content-Type"] = opts.rawBody.contentType;
      body = opts.rawBody.data as BodyInit;
      // Node's fetch needs half-duplex to send a streamed request body.
      if (typeof (opts.rawBody.data as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] === "function") duplex = "half";
    } else if (opts.body !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(opts.body);
    }
    const retryable = opts.retry ?? (IDEMPOTENT.has(method) || headers["Idempotency-Key"] !== undefined);
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await this.fetchImpl(url, { method, headers, body, signal: opts.signal, ...(duplex ? { duplex } : {}) } as RequestInit);
      } catch (err) {
        if (retryable && attempt < this.maxRetries && !opts.signal?.aborted) {
          await sleep(BACKOFF_MS[attempt] ?? 500);
          continue;
        }
        throw unavailableError(this.endpoint, err);
      }
      if (res.ok) return res;
      if (res.status === 503 && retryable && attempt < this.maxRetries) {
        await discardBody(res);
        await sleep(BACKOFF_MS[attempt] ?? 500);
        continue;
      }
      if (res.status === 401 && !this.token && this.noToken) {
        await discardBody(res);
        throw this.noToken;
      }
      throw await errorFrom(res, this.endpoint);
    }
  }

  /** Sends a request and parses the `{data, pagination?}` envelope. */
  async json<T>(method: string, path: string, opts: RequestOptions = {}): Promise<JsonResponse<T>> {
    const res = await this.send(method, path, opts);
    let parsed: unknown;
    try {
      parsed = await res.json();
    } catch (err) {
      throw typedApiError("internal", `the daemon at ${this.endpoint} sent a response that is not JSON; is it a runta daemon?`, {
        status: res.status,
        requestId: res.headers.get("x-request-id") ?? undefined,
        cause: err,
      });
    }
    return parsed as JsonResponse<T>;
  }
}

async function errorFrom(res: Response, endpoint: string): Promise<RuntaApiError> {
  const requestId = res.headers.get("x-request-id") ?? undefined;
  let body: unknown = null;
  try {
    body = JSON.parse(await res.text());
  } catch {
    // Not an envelope (a proxy's HTML page, say): the factory falls back to the status.
  }
  const err = apiErrorFrom(res.status, body, requestId);
  // No runta error envelope: most likely the endpoint is some other web server, so say which one answered.
  if (!(body as { error?: unknown } | null)?.error) {
    err.message = `the server at ${endpoint} answered HTTP ${res.status} without a runta error; is it a runta daemon?`;
  }
  return err;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** `encodeURIComponent` for one path segment (names and ids). */
export const seg = (s: string): string => encodeURIComponent(s);
