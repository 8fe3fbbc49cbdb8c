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
  labels?: boolean;
  pooled?: boolean;
}

/** Statuses `ps` shows without `-a`, like docker's "running containers". */
export const ACTIVE_STATUSES: RuntimeStatus[] = ["creating", "running", "paused", "suspended"];

/** `runta ps`. */
export function psCommand(ctx: CliContext): Command {
  return new Command("ps")
    .alias("ls")
    .description("List runtimes (running, paused, suspended and creating ones; -a for all)")
    .option("-a, --all", "show runtimes in every status")
    .option("-q, --quiet", "only print runtime ids (short on a terminal, as the table shows them; full in a pipe)")
    .option("--json", "print {\"runtimes\": [...]} with the API objects")
    .option(
      "-f, --filter <key=value>",
      "filter: status=<status>, name=<substring> (^ and $ anchor it: name=^worker$ is exact), label=<key> or label=<key>=<value> (repeatable; all must match)",
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option("--labels", "add a LABELS column")
    .option("--pooled", "also list the daemon's own runtimes: warm pools' waiting ones, with a POOL column (runta pool), and image build runtimes")
    .addHelpText(
      "after",
      `
Examples:
  runta ps
  runta ps -a
  runta ps -a --filter status=shutdown
  runta ps -f name=^worker$
  runta ps -a -f label=team=infra --labels
  runta ps --pooled
  runta ps -q | xargs -r runta pause`,
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

/** Table columns of a runtime list (docker-like); `labels` adds a LABELS column. */
export function runtimeColumns(now: Date, opts: { labels?: boolean; pooled?: boolean } = {}): Column<Runtime>[] {
  const columns: Column<Runtime>[] = [
    { header: "RUNTIME ID", value: (r, tty) => showId(r.id, tty) },
    { header: "NAME", value: (r) => r.name },
    { header: "IMAGE", value: (r) => r.image },
    { header: "STATUS", value: (r) => r.status, colour: (r) => STATUS_COLOURS[r.status] },
    { header: "CPUS", value: (r) => String(r.resources.requests.vcpus) },
    { header: "MEMORY", value: (r) => `${r.resources.requests.memory_mib}MiB` },
    { header: "DISK", value: (r) => (r.resources.requests.disk_size_gib ? `${r.resources.requests.disk_size_gib}GiB` : "-") },
    { header: "CREATED", value: (r, tty) => timeValue(r.created_at, tty, now) },
  ];
  if (opts.pooled) columns.push({ header: "POOL", value: (r) => r.pool ?? "-" });
  if (opts.labels) columns.push({ header: "LABELS", value: (r) => Object.entries(r.labels).map(([k, v]) => `${k}=${v}`).join(",") });
  return columns;
}

/** Filters of `ps`, parsed. */
interface PsFilters {
  status?: RuntimeStatus[];
  name?: string[];
  label?: { key: string; value?: string }[];
}

/** docker's name filter: a substring, anchored by a leading ^ and/or a trailing $ (name=^worker$ is exact). */
function nameMatches(name: string, pattern: string): boolean {
  const start = pattern.startsWith("^");
  const end = pattern.length > 1 && pattern.endsWith("$");
  const core = pattern.slice(start ? 1 : 0, end ? -1 : undefined);
  if (start && end) return name === core;
  if (start) return name.startsWith(core);
  if (end) return name.endsWith(core);
  return name.includes(core);
}

async function parseFilters(filters: string[] = []): Promise<PsFilters> {
  // The status list lives with the zod schemas; load them only when a filter needs it.
  const { RUNTIME_STATUSES } = filters.length ? await import("../../api/schemas.js") : { RUNTIME_STATUSES: [] as readonly string[] };
  const out: PsFilters = {};
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
    } else if (key === "label" && value !== "" && !value.startsWith("=")) {
      const at = value.indexOf("=");
      (out.label ??= []).push(at < 0 ? { key: value } : { key: value.slice(0, at), value: value.slice(at + 1) });
    } else {
      throw new UsageError(`--filter "${f}" is not understood — use status=<status>, name=<substring>, label=<key> or label=<key>=<value>`);
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
  const handles = await runta.runtimes.list({ ...(status ? { status } : {}), ...(opts.pooled ? { pooled: true } : {}) });
  let rows = handles.map((h) => h.info);
  // Names: any of the given patterns (docker's rule); labels: every one given.
  if (filters.name) rows = rows.filter((r) => filters.name!.some((n) => nameMatches(r.name, n)));
  if (filters.label) rows = rows.filter((r) => filters.label!.every((l) => Object.hasOwn(r.labels, l.key) && (l.value === undefined || r.labels[l.key] === l.value)));
  const columns = runtimeColumns(ctx.now(), { labels: opts.labels, pooled: opts.pooled });
  await printList(ctx, rows, { noun: "runtimes", columns, id: (r, tty) => showId(r.id, tty) }, listFormat(opts));
}
