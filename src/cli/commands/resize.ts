import { Command } from "commander";
import type { CliContext } from "../context.js";
import { UsageError } from "../errors.js";
import { cpusFlag, flagForHostLimit, memoryFlag } from "../parse.js";
import { printJson } from "../output.js";
import { withRuntime } from "../targets.js";

/** Flags of `runta resize`. */
export interface ResizeOptions {
  memory?: number;
  cpus?: number;
  json?: boolean;
}

/** `runta resize`. */
export function resizeCommand(ctx: CliContext): Command {
  return new Command("resize")
    .description("Change a running runtime's memory and/or vCPUs live; prints the values read back from its cgroup")
    .argument("<runtime>", "runtime name or id")
    .option("-m, --memory <size>", "new memory limit: 512m, 4g, or a bare number of MiB", memoryFlag)
    .option("--cpus <n>", "new vCPU count, fractions allowed", cpusFlag)
    .option("--json", "print the updated runtime as JSON")
    .addHelpText("after", "\nExamples:\n  runta resize --memory 4g worker\n  runta resize --cpus 0.5 -m 512m batch")
    .action((target: string, opts: ResizeOptions) => runResize(ctx, target, opts));
}

/** Resizes one runtime and prints what the daemon read back. */
export async function runResize(ctx: CliContext, target: string, opts: ResizeOptions): Promise<void> {
  if (opts.memory === undefined && opts.cpus === undefined) {
    throw new UsageError("resize needs --memory <size>, --cpus <n> or both — e.g. runta resize --memory 4g worker");
  }
  const runta = await ctx.client();
  const rt = await withRuntime(runta, target, (id) => runta.runtimes.resize(id, { memoryMiB: opts.memory, vcpus: opts.cpus })).catch((err: unknown) => {
    throw flagForHostLimit(err);
  });
  if (opts.json) return printJson(ctx, rt);
  const { vcpus, memory_mib } = rt.resources.requests;
  ctx.io.stdout.write(`${target}: memory ${memory_mib} MiB, cpus ${vcpus}\n`);
}
