/**
 * The REST API v1 (DESIGN §3) on node:http: routing, auth, Host/Origin checks, body limits and the JSON envelopes.
 * Everything runtime-related is delegated to an {@link Engine}; errors go through the one mapping in errors.ts.
 */
import { createHash, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { Transform } from "node:stream";
import type { AddressInfo } from "node:net";
import { z } from "zod";
import {
  CreateRuntimeQuerySchema,
  CreateRuntimeRequestSchema,
  ExecRequestSchema,
  ImageBuildRequestSchema,
  ImageImportQuerySchema,
  LifecycleRequestSchema,
  ListRuntimesQuerySchema,
  LIMITS,
  ResizeRuntimeRequestSchema,
  RuntaError,
  errors,
  type ExecRequest,
  type ImageBuildEvent,
} from "../api/index.js";
import { buildOpenApiDocument } from "../api/openapi.js";
import type { Engine } from "../engine/types.js";
import { bearerAuthenticator, forbiddenOrigin, hostChecker, originChecker, unauthenticated } from "./auth.js";
import { mapError, validationError } from "./errors.js";
import { silentLogger, type Logger } from "../log.js";
import { runtaVersion } from "./version.js";

/** What a websocket attachment (exec-stream.ts) gets from the server, and what it hands back. */
export interface StreamHooks {
  engine: Engine;
  authenticate: (req: IncomingMessage) => boolean;
  /** Host and Origin both acceptable (DNS-rebinding guard for the upgrade). */
  checkOrigin: (req: IncomingMessage) => boolean;
  logger: Logger;
}
/** Attaches the exec-stream websocket to the server; `closeAll` ends every session (1001 at shutdown). */
export type AttachStreams = (server: Server, hooks: StreamHooks) => { closeAll(code: number, reason: string): void };

/** Options of {@link createApiServer}. */
export interface ApiServerOptions {
  engine: Engine;
  /** The bearer token every route but /v1/health requires. */
  token: string;
  /** Default: silent. */
  logger?: Logger;
  /** Host names accepted in Host/Origin besides loopback (only when listening on a public address). Default: none. */
  publicHosts?: string[];
  /** The websocket attachment (the daemon passes exec-stream's `attachExecStream`). Default: no websocket. */
  attachStreams?: AttachStreams;
  /** A connection that sends no request for this long is closed. Default {@link IDLE_CONNECTION_MS}. */
  idleConnectionMs?: number;
  /** Connections beyond this many are dropped on arrival. Default LIMITS.connectionsMax. */
  maxConnections?: number;
}

/**
 * How long a connection may stay silent before its first request. headersTimeout only runs once a request has begun,
 * so without this a client could open connections that never send a byte and use up the daemon's file descriptors.
 */
export const IDLE_CONNECTION_MS = 20_000;

/** A running API server. */
export interface ApiServer {
  readonly server: Server;
  /** Listens on host:port (port 0 picks a free one); resolves with the endpoint URL. */
  listen(host: string, port: number): Promise<string>;
  /** Stops accepting, lets in-flight requests finish for up to `graceMs` (default 10 s), then drops them. */
  close(graceMs?: number): Promise<void>;
}

interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  requestId: string;
  url: URL;
  params: string[];
}
type Handler = (ctx: Ctx) => Promise<void>;
interface Route {
  method: string;
  pattern: RegExp;
  auth: boolean;
  handler: Handler;
}

const JSON_TYPE = "application/json; charset=utf-8";
const IMPORT_TYPES = new Set(["application/x-tar", "application/gzip", "application/x-gzip", "application/tar+gzip"]);
const IDEMPOTENCY_KEY_MAX = 255;

function newRequestId(): string {
  return "req_" + randomBytes(9).toString("base64url");
}

function send(ctx: Ctx, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  ctx.res.writeHead(status, { "Content-Type": JSON_TYPE, "Content-Length": Buffer.byteLength(payload) });
  ctx.res.end(payload);
}

