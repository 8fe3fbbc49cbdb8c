import { Command } from "commander";
import type { Checkpoint } from "../../api/files.js";
import type { CliContext } from "../context.js";
import { UsageError } from "../errors.js";
import { humanBytes, listFormat, printJson, printList, spinner, timeValue, type Column } from "../output.js";
import { collectKeyValue, cpusFlag, diskSizeFlag, ENV_NAME, hostnameFlag, LABEL_KEY, memoryFlag, nameFlag } from "../parse.js";
import { forEachTarget, withRuntime } from "../targets.js";
import type { PortRequest } from "../../api/ports-spec.js";
import { collectPorts } from "./ports.js";

/** Flags of `runta checkpoint restore` (those of `run` that a restore can take). */
export interface RestoreOptions {
  cpus?: number;
  memory?: number;
  diskSizeGib?: number;
  env?: Record<string, string>;
  label?: Record<string, string>;
  hostname?: string;
  publish?: PortRequest[];
  json?: boolean;
}

/** `runta checkpoint create|ls|restore|rm` (also `runta snapshot …`). */
export function checkpointCommand(ctx: CliContext): Command {
  const cp = new Command("checkpoint")
    .alias("snapshot")
    .description("Freeze a runtime's filesystem and start new runtimes from it (forks)")
    .addHelpText(
      "after",
      `
Examples:
  runta checkpoint create worker golden-v1
  runta checkpoint ls
  runta checkpoint restore golden-v1 task-1 --cpus 2 -m 2g
  runta checkpoint rm golden-v1
('runta snapshot …' is the same command.)`,
    );
  cp.command("create")
    .description("Checkpoint a runtime's filesystem (a running runtime is paused for the copy, then resumed)")
    .argument("<runtime>", "runtime name or id")
    .argument("<name>", "name of the new checkpoint", nameFlagFor("checkpoint"))
    .option("--kind <kind>", "full: the filesystem (default); live: processes and memory too, where CRIU works on the host", kindFlag)
    .option("--json", "print the checkpoint as JSON")
    .addHelpText("after", "\nExamples:\n  runta checkpoint create worker golden-v1\n  runta checkpoint create worker golden-v1 --json")
    .action((runtime: string, name: string, opts: { kind?: Checkpoint["kind"]; json?: boolean }) => runCheckpointCreate(ctx, runtime, name, opts));
  cp.command("ls")
    .alias("list")
    .description("List checkpoints with their disk use and the runtimes standing on them")
    .option("-q, --quiet", "only print checkpoint names")
    .option("--json", "print {\"checkpoints\": [...]} with the API objects")
    .addHelpText("after", "\nExamples:\n  runta checkpoint ls\n  runta checkpoint ls --json")
    .action((opts: { quiet?: boolean; json?: boolean }) => runCheckpointLs(ctx, opts));
  cp.command("restore")
    .description("Create a new runtime from a checkpoint (it takes run's resource flags); prints its id")
    .argument("<checkpoint>", "checkpoint name or id")
    .argument("<runtime>", "name of the new runtime", nameFlagFor("runtime"))
    .option("--cpus <n>", "vCPUs, fractions allowed (default 1)", cpusFlag)
    .option("-m, --memory <size>", "memory limit: 512m, 2g, or a bare number of MiB (default 1024)", memoryFlag)
    .option("--disk-size-gib <GiB>", "size of the new runtime's own disk (default 10)", diskSizeFlag)
    .option("-e, --env <K=V>", "environment variable (repeatable; -e K takes K from your environment)", collectKeyValue("-e", ENV_NAME, ctx.env))
    .option("--label <k=v>", "label (repeatable)", collectKeyValue("--label", LABEL_KEY))
    .option("--hostname <name>", "hostname inside the new runtime (default its name)", hostnameFlag)
    .option("-p, --publish <port>", "publish a port of the new runtime (repeatable; as runta run -p)", collectPorts("--publish"))
    .option("--json", "print the created runtime as JSON instead of its id")
    .addHelpText("after", "\nExamples:\n  runta checkpoint restore golden-v1 task-1\n  runta checkpoint restore golden-v1 task-2 --cpus 2 -e TASK=2")
    .action((checkpoint: string, runtime: string, opts: RestoreOptions) => runCheckpointRestore(ctx, checkpoint, runtime, opts));
  cp.command("rm")
    .alias("remove")
    .description("Remove checkpoints (refused while runtimes stand on them)")
    .argument("<checkpoint...>", "checkpoint names or ids")
    .addHelpText("after", "\nExamples:\n  runta checkpoint rm golden-v1")
    .action((names: string[]) => runCheckpointRm(ctx, names));
  return cp;
}

