/**
 * The CLI's one entry point and the only place where errors become text and an exit code.
 * Kept light on purpose: `runta --version` must not load commander, chalk, ora, zod or the SDK.
 */
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { isErrorCode } from "../api/errors.js";
import { createContext, type CliContext, type CliDeps } from "./context.js";
import { EXIT, MultiTargetError, StatusError, UsageError } from "./errors.js";
import { processIO, type OnOpen } from "./io.js";

export type { CliDeps } from "./context.js";

let version: string | undefined;
/** The client's version, from package.json. */
export function clientVersion(): string {
  version ??= (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;
  return version;
}

/** The dependencies of a real invocation from bin/runta.js; `onOpen` sees each process stream a command uses. */
export function realDeps(onOpen?: OnOpen): CliDeps {
  return { io: processIO(onOpen) };
}

/** Runs the CLI with `argv` (without node and script); resolves with the exit code. Never throws. */
export async function run(argv: string[], deps: CliDeps): Promise<number> {
  if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-V")) {
    deps.io.stdout.write(`runta version ${clientVersion()}\n`);
    return EXIT.ok;
  }
  const ctx = createContext(deps);
  const dashdash = argv.indexOf("--");
  ctx.json = (dashdash < 0 ? argv : argv.slice(0, dashdash)).includes("--json");
  let program: Command | undefined;
  try {
    const { buildProgram } = await import("./program.js");
    program = await buildProgram(ctx, argv);
    if (argv.length === 0) {
      ctx.io.stdout.write(program.helpInformation());
      return EXIT.ok;
    }
    await program.parseAsync(argv, { from: "user" });
    return EXIT.ok;
  } catch (err) {
    report(ctx, err, argv, program);
    return exitCodeFor(err);
  }
}

/** The one mapping from how a command failed to the exit code (DESIGN §7). */
function exitCodeFor(err: unknown): number {
  if (err instanceof StatusError) return err.status;
  if (isCommanderError(err)) return isHelp(err) ? EXIT.ok : EXIT.usage;
  if (err instanceof UsageError) return EXIT.usage;
  return EXIT.error;
}

interface Described {
  code: string;
  message: string;
}

/** Writes what went wrong to stderr: one line per failure; nothing for help, version or a bare status. */
function report(ctx: CliContext, err: unknown, argv: string[], program: Command | undefined): void {
  if (err instanceof StatusError) {
    if (err.cause !== undefined) report(ctx, err.cause, argv, program);
    return;
  }
  if (isCommanderError(err)) {
    if (!isHelp(err)) writeError(ctx, { code: "usage", message: usageMessage(err, argv, program) });
    return;
  }
  if (err instanceof MultiTargetError) {
    for (const f of err.failures) writeError(ctx, describe(ctx, f.error, f.target));
    return;
  }
  writeError(ctx, describe(ctx, err));
}

