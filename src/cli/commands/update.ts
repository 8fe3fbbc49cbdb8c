import { Command } from "commander";
import { LIMITS } from "../../api/limits.js";
import type { Runtime } from "../../api/schemas.js";
import type { CliContext } from "../context.js";
import { UsageError } from "../errors.js";
import { descriptionFlag, idleTimeoutUpdateFlag } from "../parse.js";
import { printJson } from "../output.js";
import { withRuntime } from "../targets.js";

/** Flags of `runta update`. */
export interface UpdateFlags {
  description?: string;
  /** Seconds, or 0 to remove the idle timeout. */
  idleTimeout?: number;
  json?: boolean;
}

/** `runta update`: what changes in place without a resize (resize has its own command). */
export function updateCommand(ctx: CliContext): Command {
  return new Command("update")
    .description("Change a runtime's description or idle timeout (any status); memory and vCPUs change with runta resize")
    .argument("<runtime>", "runtime name or id")
    .option("--description <text>", 'new description ("" clears it)', descriptionFlag)
    .option(
      "--idle-timeout <secs>",
      `suspend it after this long without activity (${LIMITS.idleTimeoutSecsMin}-${LIMITS.idleTimeoutSecsMax} s; the idle clock restarts now); 0 or none removes it`,
      idleTimeoutUpdateFlag,
    )
    .option("--json", "print the updated runtime as JSON")
    .addHelpText(
      "after",
      `
Examples:
  runta update --description "queue worker, owner: data team" worker
  runta update --description "" worker
  runta update --idle-timeout 600 worker
  runta update --idle-timeout none worker`,
    )
    .action((target: string, opts: UpdateFlags) => runUpdate(ctx, target, opts));
}

/** Updates one runtime and prints what changed. */
export async function runUpdate(ctx: CliContext, target: string, opts: UpdateFlags): Promise<void> {
  if (opts.description === undefined && opts.idleTimeout === undefined) {
    throw new UsageError('update needs --description <text> or --idle-timeout <secs> — e.g. runta update --description "queue worker" worker');
  }
  const runta = await ctx.client();
  const rt = await withRuntime(runta, target, (id) =>
    runta.runtimes.update(id, { description: opts.description, idleTimeoutSecs: opts.idleTimeout === 0 ? null : opts.idleTimeout }),
  );
  if (opts.json) return printJson(ctx, rt);
  for (const line of changed(target, rt, opts)) ctx.io.stdout.write(`${line}\n`);
}

/** One line per field the command changed. */
function changed(target: string, rt: Runtime, opts: UpdateFlags): string[] {
  const lines: string[] = [];
  if (opts.description !== undefined) lines.push(rt.description ? `${target}: description ${JSON.stringify(rt.description)}` : `${target}: description cleared`);
  if (opts.idleTimeout !== undefined) {
    const idle = rt.idle;
    const when = idle?.suspends_at ? `; suspends at ${idle.suspends_at} if nothing happens` : idle?.awake_because ? `; awake: ${idle.awake_because}` : "";
    lines.push(rt.idle_timeout_secs === null ? `${target}: idle timeout removed` : `${target}: idle timeout ${rt.idle_timeout_secs}s${when}`);
  }
  return lines;
}
