import { Command } from "commander";
import type { RuntaApi } from "../../client/contract.js";
import type { CliContext } from "../context.js";
import { EXIT, StatusError, UsageError } from "../errors.js";
import { untilInterrupted } from "../interrupt.js";
import { LIMITS } from "../../api/limits.js";
import { boundedNumber, collectKeyValue, ENV_NAME } from "../parse.js";
import { withRuntime } from "../targets.js";

/** Flags of `runta exec`. */
export interface ExecCommandOptions {
  interactive?: boolean;
  tty?: boolean;
  env?: Record<string, string>;
  workdir?: string;
  timeout?: number;
}

/** `runta exec`. */
export function execCommand(ctx: CliContext): Command {
  return new Command("exec")
    .description("Run a command in a runtime; exits with the command's exit code")
    .argument("<runtime>", "runtime name or id")
    .argument("<command...>", "the command and its arguments (after --)")
    .option("-i, --interactive", "stream stdin to the command")
    .option("-t, --tty", "allocate a terminal (needs a terminal on stdin)")
    .option("-e, --env <K=V>", "environment variable (repeatable)", collectKeyValue("-e", ENV_NAME, ctx.env))
    .option("-w, --workdir <dir>", "working directory inside the runtime (absolute path)")
    .option("--timeout <secs>", "kill the command after this many seconds (buffered exec; default 60)", boundedNumber("--timeout", { min: 0, max: LIMITS.execTimeoutSecsMax, unit: "seconds", minExclusive: true }))
    .addHelpText(
      "after",
      `
Exit status: the command's own code; ${EXIT.execFailure} when runta itself failed; 126 not executable; 127 not found; 128+n killed by signal n.

Examples:
  runta exec worker -- sh -lc 'pwd && python3 --version'
  runta exec -it worker -- bash
  echo hello | runta exec -i worker -- cat
  runta exec -e APP_ENV=dev -w /tmp --timeout 10 worker -- env`,
    )
    .action((target: string, argv: string[], opts: ExecCommandOptions) => runExec(ctx, target, argv, opts));
}

/**
 * Runs the command buffered (plain) or streamed through the TTY bridge (-i/-t) and ends with its exit code as a
 * StatusError; runta's own failure (no such runtime, daemon gone, …) becomes a StatusError of EXIT.execFailure with
 * the failure as its cause, so main reports it and exits with a code the command could not have returned.
 */
export async function runExec(ctx: CliContext, target: string, argv: string[], opts: ExecCommandOptions): Promise<void> {
  if (opts.workdir !== undefined && !opts.workdir.startsWith("/")) {
    throw new UsageError(`-w "${opts.workdir}" must be an absolute path inside the runtime, e.g. -w /root`);
  }
  if (opts.tty && ctx.io.stdin.isTTY !== true) {
    throw new UsageError("the input device is not a TTY — drop -t (use -i alone to pipe stdin)");
  }
  if ((opts.interactive || opts.tty) && opts.timeout !== undefined) {
    throw new UsageError("--timeout applies to plain exec only; a streamed session (-i/-t) ends when you leave it — drop one of them");
  }
  let code: number;
  try {
    const runta = await ctx.client();
    code = opts.interactive || opts.tty ? await streamed(ctx, runta, target, argv, opts) : await buffered(ctx, runta, target, argv, opts);
  } catch (err) {
    if (err instanceof UsageError || err instanceof StatusError) throw err;
    throw new StatusError(EXIT.execFailure, err);
  }
  if (code !== EXIT.ok) throw new StatusError(code);
}

/** A session through the TTY bridge; resolves with the remote exit code. */
async function streamed(ctx: CliContext, runta: RuntaApi, target: string, argv: string[], opts: ExecCommandOptions): Promise<number> {
  const tty = opts.tty === true;
  const { bridgeExec, streamEnv, terminalSize } = await import("../tty/bridge.js");
  const size = tty ? terminalSize(ctx.io.stdout) : {};
  // A stream reports a bad target only once connected; resolve names and id prefixes up front instead, without
  // asking the daemon for the cgroup usage a lookup does not need.
  const id = (await withRuntime(runta, target, (t) => runta.runtimes.get(t, { usage: false }))).id;
  const env = streamEnv(opts.env, tty, ctx.env);
  const handle = runta.runtimes.execStream(id, argv, { tty, ...size, env, cwd: opts.workdir });
  const bridge = ctx.deps.bridge ?? bridgeExec;
  return bridge(handle, ctx.io, { tty, interactive: opts.interactive === true, signals: ctx.deps.signals ?? process });
}

/** A buffered exec: output written as it came back, with warnings for what was cut short; resolves with the exit code. */
async function buffered(ctx: CliContext, runta: RuntaApi, target: string, argv: string[], opts: ExecCommandOptions): Promise<number> {
  const exec = withRuntime(runta, target, (t) => runta.runtimes.exec(t, argv, { env: opts.env, cwd: opts.workdir, timeoutSecs: opts.timeout }));
  // Our exit closes the request, and the daemon kills a buffered exec whose client left (its whole process group).
  const res = await untilInterrupted(ctx, exec, () => {
    ctx.io.stderr.write(`runta: interrupted — the command in ${target} is killed with its children\n`);
  });
  ctx.io.stdout.write(res.stdoutText);
  ctx.io.stderr.write(res.stderrText);
  const warn = (m: string) => ctx.io.stderr.write(`runta: warning: ${m}\n`);
  if (res.stdout_truncated || res.stderr_truncated) {
    const which = [res.stdout_truncated && "stdout", res.stderr_truncated && "stderr"].filter(Boolean).join(" and ");
    warn(`${which} truncated at the output limit — use runta exec -i to stream large output`);
  }
  if (res.timed_out) warn(`the command timed out${opts.timeout ? ` after ${opts.timeout} s` : ""} and was killed — raise --timeout`);
  if (res.oom_killed) warn(`the command was killed for lack of memory — raise it with runta resize --memory <MiB> ${target}`);
  return res.exit_code;
}