function kindFlag(value: string): Checkpoint["kind"] {
  if (value !== "full" && value !== "live") throw new UsageError(`--kind must be full or live, got "${value}"`);
  return value;
}

/** A name argument checked as the API checks names, the error naming what it names. */
function nameFlagFor(what: string): (value: string) => string {
  return (value) => {
    try {
      return nameFlag(value);
    } catch (err) {
      throw new UsageError((err as Error).message.replace(/^--name/, `${what} name`));
    }
  };
}

function checkpointColumns(now: Date): Column<Checkpoint>[] {
  return [
    { header: "NAME", value: (c) => c.display_name },
    { header: "STATE", value: (c) => c.state, colour: (c) => (c.state === "ready" ? "green" : c.state === "error" ? "red" : "yellow") },
    { header: "SOURCE", value: (c) => c.source_runtime },
    { header: "SIZE", value: (c, tty) => (tty ? humanBytes(c.size_bytes) : String(c.size_bytes)) },
    { header: "CREATED", value: (c, tty) => timeValue(c.created_at, tty, now) },
    { header: "USED BY", value: (c) => (c.in_use_by.length ? c.in_use_by.join(",") : "-") },
  ];
}

/** Creates a checkpoint and prints its name (or JSON). */
export async function runCheckpointCreate(ctx: CliContext, runtime: string, name: string, opts: { kind?: Checkpoint["kind"]; json?: boolean }): Promise<void> {
  const runta = await ctx.client();
  const progress = await spinner(ctx, `checkpointing ${runtime} as ${name}…`);
  try {
    const cp = await withRuntime(runta, runtime, (rt) => runta.checkpoints.create(rt, name, { kind: opts.kind }));
    progress.stop();
    if (opts.json) printJson(ctx, cp);
    else ctx.io.stdout.write(`${cp.display_name}\n`);
  } catch (err) {
    progress.fail();
    throw err;
  }
}

/** Lists checkpoints. */
export async function runCheckpointLs(ctx: CliContext, opts: { quiet?: boolean; json?: boolean }): Promise<void> {
  const runta = await ctx.client();
  const rows = await runta.checkpoints.list();
  await printList(ctx, rows, { noun: "checkpoints", columns: checkpointColumns(ctx.now()), id: (c) => c.display_name }, listFormat(opts));
}

/** Restores a checkpoint as a new runtime and prints its id (or JSON). */
export async function runCheckpointRestore(ctx: CliContext, checkpoint: string, runtime: string, opts: RestoreOptions): Promise<void> {
  const runta = await ctx.client();
  const progress = await spinner(ctx, `restoring ${checkpoint} as ${runtime}…`);
  try {
    const rt = await runta.checkpoints.restore(checkpoint, runtime, {
      vcpus: opts.cpus,
      memoryMiB: opts.memory,
      diskSizeGiB: opts.diskSizeGib,
      env: opts.env,
      labels: opts.label,
      hostname: opts.hostname,
      ports: opts.publish,
    });
    progress.stop();
    if (opts.json) printJson(ctx, rt.info);
    else ctx.io.stdout.write(`${rt.id}\n`);
  } catch (err) {
    progress.fail();
    throw err;
  }
}

/** Removes checkpoints, each on its own; exits 1 if any failed. */
export async function runCheckpointRm(ctx: CliContext, names: string[]): Promise<void> {
  const runta = await ctx.client();
  await forEachTarget(ctx, names, (n) => runta.checkpoints.remove(n));
}
