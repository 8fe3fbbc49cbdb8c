import { Command } from "commander";
import { EXEC_SIGNALS, parseExecSignal, type ExecSignal } from "../../api/signals.js";
import type { CliContext } from "../context.js";
import { UsageError } from "../errors.js";
import { forEachTarget, withRuntime } from "../targets.js";

/** Flags of `runta kill`. */
export interface KillOptions {
  signal?: string;
}

/** `runta kill`. */
export function killCommand(ctx: CliContext): Command {
  return new Command("kill")
    .description("Send a signal (default KILL) to execs of a runtime: the given ones, or every running exec")
    .argument("<runtime>", "runtime name or id")
    .argument("[exec-id...]", "exec ids (see runta top); none means every running exec of the runtime")
    .option("-s, --signal <SIG>", `signal name or number: ${EXEC_SIGNALS.join(", ")}`, "KILL")
    .addHelpText(
      "after",
      `
KILL reaches every process the exec started (its cgroup), also those that left with setsid; other
signals go to the exec's process group: the command and the children it did not move elsewhere.

Examples:
  runta kill worker                   # every running exec of worker
  runta kill -s TERM worker 3f2a9c41d0e7
  runta kill -s HUP worker $(runta top -q worker)`,
    )
    .action((target: string, ids: string[], opts: KillOptions) => runKill(ctx, target, ids, opts));
}

/** Signals the given execs, or all running ones; prints each exec id signalled, exits 1 if any failed. */
export async function runKill(ctx: CliContext, target: string, ids: string[], opts: KillOptions): Promise<void> {
  const signal: ExecSignal | null = parseExecSignal(opts.signal ?? "KILL");
  if (!signal) throw new UsageError(`-s "${opts.signal}" is not a signal runta sends — use one of ${EXEC_SIGNALS.join(", ")} (or its number)`);
  const runta = await ctx.client();
  // Resolve the runtime once (names, ids, id prefixes), then address it by id.
  const running = await withRuntime(runta, target, async (t) => ({ rt: t, execs: await runta.execs.list(t) }));
  const targets = ids.length ? ids : running.execs.filter((e) => e.status === "running").map((e) => e.id);
  if (targets.length === 0) {
    ctx.io.stderr.write(`runta: no running execs in ${target}\n`);
    return;
  }
  await forEachTarget(ctx, targets, (id) => runta.execs.signal(running.rt, id, signal));
}
