import { Command } from "commander";
import type { CliContext } from "../context.js";
import { forEachTarget, withRuntime } from "../targets.js";

/** `runta pause`. */
export function pauseCommand(ctx: CliContext): Command {
  return new Command("pause")
    .description("Freeze every process in one or more runtimes (memory is kept)")
    .argument("<runtime...>", "runtime names or ids")
    .addHelpText("after", "\nExamples:\n  runta pause worker batch\n  runta ps -q | xargs -r runta pause")
    .action((targets: string[]) => runPause(ctx, targets));
}

/** Freeze every process in one or more runtimes (memory is kept); prints each runtime as given on success. */
export async function runPause(ctx: CliContext, targets: string[]): Promise<void> {
  const runta = await ctx.client();
  await forEachTarget(ctx, targets, (t) => withRuntime(runta, t, (id) => runta.runtimes.pause(id)));
}
