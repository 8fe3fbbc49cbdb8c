/**
 * The server's one error boundary: every failure of a request becomes `{status, envelope}` here and nowhere else.
 * RuntaError keeps its code and message; zod failures become invalid_argument naming the field and the allowed range;
 * anything else is `internal` with a generic message (the real error is logged server-side with the request id).
 */
import { z } from "zod";
import { RuntaError, httpStatusFor, type ErrorDetails, type ErrorEnvelope } from "../api/index.js";
import type { Logger } from "../log.js";

/** A status, the headers that go with it, and the wire error envelope. */
export interface MappedError {
  status: number;
  /** `Retry-After` on 429 and 503 (seconds: the error's `details.retry_after_secs`, else 1). */
  headers: Record<string, string>;
  body: ErrorEnvelope;
}

/** Issue codes where the value had the right type and shape but was outside what is allowed → 422. */
const RANGE_CODES = new Set(["too_big", "too_small", "not_multiple_of"]);

function fieldPath(path: readonly PropertyKey[], prefix?: string): string {
  const parts = path.map(String);
  if (prefix) parts.unshift(prefix);
  return parts.length ? parts.join(".") : "body";
}

/**
 * Turns a zod error into one invalid_argument RuntaError: the first issue leads the message, every issue is listed in
 * `details.issues`. `prefix` names where the value came from (e.g. "query").
 */
export function validationError(err: z.ZodError, prefix?: string): RuntaError {
  const issues = err.issues.map((issue) => {
    if (issue.code === "unrecognized_keys") {
      const keys = issue.keys.map((k) => fieldPath([...issue.path, k], prefix));
      return { field: keys[0], message: `unknown field${keys.length > 1 ? "s" : ""} ${keys.join(", ")}: remove it`, range: false };
    }
    const field = fieldPath(issue.path, prefix);
    let message = issue.message;
    // zod's default texts ("Invalid input: expected number, received string") are replaced by ours where we know better.
    if (issue.code === "invalid_type" && message.startsWith("Invalid input")) {
      message = message.endsWith("received undefined") ? `is required (${issue.expected})` : `must be of type ${issue.expected}`;
    } else if ((issue.code === "too_big" || issue.code === "too_small") && /^Too (big|small)/.test(message)) {
      const unit = issue.origin === "string" ? " characters" : issue.origin === "array" || issue.origin === "set" ? " entries" : "";
      const bound = issue.code === "too_big" ? issue.maximum : issue.minimum;
      const word = issue.code === "too_big" ? (issue.inclusive === false ? "less than" : "at most") : issue.inclusive === false ? "more than" : "at least";
      message = `must be ${word} ${String(bound)}${unit}`;
    } else if (issue.code === "invalid_value" && "values" in issue) {
      message = `must be one of ${(issue.values as unknown[]).map((v) => JSON.stringify(v)).join(", ")}`;
    }
    const details: Record<string, unknown> = {};
    if (issue.code === "too_small") details.minimum = issue.minimum;
    if (issue.code === "too_big") details.maximum = issue.maximum;
    // A number that is not whole where an integer is needed is well-formed but out of the allowed set, like a range.
    const range = RANGE_CODES.has(issue.code) || (issue.code === "invalid_type" && issue.expected === "int" && !message.endsWith("received undefined"));
    return { field, message: `${field}: ${message}`, range, ...details };
  });
  const first = issues[0]!;
  const allRange = issues.every((i) => i.range);
  const details: ErrorDetails = {
    field: first.field,
    issues: issues.map(({ range: _range, ...rest }) => rest),
  };
  return new RuntaError("invalid_argument", first.message, { details, httpStatus: allRange ? 422 : 400 });
}

/** Maps any thrown value to an HTTP status and the error envelope; logs unexpected errors with the request id. */
export function mapError(err: unknown, requestId: string, logger: Logger): MappedError {
  let re: RuntaError;
  if (err instanceof RuntaError) {
    re = err;
    if (re.code === "internal") logger.error("internal error", { request_id: requestId, error: re.message, cause: String(re.cause ?? "") });
  } else if (err instanceof z.ZodError) {
    re = validationError(err);
  } else {
    logger.error("unexpected error", {
      request_id: requestId,
      error: err instanceof Error ? err.message : String(err),
      stack: err instanceof Error ? err.stack : undefined,
    });
    re = new RuntaError("internal", `internal error; the daemon log has the details under request id ${requestId}`);
  }
  const error: ErrorEnvelope["error"] = { code: re.code, message: re.message };
  if (re.details !== undefined) error.details = re.details;
  const status = httpStatusFor(re);
  const headers: Record<string, string> = {};
  if (status === 429 || status === 503) {
    const secs = re.details?.retry_after_secs;
    headers["Retry-After"] = String(typeof secs === "number" && secs > 0 ? Math.ceil(secs) : 1);
  }
  return { status, headers, body: { error, request_id: requestId } };
}
