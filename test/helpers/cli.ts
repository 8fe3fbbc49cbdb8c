/**
 * Helpers to drive the CLI: `testIO()` buffered streams for in-process runs (TTY or pipe), and `runtaBin()`
 * to run the built bin/runta.js as a child process (e2e; `npm run build` first).
 */
import { clearLine, cursorTo, moveCursor } from "node:readline";
import { PassThrough } from "node:stream";
import { fileURLToPath } from "node:url";
import { execa, type Result } from "execa";
import type { CliIO } from "../../src/cli/io.js";

/** Buffered IO plus accessors for what was written. */
export interface TestIO extends CliIO {
  out(): string;
  err(): string;
  /** Feeds stdin and ends it. */
  input(text: string): void;
}

/** Streams that look like a terminal (`tty: true`) or a pipe, with output captured. */
export function testIO(opts: { tty?: boolean; stdinTTY?: boolean; columns?: number; rows?: number } = {}): TestIO {
  const stdin = new PassThrough() as PassThrough & { isTTY?: boolean; setRawMode?(m: boolean): unknown };
  const stdout = new PassThrough() as PassThrough & { isTTY?: boolean; columns?: number; rows?: number };
  const stderr = new PassThrough() as PassThrough & { isTTY?: boolean; columns?: number };
  let out = "";
  let err = "";
  stdout.on("data", (c: Buffer) => (out += c.toString()));
  stderr.on("data", (c: Buffer) => (err += c.toString()));
  if (opts.tty) {
    stdout.isTTY = true;
    stderr.isTTY = true;
    stdout.columns = opts.columns ?? 120;
    stdout.rows = opts.rows ?? 40;
    stderr.columns = opts.columns ?? 120;
    // What tty.WriteStream offers and spinners (ora) call.
    for (const s of [stdout, stderr] as (PassThrough & Record<string, unknown>)[]) {
      s.cursorTo = (x: number, y?: number, cb?: () => void) => cursorTo(s, x, y, cb);
      s.moveCursor = (dx: number, dy: number, cb?: () => void) => moveCursor(s, dx, dy, cb);
      s.clearLine = (dir: -1 | 0 | 1, cb?: () => void) => clearLine(s, dir, cb);
    }
  }
  if (opts.stdinTTY ?? opts.tty) {
    stdin.isTTY = true;
    stdin.setRawMode = () => stdin;
  }
  return {
    stdin,
    stdout,
    stderr,
    out: () => out,
    err: () => err,
    input(text: string) {
      stdin.end(text);
    },
  };
}

/** Absolute path of the built CLI shim. */
export const RUNTA_BIN = fileURLToPath(new URL("../../bin/runta.js", import.meta.url));

/** Runs `bin/runta.js` with args; never throws on a non-zero exit (check `exitCode`). */
export function runtaBin(
  args: string[],
  opts: { env?: Record<string, string | undefined>; input?: string; timeoutMs?: number } = {},
): Promise<Result> {
  // An override of undefined removes the variable (e.g. a developer's RUNTA_ENDPOINT must not leak into a test).
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, NO_COLOR: "1", ...opts.env })) if (v !== undefined) env[k] = v;
  return execa(process.execPath, [RUNTA_BIN, ...args], {
    reject: false,
    env,
    extendEnv: false,
    input: opts.input,
    stdin: opts.input === undefined ? "ignore" : undefined,
    timeout: opts.timeoutMs ?? 120_000,
    stripFinalNewline: false,
  }) as Promise<Result>;
}
