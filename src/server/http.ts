/**
 * The HTTP toolkit the route modules share: the request context, the route type, JSON envelopes, body limits and
 * validated reads. Handlers throw; the server (app.ts) turns every failure into the one error mapping (errors.ts).
 */
import { randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { z } from "zod";
import { LIMITS, RuntaError, errors } from "../api/index.js";
import type { Engine } from "../engine/types.js";
import type { IngressInfo } from "../api/ports-spec.js";
import type { Logger } from "../log.js";
import type { DashboardDeps } from "./dashboard/routes.js";
import { validationError } from "./errors.js";

/** One request being handled. `params` holds the decoded `{name}` segments of the route's path. */
export interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  requestId: string;
  url: URL;
  params: Record<string, string>;
  /** How the request was authenticated: the bearer token, a dashboard session cookie, or not at all (auth: false). */
  auth?: "token" | "session";
}

/** Handles one request; writes the response or throws (the server maps what it throws). */
export type Handler = (ctx: Ctx) => Promise<void>;

/** One route. `path` is a template: `{name}` matches one segment, `{name*}` the rest of the path (may be empty). */
export interface Route {
  method: string;
  path: string;
  /** Default true: every route but /v1/health needs the bearer token. */
  auth?: boolean;
  handler: Handler;
}

/** What a route module is given. */
export interface RouteDeps {
  engine: Engine;
  logger: Logger;
  /** The dashboard's sessions and files (routes/dashboard.ts). */
  dashboard: DashboardDeps;
  /** The ingress's address and CA (routes/ports.ts); null when the daemon runs without one. */
  ingress: () => IngressInfo | null;
}

/** A route module (routes/*.ts): a function from the server's dependencies to its routes. */
export type RouteModule = (deps: RouteDeps) => Route[];

export const JSON_TYPE = "application/json; charset=utf-8";

/** A fresh request id; it is sent as X-Request-Id, in every error envelope, and in the daemon log. */
export function newRequestId(): string {
  return "req_" + randomBytes(9).toString("base64url");
}

/** Sends `body` as JSON with `status`. */
export function send(ctx: Ctx, status: number, body: unknown): void {
  sendText(ctx, status, JSON.stringify(body));
}

/** Pieces of pending JSON text gathered into one socket write. */
const WRITE_CHARS = 64 * 1024;
/** How long an answer may wait for its client to take more of it before the connection is cut. */
export const ANSWER_STALL_MS = 60_000;

/**
 * A JSON string given as pieces of its contents, already escaped (exec output: exec-output.ts encodedPieces), so that
 * {@link sendStreamed} writes it without ever holding it whole.
 */
export class JsonStringPieces {
  constructor(readonly pieces: Iterable<string>) {}
}

/**
 * Sends `body` as JSON written in pieces, waiting for the client to take each (chunked, no Content-Length); a client
 * that takes nothing for ANSWER_STALL_MS is cut. With {@link JsonStringPieces} for its long strings the answer is
 * never held whole, and their escapes (6 bytes per control byte) cost the daemon one piece, not 6× the output.
 */
export async function sendStreamed(ctx: Ctx, status: number, body: unknown): Promise<void> {
  const { res } = ctx;
  res.writeHead(status, { "Content-Type": JSON_TYPE });
  let pending = "";
  for (const piece of jsonPieces(body)) {
    pending += piece;
    if (pending.length < WRITE_CHARS) continue;
    const more = res.write(pending);
    pending = "";
    if (!more) await drained(res);
    if (res.destroyed) return;
  }
  res.end(pending);
}

/** Resolves when `res` drained or closed; cuts the connection of a client that took nothing for ANSWER_STALL_MS. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      res.off("drain", done).off("close", done);
      resolve();
    };
    const timer = setTimeout(() => {
      res.destroy();
      done();
    }, ANSWER_STALL_MS);
    res.once("drain", done).once("close", done);
  });
}

/** JSON.stringify of plain data (objects, arrays, primitives) as a sequence of pieces; {@link JsonStringPieces} as theirs. */
function* jsonPieces(value: unknown): Generator<string> {
  if (value instanceof JsonStringPieces) {
    yield '"';
    yield* value.pieces;
    yield '"';
  } else if (Array.isArray(value)) {
    yield "[";
    for (let i = 0; i < value.length; i++) {
      if (i > 0) yield ",";
      yield* value[i] === undefined ? ["null"] : jsonPieces(value[i]);
    }
    yield "]";
  } else if (value !== null && typeof value === "object" && !("toJSON" in value)) {
    yield "{";
    let first = true;
    for (const [key, v] of Object.entries(value)) {
      if (v === undefined) continue;
      yield `${first ? "" : ","}${JSON.stringify(key)}:`;
      first = false;
      yield* jsonPieces(v);
    }
    yield "}";
  } else {
    yield JSON.stringify(value) ?? "null";
  }
}

