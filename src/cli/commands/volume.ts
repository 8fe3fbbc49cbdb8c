import { Command } from "commander";
import type { Volume } from "../../api/volumes.js";
import type { CliContext } from "../context.js";
import { MultiTargetError } from "../errors.js";
import { humanBytes, listFormat, printJson, printList, timeValue, type Column } from "../output.js";
import { runtimeName, volumeSizeFlag } from "../parse.js";
import { forEachTarget } from "../targets.js";

/** `runta volume create|ls|inspect|resize|rm`. */
export function volumeCommand(ctx: CliContext): Command {
  const vol = new Command("volume").description("Named, persistent directories that outlive runtimes; mount them with runta run -v NAME:/path").addHelpText(
    "after",
    `
A volume is its own disk (ext4 on a sparse file): --size bounds what it holds, writes past it fail with "No space
left on device". Several runtimes may mount it at once (read-only with :ro); it stays when they are removed, and
runta cp reaches it through any runtime that mounts it. Host directories cannot be mounted (see README, Volumes).

Examples:
  runta volume create data --size 2g
  runta run --name dev -v data:/work
  runta run --name reader -v data:/work:ro
  runta volume ls
  runta volume inspect data
  runta volume resize data --size 4g
  runta volume rm data`,
  );
  vol
    .command("create")
    .description("Create a volume (prints its name)")
    .argument("<name>", "volume name (letters, digits, '_', '.', '-')", runtimeName("volume name"))
    .option("--size <size>", "its size bound: 512m, 2g, 1t, or a bare number of MiB (default 10g; sparse: the host gives only what is written)", volumeSizeFlag)
    .option("--json", "print the volume as JSON")
    .addHelpText("after", "\nExamples:\n  runta volume create data\n  runta volume create cache --size 512m --json")
    .action((name: string, opts: { size?: number; json?: boolean }) => runVolumeCreate(ctx, name, opts));
  vol
    .command("ls")
    .alias("list")
    .description("List volumes with their size, use and the runtimes mounting them")
    .option("-q, --quiet", "only print volume names")
    .option("--json", 'print {"volumes": [...]} with the API objects')
    .addHelpText("after", "\nExamples:\n  runta volume ls\n  runta volume ls --json")
    .action((opts: { quiet?: boolean; json?: boolean }) => runVolumeLs(ctx, opts));
  vol
    .command("inspect")
    .description("Print volumes as a JSON array")
    .argument("<volume...>", "volume names or ids")
    .addHelpText("after", "\nExamples:\n  runta volume inspect data")
    .action((names: string[]) => runVolumeInspect(ctx, names));
  vol
    .command("resize")
    .description("Grow a volume's disk (never shrinks; as runta resize --disk-size-gib grows a runtime's): online, runtimes mounting it keep running, where the daemon has CAP_SYS_RESOURCE; else shut those runtimes down first (the error names them)")
    .argument("<volume>", "volume name or id")
    .requiredOption("--size <size>", "its new size bound, at least its current one: 512m, 2g, 1t, or a bare number of MiB (at most 1t)", volumeSizeFlag)
    .option("--json", "print the volume as JSON")
    .addHelpText("after", "\nExamples:\n  runta volume resize data --size 4g\n  runta volume resize data --size 20g --json")
    .action((name: string, opts: { size: number; json?: boolean }) => runVolumeResize(ctx, name, opts));
  vol
    .command("rm")
    .alias("remove")
    .description("Remove volumes and their contents (refused while any runtime, running or not, mounts them)")
    .argument("<volume...>", "volume names or ids")
    .addHelpText("after", "\nExamples:\n  runta volume rm data")
    .action((names: string[]) => runVolumeRm(ctx, names));
  return vol;
}

function volumeColumns(now: Date): Column<Volume>[] {
  return [
    { header: "NAME", value: (v) => v.name },
    { header: "SIZE", value: (v, tty) => (tty ? humanBytes(v.size_bytes, true) : String(v.size_bytes)) },
    { header: "USED", value: (v, tty) => (v.used_bytes === null ? "-" : tty ? humanBytes(v.used_bytes, true) : String(v.used_bytes)) },
    { header: "CREATED", value: (v, tty) => timeValue(v.created_at, tty, now) },
    { header: "USED BY", value: (v) => (v.in_use_by.length ? v.in_use_by.join(",") : "-") },
  ];
}

/** Creates a volume and prints its name (or JSON). */
export async function runVolumeCreate(ctx: CliContext, name: string, opts: { size?: number; json?: boolean }): Promise<void> {
  const runta = await ctx.client();
  const vol = await runta.volumes.create(name, { sizeMiB: opts.size });
  if (opts.json) printJson(ctx, vol);
  else ctx.io.stdout.write(`${vol.name}\n`);
}

/** Lists volumes. */
export async function runVolumeLs(ctx: CliContext, opts: { quiet?: boolean; json?: boolean }): Promise<void> {
  const runta = await ctx.client();
  await printList(ctx, await runta.volumes.list(), { noun: "volumes", columns: volumeColumns(ctx.now()), id: (v) => v.name }, listFormat(opts));
}

/** Prints every volume found (always an array), then fails for the missing ones. */
export async function runVolumeInspect(ctx: CliContext, names: string[]): Promise<void> {
  const runta = await ctx.client();
  const found: Volume[] = [];
  const failures: { target: string; error: unknown }[] = [];
  for (const n of names) {
    try {
      found.push(await runta.volumes.get(n));
    } catch (error) {
      failures.push({ target: n, error });
    }
  }
  printJson(ctx, found);
  if (failures.length) throw new MultiTargetError(failures);
}

/** Grows a volume and prints its name and new size (or JSON). */
export async function runVolumeResize(ctx: CliContext, name: string, opts: { size: number; json?: boolean }): Promise<void> {
  const runta = await ctx.client();
  const vol = await runta.volumes.resize(name, opts.size);
  if (opts.json) printJson(ctx, vol);
  else ctx.io.stdout.write(`${vol.name}: ${humanBytes(vol.size_bytes, true)}\n`);
}

/** Removes volumes, each on its own; exits 1 if any failed. */
export async function runVolumeRm(ctx: CliContext, names: string[]): Promise<void> {
  const runta = await ctx.client();
  await forEachTarget(ctx, names, (n) => runta.volumes.remove(n));
}
