/** CLI-side failures that are not API errors, and the exit codes; main.ts maps each failure to its exit code. */

/**
 * Exit codes (DESIGN §7). exec ends with the remote code, or `execFailure` when runta itself failed (docker's 125);
 * `interrupted` is what a shell expects from a command ended by Ctrl-C (128 + SIGINT).
 */
export const EXIT = { ok: 0, error: 1, usage: 2, execFailure: 125, interrupted: 130 } as const;

/** The user typed something the CLI cannot accept (exit 2). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Several targets failed (lifecycle verbs, apply); main prints each cause on its own line and exits 1. */
export class MultiTargetError extends Error {
  readonly failures: { target: string; error: unknown }[];
  constructor(failures: { target: string; error: unknown }[]) {
    super(`${failures.length} of the targets failed`);
    this.name = "MultiTargetError";
    this.failures = failures;
  }
}

/**
 * Ends the command with a specific exit code (docker's StatusError). Without a cause the command has said all it had
 * to (exec's remote code, 130 after Ctrl-C); with one, main reports the cause as it would any error and exits with
 * `status` (exec's 125, so that runta's own failure is not mistaken for a code the command returned).
 */
export class StatusError extends Error {
  readonly status: number;
  constructor(status: number, cause?: unknown) {
    super(cause === undefined ? `exit ${status}` : `exit ${status}: ${cause instanceof Error ? cause.message : String(cause)}`, cause === undefined ? undefined : { cause });
    this.name = "StatusError";
    this.status = status;
  }
}