/** Sends already-serialized JSON (a large page as bytes: encoded once, not measured and then encoded again). */
export function sendText(ctx: Ctx, status: number, payload: string | Buffer): void {
  ctx.res.writeHead(status, { "Content-Type": JSON_TYPE, "Content-Length": Buffer.byteLength(payload) });
  ctx.res.end(payload);
}

function hasBody(req: IncomingMessage): boolean {
  const len = req.headers["content-length"];
  if (len !== undefined) return Number(len) > 0;
  return req.headers["transfer-encoding"] !== undefined;
}

/** The request's media type, lower-cased without parameters ("" when none). */
export function mediaType(req: IncomingMessage): string {
  return (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
}

/** The 413 for a body over `limit` bytes. */
export function tooLarge(limit: number): RuntaError {
  return new RuntaError("resource_exhausted", `request body is larger than the ${limit}-byte limit`, {
    httpStatus: 413,
    details: { limit_bytes: limit },
  });
}

/** The 415 for a body of the wrong type; the rest of the body is not read, so the connection is closed after it. */
export function unsupportedMediaType(ctx: Ctx, message: string): RuntaError {
  ctx.res.shouldKeepAlive = false;
  return new RuntaError("invalid_argument", message, { httpStatus: 415 });
}

/** Throws 413 (closing the connection after it) when the declared Content-Length is over `limit`. */
export function checkDeclaredLength(ctx: Ctx, limit: number): void {
  if (Number(ctx.req.headers["content-length"] ?? 0) > limit) {
    ctx.res.shouldKeepAlive = false;
    throw tooLarge(limit);
  }
}

/** The 408 for a JSON body that did not arrive whole within LIMITS.requestBodyDeadlineSecs. */
function bodyTooSlow(): RuntaError {
  const secs = LIMITS.requestBodyDeadlineSecs;
  return new RuntaError("deadline_exceeded", `request body did not arrive within ${secs} s; send it faster or smaller`, {
    httpStatus: 408,
    details: { deadline_secs: secs },
  });
}

/**
 * Reads the whole body up to `limit` bytes within LIMITS.requestBodyDeadlineSecs. Past the size 413, past the
 * deadline 408; either way the rest is not read (the response closes the connection: guard.ts closeUnreadBodies).
 */
function readBody(ctx: Ctx, limit: number): Promise<Buffer> {
  checkDeclaredLength(ctx, limit);
  const req = ctx.req;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = (err: RuntaError | null) => {
      clearTimeout(timer);
      req.off("data", onData).off("end", onEnd).off("aborted", onAborted).off("error", onAborted);
      if (err) {
        req.pause();
        reject(err);
      } else resolve(Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return done(tooLarge(limit));
      chunks.push(chunk);
    };
    const onEnd = () => done(null);
    const onAborted = () => done(errors.invalid("the client closed the connection before sending the whole body"));
    const timer = setTimeout(() => done(bodyTooSlow()), LIMITS.requestBodyDeadlineSecs * 1000);
    req.on("data", onData).once("end", onEnd).once("aborted", onAborted).once("error", onAborted);
  });
}

/**
 * Reads and validates a JSON body. `optional` routes accept no body at all (treated as `{}`).
 * Parser messages never reach the client: bad JSON gets one plain sentence.
 */
export async function readJson<S extends z.ZodType>(ctx: Ctx, schema: S, optional = false): Promise<z.infer<S>> {
  let value: unknown = {};
  if (hasBody(ctx.req)) {
    const type = mediaType(ctx.req);
    if (type !== "application/json" && !(type === "" && optional)) {
      throw unsupportedMediaType(ctx, `request body must be JSON: send 'Content-Type: application/json' (got '${type || "none"}')`);
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

/** Validates the query string against `schema`; failures name the field as `query.<name>`. */
export function parseQuery<S extends z.ZodType>(ctx: Ctx, schema: S): z.infer<S> {
  const parsed = schema.safeParse(Object.fromEntries(ctx.url.searchParams));
  if (!parsed.success) throw validationError(parsed.error, "query");
  return parsed.data;
}

/** Decodes one path segment; malformed percent-escapes are the client's error, not ours. */
export function pathSegment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw errors.invalid(`path segment '${raw}' has a malformed %-escape: encode names with encodeURIComponent`);
  }
}
