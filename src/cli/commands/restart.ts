import { Command } from "commander";
import { LIMITS } from "../../api/limits.js";
import type { CliContext } from "../context.js";
import { forEachTarget, withRuntime } from "../targets.js";
import { graceFlag, stopWithProgress, type ShutdownOptions } from "./shutdown.js";

/** `runta restart`. */
export function restartCommand(ctx: CliContext): Command {
  return new Command("restart")
    .description("Shut runtimes down and boot them again (same filesystem); a shut-down one is just booted")
    .argument("<runtime...>", "runtime names or ids")
    .option("-t, --time <secs>", `seconds to wait after SIGTERM before SIGKILL (default ${LIMITS.stopGraceSecs})`, graceFlag)
    .addHelpText("after", "\nExamples:\n  runta restart worker\n  runta restart -t 0 worker batch")
    .action((targets: string[], opts: ShutdownOptions) => runRestart(ctx, targets, opts));
}

/** Stops then boots each runtime; prints each runtime as given once it runs again. */
export async function runRestart(ctx: CliContext, targets: string[], opts: ShutdownOptions = {}): Promise<void> {
  const runta = await ctx.client();
  await forEachTarget(ctx, targets, async (t) => {
    const rt = await withRuntime(runta, t, (id) => runta.runtimes.get(id, { usage: false }));
    if (rt.info.status !== "shutdown") await stopWithProgress(ctx, runta, t, opts.time);
    return runta.runtimes.start(rt.id);
  });
}
