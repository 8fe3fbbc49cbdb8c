/**
 * The one list of error codes, shared by the engine, the server, the SDK and the CLI.
 * Engine and server throw {@link RuntaError}; the server maps `code` to an HTTP status with
 * {@link httpStatusFor}; the SDK rebuilds a typed subclass from the envelope; the CLI maps it to an exit code.
 */

export const ERROR_CODES = [
  "invalid_argument",
  "unauthenticated",
  "permission_denied",
  "not_found",
  "already_exists",
  "failed_precondition",
  "resource_exhausted",
  "deadline_exceeded",
  "internal",
  "unavailable",
] as const;

/** A stable, machine-readable error code (DESIGN §3). */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Extra, structured facts about an error (e.g. the offending field and its allowed range). */
export type ErrorDetails = Record<string, unknown>;

/** An error with a stable code; safe to show its message to a user. */
export class RuntaError extends Error {
  readonly code: ErrorCode;
  readonly details?: ErrorDetails;
  /** Overrides the default HTTP status for the code (e.g. 422 for a well-formed value out of range, 507 for a full disk). */
  readonly httpStatus?: number;

  constructor(code: ErrorCode, message: string, opts: { details?: ErrorDetails; httpStatus?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "RuntaError";
    this.code = code;
    this.details = opts.details;
    this.httpStatus = opts.httpStatus;
  }
}

const DEFAULT_STATUS: Record<ErrorCode, number> = {
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
};

/** The HTTP status for an error: its own override, else the default for its code. */
export function httpStatusFor(err: Pick<RuntaError, "code" | "httpStatus">): number {
  return err.httpStatus ?? DEFAULT_STATUS[err.code];
}

/** Whether a string is one of the known error codes. */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && (ERROR_CODES as readonly string[]).includes(value);
}

/** Shorthands used across the engine and server. */
export const errors = {
  invalid: (message: string, details?: ErrorDetails) => new RuntaError("invalid_argument", message, { details }),
  outOfRange: (message: string, details?: ErrorDetails) =>
    new RuntaError("invalid_argument", message, { details, httpStatus: 422 }),
  notFound: (message: string, details?: ErrorDetails) => new RuntaError("not_found", message, { details }),
  exists: (message: string, details?: ErrorDetails) => new RuntaError("already_exists", message, { details }),
  precondition: (message: string, details?: ErrorDetails) =>
    new RuntaError("failed_precondition", message, { details }),
  exhausted: (message: string, details?: ErrorDetails, httpStatus = 429) =>
    new RuntaError("resource_exhausted", message, { details, httpStatus }),
  internal: (message: string, cause?: unknown) => new RuntaError("internal", message, { cause }),
  unavailable: (message: string, cause?: unknown) => new RuntaError("unavailable", message, { cause }),
  deadline: (message: string) => new RuntaError("deadline_exceeded", message),
};
