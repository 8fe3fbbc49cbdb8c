import { Command } from "commander";
import type { CliContext } from "../context.js";
import { runtimeName } from "../parse.js";
import { withRuntime } from "../targets.js";

/** `runta rename`. */
export function renameCommand(ctx: CliContext): Command {
  return new Command("rename")
    .description("Give a runtime a new name; its id, state and processes stay (the hostname follows at the next boot)")
    .argument("<runtime>", "runtime name or id")
    .argument("<new-name>", "the new name (letters, digits, '_', '.', '-')", runtimeName("new name"))
    .addHelpText("after", "\nExamples:\n  runta rename worker worker-old")
    .action((target: string, name: string) => runRename(ctx, target, name));
}

/** Renames one runtime; prints the new name. */
export async function runRename(ctx: CliContext, target: string, name: string): Promise<void> {
  const runta = await ctx.client();
  const rt = await withRuntime(runta, target, (id) => runta.runtimes.rename(id, name));
  ctx.io.stdout.write(`${rt.name}\n`);
}
