/**
 * What runc's failures mean: the one parser of runc's JSON log, the error a failed runc call throws, and the one
 * classifier of exec failures (a command not found or not executable reads as a shell would say it; runc's other
 * failures become the error to throw). Split from runc.ts, which builds every runc command line.
 */
import { RuntaError, errors } from "../api/index.js";

/** A failed runc call: `runcMessage` is runc's own error text, `exitCode` its exit status. */
export class RuncError extends RuntaError {
  readonly runcMessage: string;
  readonly exitCode: number | null;
  constructor(verb: string, runcMessage: string, exitCode: number | null) {
    super("internal", `runc ${verb} failed: ${runcMessage}`);
    this.name = "RuncError";
    this.runcMessage = runcMessage;
    this.exitCode = exitCode;
  }
}


/** The message of the last error-level line of runc's JSON log output; falls back to the raw text. The one parser of runc's log. */
export function runcErrorMessage(text: string): string {
  let message = "";
  for (const line of text.split("\n")) {
    const trimmed = line.trim();
    if (!trimmed) continue;
    try {
      const entry = JSON.parse(trimmed) as { level?: string; msg?: string };
      if ((entry.level === "error" || entry.level === "fatal") && entry.msg) message = entry.msg;
    } catch {
      // runc also prints plain lines (e.g. `exec failed: ...`) next to its JSON log.
      if (!message) message = trimmed;
    }
  }
  return message || text.trim() || "no error message";
}


/** A command runc could not start: the exit code and message a shell would give, or the error to throw. */
export type ExecFailure = { exitCode: 127 | 126; message: string } | RuntaError;

/**
 * What runc's exec error means for the caller: the 127/126 exit codes a shell would give for a command that is not
 * found or not executable, or the error to throw for runc's other failures (paused or stopped container, bad cwd).
 * The one classifier of exec failures: buffered and streamed exec report the same codes and messages.
 */
export function classifyExecFailure(message: string, runtime = "the runtime"): ExecFailure {
  const exec = /exec: "([^"]*)": (.*)$/m.exec(message);
  if (exec) {
    if (/not found|no such file or directory/i.test(exec[2])) {
      return { exitCode: 127, message: `${exec[1]}: command not found` };
    }
    if (/permission denied|exec format error|is a directory/i.test(exec[2])) {
      return { exitCode: 126, message: `${exec[1]}: ${exec[2]}` };
    }
  }
  if (/paused container/i.test(message)) return errors.precondition(`${runtime} is paused; resume it before exec`);
  if (/stopped container|container that has stopped|not running|container does not exist/i.test(message)) {
    return errors.precondition(`${runtime} is not running; start it before exec`);
  }
  const cwd = /chdir to cwd \("([^"]*)"\)/.exec(message);
  if (cwd) return errors.invalid(`the working directory ${cwd[1]} does not exist in ${runtime}; pass an existing cwd`, { field: "cwd" });
  return errors.internal(`runc exec failed in ${runtime}: ${message || "no error message (is runc installed and working?)"}`);
}

/**
 * An execve that failed after runc started the command. runc 1.1 writes the pid file before its init calls execve, so
 * a file that is not a valid executable, an interpreter line naming a missing program or arguments past the kernel's
 * limit end as a command that printed `exec <path>: <error>` (runc init's own line) and exited 1. That output, alone,
 * with status 1, is read as the failure it is: 126 (found but not executable), or 127 (a missing interpreter), like a
 * shell's; null for anything else.
 */
export function execveFailure(exitCode: number, output: string): { exitCode: 126 | 127; message: string } | null {
  if (exitCode !== 1) return null;
  const m = /^exec (.+): (exec format error|permission denied|is a directory|argument list too long|no such file or directory|text file busy)\r?\n$/.exec(output);
  if (!m) return null;
  return { exitCode: m[2] === "no such file or directory" ? 127 : 126, message: `${m[1]}: ${m[2]}` };
}

/** The error for a runc binary that cannot be started at all. */
export function runcUnavailable(path: string, err: NodeJS.ErrnoException): RuntaError {
  const why = err.code === "ENOENT" ? "was not found" : err.code === "EACCES" ? "is not executable" : `cannot be started (${err.message})`;
  return new RuntaError("unavailable", `runc ${why} at ${path}; install it with 'apt-get install runc' or pass the right runc path`, {
    cause: err,
  });
}