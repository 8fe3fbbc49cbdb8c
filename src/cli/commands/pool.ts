import { Command } from "commander";
import { DEFAULTS, LIMITS } from "../../api/limits.js";
import type { Pool } from "../../api/pools.js";
import type { CliContext } from "../context.js";
import { UsageError } from "../errors.js";
import { listFormat, printJson, printList, type Column } from "../output.js";
import { boundedNumber, cpusFlag, memoryFlag, runtimeName } from "../parse.js";
import { forEachTarget } from "../targets.js";

/** Flags of `runta pool set`. */
export interface PoolSetOptions {
  image?: string;
  cpus?: number;
  memory?: number;
  min?: number;
  max?: number;
  json?: boolean;
}

const countFlag = (flag: string) => boundedNumber(flag, { min: 0, max: LIMITS.runtimesMax, integer: true });

/** `runta pool set|ls|rm`: warm pools of booted runtimes that `run` takes from. */
export function poolCommand(ctx: CliContext): Command {
  const pool = new Command("pool")
    .description("Keep runtimes of a shape booted, so a run of that shape starts at once (warm pools)")
    .addHelpText(
      "after",
      `
A run (or API create) whose image, --cpus and --memory equal a pool's takes one of its booted runtimes, named and
configured as asked (env, labels, hostname, …), and the pool boots a replacement in the background. Waiting runtimes
are hidden from 'runta ps' (see them with 'runta ps --pooled') and count towards the daemon's runtimes limit.

Examples:
  runta pool set small --image default --cpus 1 --memory 1g --min 1 --max 2
  runta pool ls
  runta pool rm small`,
    );
  pool
    .command("set")
    .description("Create or change a pool: --min runtimes of its shape kept booted (at most --max)")
    .argument("<pool>", "pool name", runtimeName("pool name"))
    .option("--image <image>", `image of the pool's runtimes (default "${DEFAULTS.image}")`)
    .option("--cpus <n>", "vCPUs of the pool's runtimes (default 1)", cpusFlag)
    .option("-m, --memory <size>", "memory of the pool's runtimes: 512m, 2g, or MiB (default 1024)", memoryFlag)
    .option("--min <n>", "runtimes kept booted and waiting", countFlag("--min"))
    .option("--max <n>", "the most runtimes the pool holds (default --min)", countFlag("--max"))
    .option("--json", "print the pool as JSON")
    .addHelpText("after", "\nExamples:\n  runta pool set small --cpus 1 --memory 1g --min 1\n  runta pool set small --min 0")
    .action((name: string, opts: PoolSetOptions) => runPoolSet(ctx, name, opts));
  pool
    .command("ls")
    .alias("list")
    .description("List pools with their ready and booting runtimes")
    .option("-q, --quiet", "only print pool names")
    .option("--json", "print {\"pools\": [...]} with the API objects")
    .addHelpText("after", "\nExamples:\n  runta pool ls\n  runta pool ls --json")
    .action((opts: { quiet?: boolean; json?: boolean }) => runPoolLs(ctx, opts));
  pool
    .command("rm")
    .alias("remove")
    .description("Remove pools and their waiting runtimes (runtimes already taken stay)")
    .argument("<pool...>", "pool names")
    .addHelpText("after", "\nExamples:\n  runta pool rm small")
    .action((names: string[]) => runPoolRm(ctx, names));
  return pool;
}

function poolColumns(): Column<Pool>[] {
  return [
    { header: "POOL", value: (p) => p.name },
    { header: "IMAGE", value: (p) => p.image },
    { header: "CPUS", value: (p) => String(p.resources.requests.vcpus) },
    { header: "MEMORY", value: (p) => `${p.resources.requests.memory_mib}MiB` },
    { header: "MIN", value: (p) => String(p.min) },
    { header: "MAX", value: (p) => String(p.max) },
    { header: "READY", value: (p) => String(p.ready), colour: (p) => (p.ready >= p.min ? "green" : "yellow") },
    { header: "BOOTING", value: (p) => String(p.booting) },
  ];
}

/** Creates or changes a pool and prints its name (or JSON). */
export async function runPoolSet(ctx: CliContext, name: string, opts: PoolSetOptions): Promise<void> {
  if (opts.min === undefined) throw new UsageError("pool set needs --min: how many runtimes to keep booted, e.g. runta pool set small --min 2");
  if (opts.max !== undefined && opts.max < opts.min) throw new UsageError(`--max ${opts.max} is below --min ${opts.min}: raise --max or lower --min`);
  const runta = await ctx.client();
  const pool = await runta.pools.set(name, { min: opts.min, max: opts.max, image: opts.image, vcpus: opts.cpus, memoryMiB: opts.memory });
  if (opts.json) printJson(ctx, pool);
  else ctx.io.stdout.write(`${pool.name}\n`);
}

/** Lists pools. */
export async function runPoolLs(ctx: CliContext, opts: { quiet?: boolean; json?: boolean }): Promise<void> {
  const runta = await ctx.client();
  await printList(ctx, await runta.pools.list(), { noun: "pools", columns: poolColumns(), id: (p) => p.name }, listFormat(opts));
}

/** Removes pools, each on its own; exits 1 if any failed. */
export async function runPoolRm(ctx: CliContext, names: string[]): Promise<void> {
  const runta = await ctx.client();
  await forEachTarget(ctx, names, (n) => runta.pools.remove(n));
}
