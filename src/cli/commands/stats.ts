import { Command } from "commander";
import type { Runtime } from "../../api/schemas.js";
import type { RuntaApi } from "../../client/contract.js";
import type { CliContext } from "../context.js";
import { EXIT, StatusError } from "../errors.js";
import { humanBytes, listJson, printJson, printList, showId, type Column } from "../output.js";
import { withRuntime } from "../targets.js";

/** Flags of `runta stats`. */
export interface StatsOptions {
  /** False with --no-stream (commander's negated flag). */
  stream?: boolean;
  json?: boolean;
}

/** One runtime's figures between two samples. */
export interface RuntimeStats {
  id: string;
  name: string;
  /** CPU time used over wall time, in percent of one CPU (200 = two CPUs busy), as docker counts it. */
  cpu_percent: number;
  memory_bytes: number;
  memory_limit_bytes: number;
  memory_percent: number;
  pids: number;
  /** Bytes received and sent since it got its network; null without one (--network none). */
  net_rx_bytes: number | null;
  net_tx_bytes: number | null;
  /** Bytes read from and written to its disk since it was mounted; null without a disk of its own. */
  disk_read_bytes: number | null;
  disk_write_bytes: number | null;
}

/** How often the table refreshes, and the span the CPU % is measured over. */
const INTERVAL_MS = 1000;

/** `runta stats`. */
export function statsCommand(ctx: CliContext): Command {
  return new Command("stats")
    .description("Live CPU %, memory used / limit, network and disk I/O and pids of running runtimes (all, or the ones named)")
    .argument("[runtime...]", "runtime names or ids (default: every running or paused runtime)")
    .option("--no-stream", "print one sample and exit (also what happens in a pipe)")
    .option("--json", 'print one sample as {"stats": [...]}')
    .addHelpText(
      "after",
      `
On a terminal the table refreshes every second until Ctrl-C. CPU % is of one CPU (200% = two busy CPUs), measured
over one second. NET I/O is bytes received / sent since the runtime got its network ("--" with --network none),
BLOCK I/O bytes read / written on its disk since it was mounted (at boot): totals, like docker stats.

Examples:
  runta stats
  runta stats --no-stream worker
  runta stats --json`,
    )
    .action((targets: string[], opts: StatsOptions) => runStats(ctx, targets, opts));
}

/** Samples usage twice a second apart, prints the figures, and on a terminal keeps refreshing until Ctrl-C. */
export async function runStats(ctx: CliContext, targets: string[], opts: StatsOptions): Promise<void> {
  const runta = await ctx.client();
  const once = opts.stream === false || opts.json === true || !ctx.stdoutIsTTY;
  let before = await sample(runta, targets);
  let at = Date.now();
  const signals = ctx.deps.signals ?? process;
  let stop = () => undefined as void;
  const interrupted = new Promise<void>((resolve) => (stop = resolve));
  const onInt = () => stop();
  if (!once) signals.on("SIGINT", onInt);
  try {
    for (;;) {
      const tick = new Promise<"tick">((r) => setTimeout(() => r("tick"), INTERVAL_MS));
      if ((await Promise.race([tick, interrupted.then(() => "stop" as const)])) === "stop") break;
      const now = await sample(runta, targets);
      const rows = figures(before, now, Date.now() - at);
      before = now;
      at = Date.now();
      if (opts.json) return printJson(ctx, listJson("stats", rows));
      // Home and clear, then the table: a refreshing view like docker stats.
      if (!once) ctx.io.stdout.write("\x1b[H\x1b[2J");
      await printList(ctx, rows, { noun: "stats", columns: STATS_COLUMNS, id: (r, tty) => showId(r.id, tty) }, "table");
      if (once) return;
    }
  } finally {
    signals.removeListener("SIGINT", onInt);
  }
  throw new StatusError(EXIT.interrupted);
}

/** The named runtimes (with usage), or every running and paused one. */
async function sample(runta: RuntaApi, targets: string[]): Promise<Runtime[]> {
  if (targets.length === 0) return (await runta.runtimes.list({ status: ["running", "paused", "suspended"], usage: true })).map((h) => h.info);
  return Promise.all(targets.map(async (t) => (await withRuntime(runta, t, (id) => runta.runtimes.get(id))).info));
}

/** Figures per runtime from two samples `ms` apart; a runtime without usage (not running) shows zeros. */
export function figures(before: Runtime[], now: Runtime[], ms: number): RuntimeStats[] {
  const prev = new Map(before.map((r) => [r.id, r.usage?.cpu_usage_ns]));
  return now.map((r) => {
    const u = r.usage;
    const was = prev.get(r.id);
    const cpu = u && was !== undefined && ms > 0 ? ((u.cpu_usage_ns - was) / (ms * 1e6)) * 100 : 0;
    const limit = u?.memory_limit_bytes ?? 0;
    return {
      id: r.id,
      name: r.name,
      cpu_percent: Math.max(0, Math.round(cpu * 100) / 100),
      memory_bytes: u?.memory_bytes ?? 0,
      memory_limit_bytes: limit,
      memory_percent: limit > 0 ? Math.round(((u?.memory_bytes ?? 0) / limit) * 10000) / 100 : 0,
      pids: u?.pids ?? 0,
      net_rx_bytes: u?.net_rx_bytes ?? null,
      net_tx_bytes: u?.net_tx_bytes ?? null,
      disk_read_bytes: u?.disk_read_bytes ?? null,
      disk_write_bytes: u?.disk_write_bytes ?? null,
    };
  });
}

const STATS_COLUMNS: Column<RuntimeStats>[] = [
  { header: "RUNTIME ID", value: (r, tty) => showId(r.id, tty) },
  { header: "NAME", value: (r) => r.name },
  { header: "CPU %", value: (r) => `${r.cpu_percent.toFixed(2)}%` },
  { header: "MEM USAGE / LIMIT", value: (r) => `${humanBytes(r.memory_bytes, true)} / ${humanBytes(r.memory_limit_bytes, true)}` },
  { header: "MEM %", value: (r) => `${r.memory_percent.toFixed(2)}%` },
  { header: "NET I/O", value: (r) => inOut(r.net_rx_bytes, r.net_tx_bytes) },
  { header: "BLOCK I/O", value: (r) => inOut(r.disk_read_bytes, r.disk_write_bytes) },
  { header: "PIDS", value: (r) => String(r.pids) },
];

/** Two byte counts as docker stats shows them ("1.2MB / 3.4kB"); "--" when unknown. */
export function inOut(a: number | null, b: number | null): string {
  return a === null || b === null ? "--" : `${humanBytes(a)} / ${humanBytes(b)}`;
}
