import { Command } from "commander";
import type { CliContext } from "../context.js";
import { forEachTarget, withRuntime } from "../targets.js";

/** `runta shutdown`. */
export function shutdownCommand(ctx: CliContext): Command {
  return new Command("shutdown")
    .description("Stop runtimes: processes end, the filesystem and the record are kept")
    .argument("<runtime...>", "runtime names or ids")
    .addHelpText("after", "\nExamples:\n  runta shutdown worker\n  runta ps -q | xargs runta shutdown")
    .action((targets: string[]) => runShutdown(ctx, targets));
}

/** Stops runtimes (processes end, filesystem and record kept); prints each runtime as given on success. */
export async function runShutdown(ctx: CliContext, targets: string[]): Promise<void> {
  const runta = await ctx.client();
  await forEachTarget(ctx, targets, (t) => withRuntime(runta, t, (id) => runta.runtimes.stop(id)));
}
