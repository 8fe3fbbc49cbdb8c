/** The one logger type of the daemon, engine and store, and its JSON-lines implementation: one JSON object per line on stderr (easy to grep, easy to ship). */

/** Fields attached to a log line. Never put the API token here. */
export type LogFields = Record<string, unknown>;

/** The logger the server, engine and store write to (the daemon builds one and hands it down). */
export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

type Level = "debug" | "info" | "warn" | "error";
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** A JSON-lines logger writing to `out` (default process.stderr) at `level` and above (default "info", or RUNTA_LOG_LEVEL). */
export function jsonLogger(opts: { out?: NodeJS.WritableStream; level?: Level } = {}): Logger {
  const out = opts.out ?? process.stderr;
  const envLevel = process.env.RUNTA_LOG_LEVEL as Level | undefined;
  const min = ORDER[opts.level ?? (envLevel && envLevel in ORDER ? envLevel : "info")];
  const write = (level: Level, msg: string, fields?: LogFields) => {
    if (ORDER[level] < min) return;
    const line: LogFields = { ts: new Date().toISOString(), level, msg, ...fields };
    for (const [k, v] of Object.entries(line)) if (v instanceof Error) line[k] = { name: v.name, message: v.message };
    out.write(JSON.stringify(line) + "\n");
  };
  return {
    debug: (m, f) => write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
  };
}

/** A logger that drops everything (tests that do not care about logs). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
