import { Command } from "commander";
import type { CliContext } from "../context.js";
import { forEachTarget, withRuntime } from "../targets.js";

/** `runta rm`. */
export function rmCommand(ctx: CliContext): Command {
  return new Command("rm")
    .description("Remove runtimes in any status: stops them if needed and deletes their filesystem")
    .argument("<runtime...>", "runtime names or ids")
    // Runta removes running runtimes without asking; -f is accepted so docker habits keep working.
    .option("-f, --force", "accepted for docker compatibility (rm already removes running runtimes)")
    .addHelpText("after", "\nExamples:\n  runta rm worker\n  runta rm -f $(runta ps -a -q)")
    .action((targets: string[]) => runRm(ctx, targets));
}

/** Removes each runtime; prints each as given on success. */
export async function runRm(ctx: CliContext, targets: string[]): Promise<void> {
  const runta = await ctx.client();
  await forEachTarget(ctx, targets, (t) => withRuntime(runta, t, (id) => runta.runtimes.delete(id)));
}
