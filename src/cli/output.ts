/**
 * All list output, done once: a borderless table on a terminal (short ids, relative times, escaped control
 * characters), tab-separated full values in a pipe, JSON, or ids only.
 *
 * The JSON rule for every list: an object keyed by the plural noun, `{"runtimes": [...]}`, `{"images": [...]}`, as
 * Runta's shipped CLI prints them, so scripts written for it run unchanged and a list can gain sibling keys later.
 */
import type { CliContext } from "./context.js";

/** How a list is printed. */
export type ListFormat = "table" | "json" | "quiet";

/** One column: commands say what it shows; this module decides how. */
export interface Column<T> {
  header: string;
  /** `tty` is true when the value is for a human on a terminal (shortened, relative). */
  value(row: T, tty: boolean): string;
  /** Colour of the cell on a colour terminal (never in pipes or with NO_COLOR). */
  colour?(row: T): "green" | "yellow" | "red" | undefined;
}

/** Picks the format from the usual flags. */
export function listFormat(opts: { json?: boolean; quiet?: boolean }): ListFormat {
  return opts.json ? "json" : opts.quiet ? "quiet" : "table";
}

/** Makes runtime-supplied text safe to put in a table: control characters become visible escapes. */
export function escapeControl(text: string): string {
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => {
    const named: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };
    return named[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`;
  });
}

/** Docker-style 12-character id on a terminal, the full id in a pipe. */
export function showId(id: string, tty: boolean): string {
  return tty ? id.replace(/-/g, "").slice(0, 12) : id;
}

/** "3 minutes ago"-style age, as docker prints it. */
export function relativeTime(iso: string | null | undefined, now: Date): string {
  if (!iso) return "";
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return iso;
  const secs = Math.max(0, Math.round((now.getTime() - then) / 1000));
  if (secs < 1) return "Less than a second ago";
  const units: [number, string][] = [
    [365 * 24 * 3600, "year"],
    [30 * 24 * 3600, "month"],
    [7 * 24 * 3600, "week"],
    [24 * 3600, "day"],
    [3600, "hour"],
    [60, "minute"],
    [1, "second"],
  ];
  for (const [size, unit] of units) {
    const n = Math.floor(secs / size);
    if (n >= 1) {
      if (n === 1) return unit === "hour" ? "About an hour ago" : unit === "minute" ? "About a minute ago" : `1 ${unit} ago`;
      return `${n} ${unit}s ago`;
    }
  }
  return `${secs} seconds ago`;
}

/** A time column: relative on a terminal, ISO 8601 in a pipe. */
export function timeValue(iso: string | null | undefined, tty: boolean, now: Date): string {
  return tty ? relativeTime(iso, now) : (iso ?? "");
}

/**
 * Bytes as a short human size. Decimal by default (docker's image sizes: kB, MB, GB); `binary` for memory (docker
 * stats' KiB, MiB, GiB), so a limit set as `--memory 1g` reads back as 1.00GiB, not 1.07GB.
 */
export function humanBytes(n: number, binary = false): string {
  const units = binary ? ["B", "KiB", "MiB", "GiB", "TiB"] : ["B", "kB", "MB", "GB", "TB"];
  const base = binary ? 1024 : 1000;
  let v = n;
  let i = 0;
  while (v >= base && i < units.length - 1) {
    v /= base;
    i++;
  }
  return i === 0 ? `${v}B` : `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)}${units[i]}`;
}

/** Prints a JSON document (pretty, one trailing newline). */
export function printJson(ctx: CliContext, value: unknown): void {
  ctx.io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** What a list command tells {@link printList}: its noun, its columns and how to name a row. */
export interface ListSpec<T> {
  /** Plural noun, the key of the JSON object (`runtimes` → `{"runtimes": [...]}`). */
  noun: string;
  columns: Column<T>[];
  /** What `-q` prints for a row; `tty` as in {@link Column.value}, so a terminal shows the ids the table shows. */
  id(row: T, tty: boolean): string;
  /** The API object of a row for `--json` (default: the row itself). */
  raw?(row: T): unknown;
}

/** The `--json` document of a list: `{ [noun]: rows }` (the one rule for every list). */
export function listJson<T>(noun: string, rows: T[], raw?: (row: T) => unknown): Record<string, unknown[]> {
  return { [noun]: rows.map((r) => (raw ? raw(r) : r)) };
}

/** Renders rows as a table (TTY: padded, borderless; pipe: tab-separated), JSON or ids. */
export async function printList<T>(ctx: CliContext, rows: T[], spec: ListSpec<T>, format: ListFormat): Promise<void> {
  const out = ctx.io.stdout;
  if (format === "json") return printJson(ctx, listJson(spec.noun, rows, spec.raw));
  const tty = ctx.stdoutIsTTY;
  // One write for the whole list: a write per row is a syscall and a trip through the stream each (200 rows of ps).
  if (format === "quiet") {
    if (rows.length > 0) out.write(rows.map((r) => `${spec.id(r, tty)}\n`).join(""));
    return;
  }
  const cells = rows.map((r) => spec.columns.map((c) => escapeControl(c.value(r, tty))));
  const headers = spec.columns.map((c) => c.header);
  if (!tty) {
    out.write([headers, ...cells].map((line) => `${line.join("\t")}\n`).join(""));
    return;
  }
  if (ctx.colour) {
    // ctx.colour already decided (TTY, no NO_COLOR); chalk's own detection looks at process.stdout instead.
    const { Chalk } = await import("chalk");
    const chalk = new Chalk({ level: 1 });
    rows.forEach((r, i) =>
      spec.columns.forEach((c, j) => {
        const colour = c.colour?.(r);
        if (colour) cells[i]![j] = chalk[colour](cells[i]![j]);
      }),
    );
  }
  const { default: Table } = await import("cli-table3");
  const blank = { top: "", "top-mid": "", "top-left": "", "top-right": "", bottom: "", "bottom-mid": "", "bottom-left": "",
    "bottom-right": "", left: "", "left-mid": "", mid: "", "mid-mid": "", right: "", "right-mid": "", middle: "   " };
  const table = new Table({
    head: headers,
    chars: blank,
    style: { head: ctx.colour ? ["bold"] : [], border: [], "padding-left": 0, "padding-right": 0, compact: true },
  });
  table.push(...cells);
  // cli-table3 pads the last column too; docker does not, and trailing blanks upset copy-paste.
  // The bold header's last cell ends in escape codes after its padding, so trim blanks before trailing codes too.
  out.write(`${table.toString().split("\n").map((l) => l.replace(/\s+((?:\x1b\[[0-9;]*m)*)$/, "$1")).join("\n")}\n`);
}

/** A progress indicator on stderr: an ora spinner on a decorated terminal, otherwise silent or plain lines. */
export interface Progress {
  update(text: string): void;
  succeed(text?: string): void;
  fail(text?: string): void;
  stop(): void;
}

/**
 * Starts a spinner. With `plainLines`, updates are printed as lines when there is no terminal, so that a long
 * image build shows progress in CI logs too.
 */
export async function spinner(ctx: CliContext, text: string, opts: { plainLines?: boolean } = {}): Promise<Progress> {
  const err = ctx.io.stderr;
  if (!ctx.decorate) {
    const line = (t?: string) => {
      if (opts.plainLines && t) err.write(`${t}\n`);
    };
    line(text);
    return { update: line, succeed: line, fail: () => undefined, stop: () => undefined };
  }
  const { default: ora } = await import("ora");
  const s = ora({ text, stream: err as NodeJS.WritableStream & { isTTY: boolean }, isEnabled: true, discardStdin: false }).start();
  return {
    update: (t) => {
      s.text = t;
    },
    succeed: (t) => void s.succeed(t),
    fail: (t) => void (t ? s.fail(t) : s.stop()),
    stop: () => void s.stop(),
  };
}
