import { Command } from "commander";
import type { CliContext } from "../context.js";
import { forEachTarget, withRuntime } from "../targets.js";

/** `runta resume`. */
export function resumeCommand(ctx: CliContext): Command {
  return new Command("resume")
    .description("Unfreeze paused or suspended runtimes")
    .argument("<runtime...>", "runtime names or ids")
    .addHelpText("after", "\nExamples:\n  runta resume worker\n  runta ps -q | xargs -r runta resume")
    .action((targets: string[]) => runResume(ctx, targets));
}

/** Unfreeze paused or suspended runtimes; prints each runtime as given on success. */
export async function runResume(ctx: CliContext, targets: string[]): Promise<void> {
  const runta = await ctx.client();
  await forEachTarget(ctx, targets, (t) => withRuntime(runta, t, (id) => runta.runtimes.resume(id)));
}
