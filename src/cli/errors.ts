/** CLI-side failures that are not API errors; main.ts maps each class to an exit code. */

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

/** Ends the command with a specific exit code after it has printed what it had to say (exec's remote code). */
export class ExitCode extends Error {
  readonly code: number;
  constructor(code: number) {
    super(`exit ${code}`);
    this.name = "ExitCode";
    this.code = code;
  }
}
