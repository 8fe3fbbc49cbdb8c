import { Command } from "commander";
import type { CliContext } from "../context.js";
import { UsageError } from "../errors.js";
import { descriptionFlag } from "../parse.js";
import { printJson } from "../output.js";
import { withRuntime } from "../targets.js";

/** Flags of `runta update`. */
export interface UpdateFlags {
  description?: string;
  json?: boolean;
}

/** `runta update`: what changes in place without a resize (resize has its own command). */
export function updateCommand(ctx: CliContext): Command {
  return new Command("update")
    .description("Change a runtime's description (any status); memory and vCPUs change with runta resize")
    .argument("<runtime>", "runtime name or id")
    .option("--description <text>", 'new description ("" clears it)', descriptionFlag)
    .option("--json", "print the updated runtime as JSON")
    .addHelpText("after", '\nExamples:\n  runta update --description "queue worker, owner: data team" worker\n  runta update --description "" worker')
    .action((target: string, opts: UpdateFlags) => runUpdate(ctx, target, opts));
}

/** Updates one runtime and prints what changed. */
export async function runUpdate(ctx: CliContext, target: string, opts: UpdateFlags): Promise<void> {
  if (opts.description === undefined) throw new UsageError('update needs --description <text> — e.g. runta update --description "queue worker" worker');
  const runta = await ctx.client();
  const rt = await withRuntime(runta, target, (id) => runta.runtimes.update(id, { description: opts.description }));
  if (opts.json) return printJson(ctx, rt);
  ctx.io.stdout.write(rt.description ? `${target}: description ${JSON.stringify(rt.description)}\n` : `${target}: description cleared\n`);
}
