import { Command } from "commander";
import type { CliContext } from "../context.js";
import { UsageError } from "../errors.js";
import { cpusFlag, diskSizeFlag, flagForHostLimit, memoryFlag, typedFlags } from "../parse.js";
import { printJson } from "../output.js";
import { withRuntime } from "../targets.js";

/** Flags of `runta resize`. */
export interface ResizeOptions {
  memory?: number;
  cpus?: number;
  diskSizeGib?: number;
  json?: boolean;
  /** What was typed for --cpus and --memory (a refusal echoes it). */
  typed?: Record<string, string>;
}

/** `runta resize`. */
export function resizeCommand(ctx: CliContext): Command {
  return typedFlags(new Command("resize"), ["cpus", "memory"])
    .description("Change a runtime's memory and/or vCPUs live, or grow its disk; prints the values read back")
    .argument("<runtime>", "runtime name or id")
    .option("-m, --memory <size>", "new memory limit: 512m, 4g, or a bare number of MiB", memoryFlag)
    .option("--cpus <n>", "new vCPU count, fractions allowed", cpusFlag)
    .option("--disk-size-gib <GiB>", "grow the runtime's disk to this size (disks never shrink)", diskSizeFlag)
    .option("--json", "print the updated runtime as JSON")
    .addHelpText("after", "\nExamples:\n  runta resize --memory 4g worker\n  runta resize --cpus 0.5 -m 512m batch\n  runta shutdown worker && runta resize --disk-size-gib 20 worker && runta boot worker")
    .action((target: string, opts: ResizeOptions) => runResize(ctx, target, opts));
}

/** Resizes one runtime and prints what the daemon read back. */
export async function runResize(ctx: CliContext, target: string, opts: ResizeOptions): Promise<void> {
  if (opts.memory === undefined && opts.cpus === undefined && opts.diskSizeGib === undefined) {
    throw new UsageError("resize needs --memory <size>, --cpus <n>, --disk-size-gib <GiB> or several — e.g. runta resize --memory 4g worker");
  }
  const runta = await ctx.client();
  const rt = await withRuntime(runta, target, (id) => runta.runtimes.resize(id, { memoryMiB: opts.memory, vcpus: opts.cpus, diskSizeGiB: opts.diskSizeGib })).catch(
    (err: unknown) => {
      throw flagForHostLimit(err, opts.typed);
    },
  );
  if (opts.json) return printJson(ctx, rt);
  const { vcpus, memory_mib, disk_size_gib } = rt.resources.requests;
  // The disk is named only when it was asked about: `resize --memory` prints what the seed's scripts expect.
  const disk = opts.diskSizeGib === undefined ? "" : `, disk ${disk_size_gib} GiB`;
  ctx.io.stdout.write(`${target}: memory ${memory_mib} MiB, cpus ${vcpus}${disk}\n`);
}