/** Stable JSON (sorted keys) so two equal bodies hash the same whatever their key order. */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (v !== null && typeof v === "object") {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(",")}}`;
  }
  return JSON.stringify(v);
}

function hasBody(req: IncomingMessage): boolean {
  const len = req.headers["content-length"];
  if (len !== undefined) return Number(len) > 0;
  return req.headers["transfer-encoding"] !== undefined;
}

function mediaType(req: IncomingMessage): string {
  return (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
}

function tooLarge(limit: number): RuntaError {
  return new RuntaError("resource_exhausted", `request body is larger than the ${limit}-byte limit`, {
    httpStatus: 413,
    details: { limit_bytes: limit },
  });
}

/** Reads the whole body up to `limit` bytes; past it the connection is marked for closing and 413 is thrown. */
async function readBody(ctx: Ctx, limit: number): Promise<Buffer> {
  const declared = Number(ctx.req.headers["content-length"] ?? NaN);
  if (declared > limit) {
    ctx.res.shouldKeepAlive = false;
    throw tooLarge(limit);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      ctx.res.shouldKeepAlive = false;
      throw tooLarge(limit);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * Reads and validates a JSON body. `optional` routes accept no body at all (treated as `{}`).
 * Parser messages never reach the client: bad JSON gets one plain sentence.
 */
async function readJson<S extends z.ZodType>(ctx: Ctx, schema: S, optional = false): Promise<z.infer<S>> {
  let value: unknown = {};
  if (hasBody(ctx.req)) {
    const type = mediaType(ctx.req);
    if (type !== "application/json" && !(type === "" && optional)) {
      ctx.res.shouldKeepAlive = false;
      throw new RuntaError("invalid_argument", `request body must be JSON: send 'Content-Type: application/json' (got '${type || "none"}')`, {
        httpStatus: 415,
      });
    }
    const raw = await readBody(ctx, LIMITS.requestBodyMaxBytes);
    if (raw.length > 0) {
      try {
        value = JSON.parse(raw.toString("utf8"));
      } catch {
        throw errors.invalid("request body is not valid JSON");
      }
    } else if (!optional) {
      throw errors.invalid("request body is empty: send a JSON object");
    }
  } else if (!optional) {
    throw errors.invalid("request body is required: send a JSON object with 'Content-Type: application/json'");
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw validationError(parsed.error);
  return parsed.data;
}

function parseQuery<S extends z.ZodType>(ctx: Ctx, schema: S): z.infer<S> {
  const parsed = schema.safeParse(Object.fromEntries(ctx.url.searchParams));
  if (!parsed.success) throw validationError(parsed.error, "query");
  return parsed.data;
}

/** Decodes one `{rt}`/`{name}` path segment; malformed percent-escapes are the client's error, not ours. */
function pathSegment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw errors.invalid(`path segment '${raw}' has a malformed %-escape: encode names with encodeURIComponent`);
  }
}

/** A string command alone runs through `sh -c`; an argv (or a string with args) runs as is. */
export function execArgv(body: Pick<ExecRequest, "command" | "args">): string[] {
  if (typeof body.command === "string") {
    return body.args === undefined ? ["sh", "-c", body.command] : [body.command, ...body.args];
  }
  return [...body.command, ...(body.args ?? [])];
}

/** Builds the HTTP server for `engine`; call `listen` to serve it. */
export function createApiServer(opts: ApiServerOptions): ApiServer {
  const { engine } = opts;
  const logger = opts.logger ?? silentLogger;
  const authenticate = bearerAuthenticator(opts.token);
  let port = 0;
  const checkHost = hostChecker({ port: () => port, publicHosts: opts.publicHosts });
  const checkOriginHeader = originChecker({ publicHosts: opts.publicHosts });
  let openapi: string | undefined;
  let closing = false;
  let inflight = 0;
  const idleWaiters: Array<() => void> = [];

  const rt = (ctx: Ctx) => pathSegment(ctx.params[0]!);
  const lifecycle = (op: (ref: string) => Promise<unknown>): Handler => async (ctx) => {
    await readJson(ctx, LifecycleRequestSchema, true);
    send(ctx, 200, { data: await op(rt(ctx)) });
  };

  const routes: Route[] = [
    { method: "GET", pattern: /^\/v1\/health$/, auth: false, handler: async (ctx) => send(ctx, 200, { data: { status: "ok" } }) },
    {
      method: "GET",
      pattern: /^\/v1\/version$/,
      auth: true,
      handler: async (ctx) => {
        const v = await engine.version();
        send(ctx, 200, { data: { runta: runtaVersion(), runc: v.runc, kernel: v.kernel, node: process.versions.node, api: "v1" } });
      },
    },
    {
      method: "GET",
      pattern: /^\/v1\/openapi\.json$/,
      auth: true,
      handler: async (ctx) => {
        openapi ??= JSON.stringify(buildOpenApiDocument(runtaVersion()));
        ctx.res.writeHead(200, { "Content-Type": JSON_TYPE, "Content-Length": Buffer.byteLength(openapi) });
        ctx.res.end(openapi);
      },
    },
    {
      method: "POST",
      pattern: /^\/v1\/runtimes$/,
      auth: true,
      handler: async (ctx) => {
        const query = parseQuery(ctx, CreateRuntimeQuerySchema);
        const body = await readJson(ctx, CreateRuntimeRequestSchema);
        const key = ctx.req.headers["idempotency-key"];
        if (Array.isArray(key) || (typeof key === "string" && (key.length === 0 || key.length > IDEMPOTENCY_KEY_MAX))) {
          throw errors.invalid(`Idempotency-Key header: must be one value of 1-${IDEMPOTENCY_KEY_MAX} characters`, { field: "Idempotency-Key" });
        }
        const runtime = await engine.create(
          {
            name: body.name,
            image: body.image,
            vcpus: body.resources?.requests?.vcpus,
            memoryMib: body.resources?.requests?.memory_mib,
            env: body.env,
            labels: body.labels,
            idempotencyKey: key,
            requestHash: key === undefined ? undefined : createHash("sha256").update(canonicalJson(body)).digest("hex"),
          },
          { wait: query.wait !== "false" },
        );
        send(ctx, 201, { data: runtime });
      },
    },
    {
      method: "GET",
      pattern: /^\/v1\/runtimes$/,
      auth: true,
      handler: async (ctx) => {
        const q = parseQuery(ctx, ListRuntimesQuerySchema);
        const page = await engine.list({ status: q.status, limit: q.limit, after: q.after });
        send(ctx, 200, { data: page.items, pagination: { next_cursor: page.nextCursor, has_more: page.nextCursor !== null } });
      },
    },
    { method: "GET", pattern: /^\/v1\/runtimes\/([^/]+)$/, auth: true, handler: async (ctx) => send(ctx, 200, { data: await engine.get(rt(ctx), { usage: true }) }) },
    {
      method: "PATCH",
      pattern: /^\/v1\/runtimes\/([^/]+)$/,
      auth: true,
      handler: async (ctx) => {
        const body = await readJson(ctx, ResizeRuntimeRequestSchema);
        const r = body.resources.requests;
        send(ctx, 200, { data: await engine.resize(rt(ctx), { vcpus: r.vcpus, memoryMib: r.memory_mib }) });
      },
    },
    { method: "DELETE", pattern: /^\/v1\/runtimes\/([^/]+)$/, auth: true, handler: async (ctx) => send(ctx, 200, { data: await engine.delete(rt(ctx)) }) },
    { method: "POST", pattern: /^\/v1\/runtimes\/([^/]+)\/start$/, auth: true, handler: lifecycle((r) => engine.start(r)) },
    { method: "POST", pattern: /^\/v1\/runtimes\/([^/]+)\/stop$/, auth: true, handler: lifecycle((r) => engine.stop(r)) },
    { method: "POST", pattern: /^\/v1\/runtimes\/([^/]+)\/pause$/, auth: true, handler: lifecycle((r) => engine.pause(r)) },
    { method: "POST", pattern: /^\/v1\/runtimes\/([^/]+)\/resume$/, auth: true, handler: lifecycle((r) => engine.resume(r)) },
    {
      method: "POST",
      pattern: /^\/v1\/runtimes\/([^/]+)\/exec$/,
      auth: true,
      handler: async (ctx) => {
        const body = await readJson(ctx, ExecRequestSchema);
        // A client that goes away (Ctrl-C on `runta exec`) takes its command with it, instead of leaving it to run
        // unattended until its timeout.
        const gone = new AbortController();
        const onClose = () => {
          if (!ctx.res.writableFinished) gone.abort();
        };
        ctx.res.once("close", onClose);
        try {
          const result = await engine.exec(rt(ctx), {
            argv: execArgv(body),
            cwd: body.cwd,
            env: body.env,
            stdin: body.stdin === undefined ? undefined : Buffer.from(body.stdin, "utf8"),
            timeoutSecs: body.timeout_secs,
            maxOutputBytes: body.max_output_bytes,
            signal: gone.signal,
          });
          send(ctx, 200, { data: result });
        } finally {
          ctx.res.off("close", onClose);
        }
      },
    },
    {
      method: "GET",
      pattern: /^\/v1\/runtimes\/([^/]+)\/exec\/stream$/,
      auth: true,
      handler: async () => {
        // Upgrades are taken by the websocket attachment before reaching here; a plain GET is a client mistake.
        throw new RuntaError("invalid_argument", "this is a websocket endpoint: connect with 'Connection: Upgrade' and 'Upgrade: websocket' (e.g. runta exec -it)", {
          httpStatus: 426,
        });
      },
    },
    { method: "GET", pattern: /^\/v1\/images$/, auth: true, handler: async (ctx) => send(ctx, 200, { data: await engine.listImages() }) },
    {
      method: "POST",
      pattern: /^\/v1\/images\/build$/,
      auth: true,
      handler: async (ctx) => {
        const body = await readJson(ctx, ImageBuildRequestSchema, true);
        ctx.res.writeHead(200, { "Content-Type": "application/x-ndjson", "Cache-Control": "no-store" });
        const line = (ev: ImageBuildEvent) => {
          if (!ctx.res.destroyed) ctx.res.write(JSON.stringify(ev) + "\n");
        };
        // The status line is already sent, so a failure can only be reported as the terminal `error` line.
        try {
          const image = await engine.buildImage(body.name ?? "default", (ev) => ev.type === "progress" && line(ev), { force: body.force });
          line({ type: "done", data: image });
        } catch (err) {
          const mapped = mapError(err, ctx.requestId, logger);
          line({ type: "error", error: { code: mapped.body.error.code, message: mapped.body.error.message } });
        }
        ctx.res.end();
      },
    },
    {
      method: "POST",
      pattern: /^\/v1\/images\/import$/,
      auth: true,
      handler: async (ctx) => {
        const { name } = parseQuery(ctx, ImageImportQuerySchema);
        const type = mediaType(ctx.req);
        if (!IMPORT_TYPES.has(type)) {
          ctx.res.shouldKeepAlive = false;
          throw new RuntaError("invalid_argument", `image import body must be a tarball: send 'Content-Type: application/x-tar' or 'application/gzip' (got '${type || "none"}')`, {
            httpStatus: 415,
          });
        }
        const limit = LIMITS.imageImportMaxBytes;
        if (Number(ctx.req.headers["content-length"] ?? 0) > limit) {
          ctx.res.shouldKeepAlive = false;
          throw tooLarge(limit);
        }
        let size = 0;
        const capped = new Transform({
          transform(chunk: Buffer, _enc, cb) {
            size += chunk.length;
            if (size > limit) cb(tooLarge(limit));
            else cb(null, chunk);
          },
        });
        ctx.req.pipe(capped);
        ctx.req.on("error", (err) => capped.destroy(err));
        try {
          send(ctx, 201, { data: await engine.importImage(name, capped) });
        } catch (err) {
          // The rest of a refused upload (up to the import cap) is not worth reading: close the connection instead.
          ctx.res.shouldKeepAlive = false;
          // An over-limit body makes the engine fail on a stream error; report the limit, not the engine's wording.
          if (size > limit) throw tooLarge(limit);
          throw err;
        }
      },
    },
    {
      method: "DELETE",
      pattern: /^\/v1\/images\/([^/]+)$/,
      auth: true,
      handler: async (ctx) => {
        const name = pathSegment(ctx.params[0]!);
        await engine.removeImage(name);
        send(ctx, 200, { data: { name } });
      },
    },
  ];

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = newRequestId();
    res.setHeader("X-Request-Id", requestId);
    res.setHeader("Cache-Control", "no-store");
    if (closing) res.shouldKeepAlive = false;
    const url = new URL(req.url ?? "/", "http://localhost");
    const ctx: Ctx = { req, res, requestId, url, params: [] };
    const started = Date.now();
    try {
      if (!checkHost(req)) throw forbiddenOrigin("Host");
      if (!checkOriginHeader(req)) throw forbiddenOrigin("Origin");
      let route: Route | undefined;
      const allowed: string[] = [];
      for (const r of routes) {
        const m = r.pattern.exec(url.pathname);
        if (!m) continue;
        if (r.method !== req.method) {
          allowed.push(r.method);
          continue;
        }
        route = r;
        ctx.params = m.slice(1);
        break;
      }
      if (route?.auth !== false && !authenticate(req)) {
        res.setHeader("WWW-Authenticate", 'Bearer realm="runta"');
        throw unauthenticated(req);
      }
      if (!route) {
        if (allowed.length) {
          res.setHeader("Allow", allowed.join(", "));
          throw new RuntaError("invalid_argument", `method ${req.method} is not allowed on ${url.pathname}; use ${allowed.join(" or ")}`, {
            httpStatus: 405,
          });
        }
        throw errors.notFound(`no such route: ${req.method} ${url.pathname} (see GET /v1/openapi.json)`);
      }
      await route.handler(ctx);
    } catch (err) {
      const { status, body } = mapError(err, requestId, logger);
      if (res.headersSent) {
        res.destroy();
      } else {
        send(ctx, status, body);
      }
    } finally {
      logger.debug("request", { request_id: requestId, method: req.method, path: url.pathname, status: res.statusCode, ms: Date.now() - started });
    }
  }

  const server = createServer({ keepAlive: true }, (req, res) => {
    // The request has arrived: its handler may take long (an exec runs up to an hour) with a silent socket. After the
    // response node arms the keep-alive timeout, and the next request re-arms the idle one.
    req.socket.setTimeout(0);
    inflight++;
    res.on("close", () => {
      inflight--;
      if (inflight === 0) for (const w of idleWaiters.splice(0)) w();
    });
    void handle(req, res);
  });
  // Slow-loris guard for headers; the request timeout bounds receiving a body (generous for image imports).
  server.headersTimeout = 20_000;
  server.requestTimeout = 15 * 60_000;
  server.keepAliveTimeout = 5_000;
  server.timeout = opts.idleConnectionMs ?? IDLE_CONNECTION_MS;
  server.maxConnections = opts.maxConnections ?? LIMITS.connectionsMax;

  const streams = opts.attachStreams?.(server, {
    engine,
    authenticate,
    checkOrigin: (req) => checkHost(req) && checkOriginHeader(req),
    logger,
  });

  return {
    server,
    listen(host, p) {
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(p, host, () => {
          server.off("error", reject);
          port = (server.address() as AddressInfo).port;
          const h = host.includes(":") ? `[${host}]` : host;
          resolve(`http://${h}:${port}`);
        });
      });
    },
    async close(graceMs = 10_000) {
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      streams?.closeAll(1001, "daemon shutting down");
      if (inflight > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, graceMs);
          idleWaiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      server.closeAllConnections();
      await closed;
    },
  };
}
