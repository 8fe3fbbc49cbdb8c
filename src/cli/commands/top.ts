import { Command } from "commander";
import type { ExecInfo } from "../../api/execs.js";
import type { CliContext } from "../context.js";
import { escapeControl, listFormat, printList, timeValue, type Column } from "../output.js";
import { withRuntime } from "../targets.js";

/** Flags of `runta top`. */
export interface TopOptions {
  all?: boolean;
  quiet?: boolean;
  json?: boolean;
}

/** `runta top`. */
export function topCommand(ctx: CliContext): Command {
  return new Command("top")
    .description("List the execs of a runtime: running ones, and with -a the recently finished too")
    .argument("<runtime>", "runtime name or id")
    .option("-a, --all", "also show finished execs (the last 100 per runtime)")
    .option("-q, --quiet", "only print exec ids")
    .option("--json", "print {\"execs\": [...]} with the API objects")
    .addHelpText(
      "after",
      `
Examples:
  runta top worker
  runta top -a worker
  runta top -q worker | xargs -r runta kill worker`,
    )
    .action((target: string, opts: TopOptions) => runTop(ctx, target, opts));
}

/** How an exec is doing, in a few words: running (and whether a terminal waits for its client), or how it ended. */
export function execState(e: ExecInfo): string {
  if (e.status === "running") {
    if (e.attached === false) return e.grace_expires_at ? `running, detached until ${e.grace_expires_at.slice(11, 19)}Z` : "running, detached";
    return "running";
  }
  switch (e.ended_by) {
    case "exited":
      return `exited (${e.exit_code})`;
    case "signalled":
    case "killed":
      return `${e.ended_by} (${e.signal ?? e.exit_code})`;
    case "timed_out":
      return "timed out";
    case "oom":
      return "killed: out of memory";
    case "client_gone":
      return "hung up: client gone";
    default:
      return "ended, exit unknown";
  }
}

/** Table columns of an exec list. */
export function execColumns(now: Date): Column<ExecInfo>[] {
  return [
    { header: "EXEC ID", value: (e) => e.id },
    { header: "PID", value: (e) => (e.pid === null ? "-" : String(e.pid)) },
    { header: "USER", value: (e) => e.user ?? "root" },
    { header: "KIND", value: (e) => e.kind },
    { header: "STATUS", value: (e) => execState(e), colour: (e) => (e.status === "running" ? "green" : undefined) },
    { header: "STARTED", value: (e, tty) => timeValue(e.started_at, tty, now) },
    // Last: long argv lines are cut on a terminal, whole in a pipe.
    { header: "COMMAND", value: (e, tty) => shortCommand(e.command, tty) },
  ];
}

function shortCommand(argv: string[], tty: boolean): string {
  const line = argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`)).join(" ");
  return tty && line.length > 60 ? `${escapeControl(line).slice(0, 59)}…` : line;
}

/** Lists a runtime's execs. */
export async function runTop(ctx: CliContext, target: string, opts: TopOptions): Promise<void> {
  const runta = await ctx.client();
  const execs = await withRuntime(runta, target, (t) => runta.execs.list(t));
  const rows = opts.all ? execs : execs.filter((e) => e.status === "running");
  await printList(ctx, rows, { noun: "execs", columns: execColumns(ctx.now()), id: (e) => e.id }, listFormat(opts));
}
