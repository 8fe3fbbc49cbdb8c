/**
 * Typed SDK errors: one class per API error code, built by ONE factory from a status and an error envelope.
 * `err instanceof NotFoundError` or `err.code === "not_found"` both work.
 */
import { isErrorCode, type ErrorCode, type ErrorDetails } from "../api/errors.js";

/** Any error the API reported (or the SDK inferred, e.g. `unavailable` when the daemon cannot be reached). */
export class RuntaApiError extends Error {
  /** The API error code (DESIGN §3). */
  readonly code: ErrorCode;
  /** HTTP status of the response; 0 when no response arrived (connection failures). */
  readonly status: number;
  /** Structured details from the envelope (e.g. the offending field); undefined when none. */
  readonly details?: ErrorDetails;
  /** The daemon's request id, for matching the daemon log; undefined when no response arrived. */
  readonly requestId?: string;

  constructor(code: ErrorCode, message: string, opts: { status?: number; details?: ErrorDetails; requestId?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "RuntaApiError";
    this.code = code;
    this.status = opts.status ?? 0;
    this.details = opts.details;
    this.requestId = opts.requestId;
  }
}

/** 400/422: a request field is missing, malformed or out of range. */
export class InvalidArgumentError extends RuntaApiError {}
/** 401: missing or wrong token. */
export class UnauthenticatedError extends RuntaApiError {}
/** 403: refused (e.g. Host/Origin not allowed). */
export class PermissionDeniedError extends RuntaApiError {}
/** 404: no such runtime, image or route. */
export class NotFoundError extends RuntaApiError {}
/** 409: the name (or idempotency key) is taken. */
export class AlreadyExistsError extends RuntaApiError {}
/** 409: the runtime's status does not allow the operation (the message names the status and the fix). */
export class FailedPreconditionError extends RuntaApiError {}
/** 413/429/507: a limit was reached. */
export class ResourceExhaustedError extends RuntaApiError {}
/** 504: the operation took too long. */
export class DeadlineExceededError extends RuntaApiError {}
/** 500: the daemon failed; `requestId` finds the details in its log. */
export class InternalError extends RuntaApiError {}
/** 503 or no connection: the daemon is not reachable or not ready. */
export class UnavailableError extends RuntaApiError {}

const CLASSES: Record<ErrorCode, typeof RuntaApiError> = {
  invalid_argument: InvalidArgumentError,
  unauthenticated: UnauthenticatedError,
  permission_denied: PermissionDeniedError,
  not_found: NotFoundError,
  already_exists: AlreadyExistsError,
  failed_precondition: FailedPreconditionError,
  resource_exhausted: ResourceExhaustedError,
  deadline_exceeded: DeadlineExceededError,
  internal: InternalError,
  unavailable: UnavailableError,
};

const CODE_FOR_STATUS: Record<number, ErrorCode> = {
  400: "invalid_argument",
  401: "unauthenticated",
  403: "permission_denied",
  404: "not_found",
  409: "failed_precondition",
  413: "resource_exhausted",
  415: "invalid_argument",
  422: "invalid_argument",
  429: "resource_exhausted",
  503: "unavailable",
  504: "deadline_exceeded",
  507: "resource_exhausted",
};

/** The typed error class for `code` with full options (status, details, request id, cause). */
export function typedApiError(code: ErrorCode, message: string, opts: { status?: number; details?: ErrorDetails; requestId?: string; cause?: unknown }): RuntaApiError {
  const Cls = CLASSES[code];
  const err = new Cls(code, message, opts);
  err.name = Cls.name;
  return err;
}

/**
 * The one factory: a typed error from an HTTP status and a (possibly malformed) response body.
 * A body without a known code falls back to the code for the status (500 → internal).
 */
export function apiErrorFrom(status: number, body: unknown, requestId?: string): RuntaApiError {
  const envelope = body as { error?: { code?: unknown; message?: unknown; details?: unknown }; request_id?: unknown } | null;
  const e = envelope && typeof envelope === "object" ? envelope.error : undefined;
  const code: ErrorCode = isErrorCode(e?.code) ? e.code : (CODE_FOR_STATUS[status] ?? (status >= 500 ? "internal" : "invalid_argument"));
  const message = typeof e?.message === "string" && e.message ? e.message : `the daemon answered HTTP ${status} without an error message`;
  const details = e?.details && typeof e.details === "object" ? (e.details as ErrorDetails) : undefined;
  const rid = typeof envelope?.request_id === "string" ? envelope.request_id : requestId;
  return typedApiError(code, message, { status, details, requestId: rid });
}

/** A typed error from a code and message (websocket error frames, client-side failures). Unknown codes become `internal`. */
export function apiErrorFromCode(code: string, message: string, details?: ErrorDetails): RuntaApiError {
  return typedApiError(isErrorCode(code) ? code : "internal", message, { details });
}

/** Wraps a network failure (refused, DNS, timeout) as UnavailableError naming the endpoint. */
export function unavailableError(endpoint: string, cause: unknown): UnavailableError {
  const c = cause as { code?: string; name?: string; message?: string; cause?: { code?: string; message?: string } };
  const why = c?.name === "TimeoutError" ? "timed out" : (c?.cause?.code ?? c?.code ?? c?.cause?.message ?? c?.message ?? "connection failed");
  return typedApiError("unavailable", `cannot reach the runta daemon at ${endpoint} (${why}): is it running? start it with 'runta daemon start'`, {
    cause,
  }) as UnavailableError;
}
