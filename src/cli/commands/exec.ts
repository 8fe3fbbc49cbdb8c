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
  detach?: boolean;
  user?: string;
  env?: Record<string, string>;
  workdir?: string;
  timeout?: number;
  grace?: number;
}

/** `runta exec`. */
export function execCommand(ctx: CliContext): Command {
  return new Command("exec")
    .description("Run a command in a runtime; exits with the command's exit code")
    .argument("<runtime>", "runtime name or id")
    .argument("<command...>", "the command and its arguments (after --)")
    .option("-i, --interactive", "stream stdin to the command")
    .option("-t, --tty", "allocate a terminal (needs a terminal on stdin)")
    .option("-d, --detach", "start the command, print its exec id and leave it running (output discarded)")
    .option("-u, --user <user[:group]>", "run as this user (name or number, resolved inside the runtime)")
    .option("-e, --env <K=V>", "environment variable (repeatable; -e K alone passes your K)", collectKeyValue("-e", ENV_NAME, ctx.env))
    .option("-w, --workdir <dir>", "working directory inside the runtime (absolute path)")
    .option(
      "--timeout <secs>",
      "kill the command (and its session) after this many seconds (default: none)",
      boundedNumber("--timeout", { min: 0, max: LIMITS.execTimeoutSecsMax, unit: "seconds", minExclusive: true }),
    )
    .option(
      "--grace <secs>",
      `with -t: how long the session waits for 'runta attach' when the connection drops (default ${LIMITS.execGraceSecsDefault}; 0 hangs up at once)`,
      boundedNumber("--grace", { min: 0, max: LIMITS.execGraceSecsMax, unit: "seconds", integer: true }),
    )
    .addHelpText(
      "after",
      `
Output streams as the command writes it, byte for byte, stdout and stderr apart. The exec ends when the command
does; jobs it started in the background keep running. Ctrl-C kills the command with its children.

Exit status: the command's own code; ${EXIT.execFailure} when runta itself failed; 126 not executable; 127 not found; 128+n killed by signal n.

Examples:
  runta exec worker -- sh -lc 'pwd && python3 --version'
  runta exec worker -- tar c -C /etc . > etc.tar
  runta exec -it worker -- bash
  echo hello | runta exec -i worker -- cat
  runta exec -d worker -- python3 -m http.server 8000
  runta exec -u nobody worker -- id
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
    throw new UsageError("--timeout applies to plain and detached exec; a session (-i/-t) ends when you leave it — drop one of them");
  }
  if (opts.detach && (opts.interactive || opts.tty)) {
    throw new UsageError("-d starts the command without a connection, so it takes no -i or -t — drop one of them");
  }
  if (opts.grace !== undefined && !opts.tty) throw new UsageError("--grace applies to terminal sessions (-t) only");
  let code: number;
  try {
    const runta = await ctx.client();
    if (opts.detach) code = await detached(ctx, runta, target, argv, opts);
    else if (opts.interactive || opts.tty) code = await streamed(ctx, runta, target, argv, opts);
    else code = await plain(ctx, runta, target, argv, opts);
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
  const handle = runta.runtimes.execStream(id, argv, { tty, ...size, env, cwd: opts.workdir, user: opts.user, graceSecs: opts.grace });
  const bridge = ctx.deps.bridge ?? bridgeExec;
  try {
    const reattach = tty && opts.grace !== 0 ? `runta attach ${target}` : undefined;
    return await bridge(handle, ctx.io, { tty, interactive: opts.interactive === true, signals: ctx.deps.signals ?? process, reattach });
  } catch (err) {
    // A terminal session whose connection dropped waits for its grace period: say how to get it back.
    if (tty && handle.execId && opts.grace !== 0) {
      ctx.io.stderr.write(`runta: the session keeps running for ${opts.grace ?? LIMITS.execGraceSecsDefault} s; reattach with: runta attach ${target} ${handle.execId}\n`);
    }
    throw err;
  }
}

/** `exec -d`: starts the command, prints its exec id; a command that is not found or not executable fails as usual. */
async function detached(ctx: CliContext, runta: RuntaApi, target: string, argv: string[], opts: ExecCommandOptions): Promise<number> {
  const info = await withRuntime(runta, target, (t) => runta.execs.start(t, argv, { env: opts.env, cwd: opts.workdir, user: opts.user, timeoutSecs: opts.timeout }));
  if (info.status === "ended" && info.exit_code !== 0) {
    // The daemon's own text, as a foreground exec prints it (an older daemon sends none: say what the code means).
    ctx.io.stderr.write(`runta: ${info.failure ?? `${argv[0]}: ${info.exit_code === 127 ? "command not found" : "not executable"}`}\n`);
    return info.exit_code ?? EXIT.execFailure;
  }
  ctx.io.stdout.write(`${info.id}\n`);
  return EXIT.ok;
}

/**
 * Plain exec: the command's output is written as it comes (the framed HTTP stream: binary-safe, stdout and stderr
 * apart, no websocket module to load), with warnings for how it ended; resolves with its exit code. Ctrl-C closes the
 * stream, and the daemon kills the command with its session.
 */
async function plain(ctx: CliContext, runta: RuntaApi, target: string, argv: string[], opts: ExecCommandOptions): Promise<number> {
  const abort = new AbortController();
  // The stream is taken at the first chunk: a command that prints nothing never makes process.stdout (io.ts).
  const write = (which: "stdout" | "stderr") => (chunk: Buffer) => {
    const stream = ctx.io[which];
    // Backpressure: a slow consumer of our stdout (a pipe) slows the command down instead of filling our memory.
    return stream.write(chunk) ? undefined : new Promise<void>((resolve) => stream.once("drain", resolve));
  };
  const exec = withRuntime(runta, target, (t) =>
    runta.execs.run(t, argv, {
      env: opts.env,
      cwd: opts.workdir,
      user: opts.user,
      timeoutSecs: opts.timeout,
      onStdout: write("stdout"),
      onStderr: write("stderr"),
      signal: abort.signal,
    }),
  );
  const exit = await untilInterrupted(ctx, exec, () => {
    abort.abort();
    ctx.io.stderr.write(`runta: interrupted — the command in ${target} is killed with its children\n`);
  });
  const warn = (m: string) => ctx.io.stderr.write(`runta: warning: ${m}\n`);
  if (exit.ended_by === "timed_out") {
    warn(
      opts.timeout === undefined
        ? `the command ran into ${target}'s exec timeout and was killed — give it a longer one with --timeout (runta inspect shows exec_timeout_secs)`
        : `the command timed out after ${opts.timeout} s and was killed — raise --timeout`,
    );
  }
  if (exit.oom_killed) warn(`the command was killed for lack of memory — raise it with runta resize --memory <MiB> ${target}`);
  return exit.code;
}
