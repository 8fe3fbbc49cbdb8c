import { Command } from "commander";
import type { Runtime, RuntimeStatus } from "../../api/schemas.js";
import type { CliContext } from "../context.js";
import { UsageError } from "../errors.js";
import { listFormat, printList, showId, timeValue, type Column } from "../output.js";

/** Flags of `runta ps`. */
export interface PsOptions {
  all?: boolean;
  quiet?: boolean;
  json?: boolean;
  filter?: string[];
}

/** Statuses `ps` shows without `-a`, like docker's "running containers". */
export const ACTIVE_STATUSES: RuntimeStatus[] = ["creating", "running", "paused"];

/** `runta ps`. */
export function psCommand(ctx: CliContext): Command {
  return new Command("ps")
    .alias("ls")
    .description("List runtimes (running, paused and creating ones; -a for all)")
    .option("-a, --all", "show runtimes in every status")
    .option("-q, --quiet", "only print runtime ids (short on a terminal, as the table shows them; full in a pipe)")
    .option("--json", "print {\"runtimes\": [...]} with the API objects")
    .option("-f, --filter <key=value>", "filter: status=<status> or name=<substring> (repeatable)", (v: string, prev: string[] = []) => [...prev, v])
    .addHelpText(
      "after",
      `
Examples:
  runta ps
  runta ps -a
  runta ps -a --filter status=shutdown
  runta ps -q | xargs runta pause`,
    )
    .action((opts: PsOptions) => runPs(ctx, opts));
}

const STATUS_COLOURS: Partial<Record<RuntimeStatus, "green" | "yellow" | "red">> = {
  running: "green",
  paused: "yellow",
  creating: "yellow",
  error: "red",
  crashed: "red",
};

/** Table columns of a runtime list (docker-like). */
export function runtimeColumns(now: Date): Column<Runtime>[] {
  return [
    { header: "RUNTIME ID", value: (r, tty) => showId(r.id, tty) },
    { header: "NAME", value: (r) => r.name },
    { header: "IMAGE", value: (r) => r.image },
    { header: "STATUS", value: (r) => r.status, colour: (r) => STATUS_COLOURS[r.status] },
    { header: "CPUS", value: (r) => String(r.resources.requests.vcpus) },
    { header: "MEMORY", value: (r) => `${r.resources.requests.memory_mib}MiB` },
    { header: "DISK", value: (r) => (r.resources.requests.disk_size_gib ? `${r.resources.requests.disk_size_gib}GiB` : "-") },
    { header: "CREATED", value: (r, tty) => timeValue(r.created_at, tty, now) },
  ];
}

async function parseFilters(filters: string[] = []): Promise<{ status?: RuntimeStatus[]; name?: string[] }> {
  // The status list lives with the zod schemas; load them only when a filter needs it.
  const { RUNTIME_STATUSES } = filters.length ? await import("../../api/schemas.js") : { RUNTIME_STATUSES: [] as readonly string[] };
  const out: { status?: RuntimeStatus[]; name?: string[] } = {};
  for (const f of filters) {
    const eq = f.indexOf("=");
    const key = eq < 0 ? f : f.slice(0, eq);
    const value = eq < 0 ? "" : f.slice(eq + 1);
    if (key === "status") {
      if (!(RUNTIME_STATUSES as readonly string[]).includes(value)) {
        throw new UsageError(`--filter status="${value}" is not a status — use one of ${RUNTIME_STATUSES.join(", ")}`);
      }
      (out.status ??= []).push(value as RuntimeStatus);
    } else if (key === "name" && value !== "") {
      (out.name ??= []).push(value);
    } else {
      throw new UsageError(`--filter "${f}" is not understood — use status=<status> or name=<substring>`);
    }
  }
  return out;
}

/** Lists runtimes in the chosen format. */
export async function runPs(ctx: CliContext, opts: PsOptions): Promise<void> {
  const filters = await parseFilters(opts.filter);
  // An explicit status filter shows what it names, even without -a (docker does the same).
  const status = filters.status ?? (opts.all ? undefined : ACTIVE_STATUSES);
  const runta = await ctx.client();
  const handles = await runta.runtimes.list(status ? { status } : {});
  let rows = handles.map((h) => h.info);
  if (filters.name) rows = rows.filter((r) => filters.name!.some((n) => r.name.includes(n)));
  await printList(ctx, rows, { noun: "runtimes", columns: runtimeColumns(ctx.now()), id: (r, tty) => showId(r.id, tty) }, listFormat(opts));
}