function writeError(ctx: CliContext, d: Described): void {
  const message = d.message.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`).replace(/\n/g, " ");
  if (ctx.json) ctx.io.stderr.write(`${JSON.stringify({ error: { code: d.code, message } })}\n`);
  else ctx.io.stderr.write(`runta: ${message}\n`);
}

function isCommanderError(err: unknown): err is { code: string; exitCode: number; message: string } {
  const code = (err as { code?: unknown } | undefined)?.code;
  return err instanceof Error && typeof code === "string" && code.startsWith("commander.");
}

/**
 * Help and version end up in the catch through exitOverride; they are not failures. Nor is a command group without
 * its subcommand (`runta image`): it has just printed its help, as docker does.
 */
function isHelp(err: { code: string; exitCode: number }): boolean {
  return err.exitCode === 0 || err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.code === "commander.help";
}

/** Docker verbs that runta names differently, for the unknown-command hint. */
const DOCKER_VERBS: Record<string, string> = {
  start: "boot",
  stop: "shutdown",
  unpause: "resume",
  images: "image ls",
  rmi: "image rm",
};

/** Commander's "error: unknown option '-x'" plus which help to read; exec gets the `--` hint docker users need. */
function usageMessage(err: { code: string; message: string }, argv: string[], program: Command | undefined): string {
  // Keep commander's "(Did you mean --all?)" on the one line.
  const text = err.message.replace(/^error: /, "").replace(/\n\((Did you mean [^)]*)\)/, " ($1)").replace(/\n[\s\S]*$/, "");
  const verb = err.code === "commander.unknownCommand" ? /unknown command '([^']*)'/.exec(text)?.[1] : undefined;
  // Commander's guess goes by spelling (rmi → rm, which deletes runtimes); the docker name is the better hint.
  if (verb && Object.hasOwn(DOCKER_VERBS, verb)) return `unknown command '${verb}' — runta calls it ${DOCKER_VERBS[verb]}: see runta ${DOCKER_VERBS[verb]} --help`;
  const path: string[] = [];
  let cmd = program;
  for (const word of argv) {
    if (word === "--") break;
    const sub = cmd?.commands.find((c) => c.name() === word || c.aliases().includes(word));
    if (!sub) continue;
    path.push(sub.name());
    cmd = sub;
  }
  // `runta --json ps`: a command's flag given before the command, where only the global flags are known.
  const option = err.code === "commander.unknownOption" ? /unknown option '([^'=]*)/.exec(text)?.[1] : undefined;
  if (option && cmd && cmd !== program && argv.indexOf(option) < argv.indexOf(path[0]!) && cmd.options.some((o) => o.long === option || o.short === option)) {
    return `${text} — ${option} belongs to the command: put it after it, e.g. runta ${path.join(" ")} ${option}`;
  }
  // An option of the remote command read as one of ours; with a `--` already there the option is simply not ours.
  if (path[0] === "exec" && err.code === "commander.unknownOption" && !text.includes("(Did you mean") && !argv.includes("--")) {
    return `${text} — put the command after --, e.g. runta exec <runtime> -- ls -la`;
  }
  // `runta run busybox` or `runta run ubuntu bash`: docker's image-and-command shape.
  if (path.length === 1 && path[0] === "run" && err.code === "commander.excessArguments") {
    const given = (cmd?.args ?? []).join(" ") || "…";
    return `run takes no arguments (got ${given}) — choose the image with --image <image>; run a command with runta exec -it <runtime> -- <command>`;
  }
  return `${text} — see runta ${[...path, "--help"].join(" ")}`;
}

/** Turns any error into one line: what was wrong and what to do. */
function describe(ctx: CliContext, err: unknown, target?: string): Described {
  if (err instanceof UsageError) return { code: "usage", message: err.message };
  const e = err as { code?: unknown; message?: unknown; stack?: unknown };
  if (err instanceof Error && isErrorCode(e.code)) {
    let message = String(e.message);
    if (target !== undefined && !message.includes(target)) message = `${target}: ${message}`;
    return { code: e.code, message: withHint(ctx, e.code, message) };
  }
  if (ctx.env.RUNTA_DEBUG === "1" && err instanceof Error) ctx.io.stderr.write(`${err.stack}\n`);
  const detail = err instanceof Error ? err.message : String(err);
  const prefix = target === undefined ? "" : `${target}: `;
  return {
    code: "internal",
    message: `${prefix}unexpected failure: ${detail} — rerun with RUNTA_DEBUG=1 for details and report it`,
  };
}

/** Adds what to do next when the message does not say it already, and where the endpoint came from. */
function withHint(ctx: CliContext, code: string, message: string): string {
  const cfg = ctx.resolvedConfig();
  // Say where the endpoint came from wherever the message names it, so a stale RUNTA_ENDPOINT is easy to spot.
  if (cfg && message.includes(cfg.endpoint.value) && !message.includes("(from ")) {
    message = message.replace(cfg.endpoint.value, `${cfg.endpoint.value} (from ${cfg.endpoint.origin})`);
  }
  // `runta daemon start` starts the local daemon: no help when the configured endpoint is elsewhere.
  if (code === "unavailable" && cfg && cfg.endpoint.value !== cfg.local.endpoint) {
    message = message.replace(/: is it running\? start it with 'runta daemon start'$/, ": is a runta daemon running there? check the endpoint");
  }
  // The daemon's messages often carry their own fix already ("…; list runtimes with: runta ps -a").
  if (message.includes(" — ") || /\brunta [a-z]/.test(message)) return message;
  switch (code) {
    case "not_found":
      if (/image/i.test(message)) return `${message} — list them with runta image ls`;
      if (/runtime/i.test(message)) return `${message} — list them with runta ps -a`;
      return message;
    case "unauthenticated": {
      // The daemon can only say "<data-dir>/token"; the CLI knows which token it sent and where the local one lives.
      if (!cfg) return message;
      const what = message.split(":")[0]!;
      if (cfg.token) return `${what} (from ${cfg.token.origin}) — use the daemon's token (the local daemon keeps it in ${cfg.local.tokenFile})`;
      return `${what} (read from ${cfg.local.tokenFile}) — the daemon at ${cfg.endpoint.value} uses another token: set RUNTA_TOKEN`;
    }
    case "unavailable":
      if (cfg && !message.includes(cfg.endpoint.value) && !message.includes("daemon")) {
        return `${message} (endpoint ${cfg.endpoint.value} from ${cfg.endpoint.origin}) — check that the daemon runs: runta daemon status`;
      }
      return message;
    default:
      return message;
  }
}
