import { Command } from "commander";
import type { CliContext } from "../context.js";
import { forEachTarget, withRuntime } from "../targets.js";

/** `runta boot`. */
export function bootCommand(ctx: CliContext): Command {
  return new Command("boot")
    .description("Start shut-down runtimes again, with the same filesystem")
    .argument("<runtime...>", "runtime names or ids")
    .addHelpText("after", "\nExamples:\n  runta boot worker\n  runta ps -q --filter status=shutdown | xargs -r runta boot")
    .action((targets: string[]) => runBoot(ctx, targets));
}

/** Start shut-down runtimes again, with the same filesystem; prints each runtime as given on success. */
export async function runBoot(ctx: CliContext, targets: string[]): Promise<void> {
  const runta = await ctx.client();
  await forEachTarget(ctx, targets, (t) => withRuntime(runta, t, (id) => runta.runtimes.start(id)));
}
