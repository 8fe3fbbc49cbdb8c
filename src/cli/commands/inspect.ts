import { Command } from "commander";
import type { Runtime } from "../../api/schemas.js";
import type { CliContext } from "../context.js";
import { MultiTargetError } from "../errors.js";
import { printJson } from "../output.js";
import { withRuntime } from "../targets.js";

/** `runta inspect`. */
export function inspectCommand(ctx: CliContext): Command {
  return new Command("inspect")
    .description("Print the full records of one or more runtimes as a JSON array (with current cgroup usage)")
    .argument("<runtime...>", "runtime names or ids")
    .option("--json", "accepted for symmetry: inspect always prints JSON")
    .addHelpText("after", "\nExamples:\n  runta inspect worker\n  runta inspect worker batch | jq '.[].status'")
    .action((targets: string[]) => runInspect(ctx, targets));
}

/** Prints every runtime found (always an array, like docker), then fails for the missing ones. */
export async function runInspect(ctx: CliContext, targets: string[]): Promise<void> {
  const runta = await ctx.client();
  const found: Runtime[] = [];
  const failures: { target: string; error: unknown }[] = [];
  for (const t of targets) {
    try {
      found.push((await withRuntime(runta, t, (id) => runta.runtimes.get(id))).info);
    } catch (error) {
      failures.push({ target: t, error });
    }
  }
  printJson(ctx, found);
  if (failures.length) throw new MultiTargetError(failures);
}
