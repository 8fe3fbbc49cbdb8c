/**
 * A real pseudo-terminal (node-pty) running a shell command, for the tty e2e tests: what it shows accumulates in
 * `text()`, `until` waits for the screen to match. TERM is the terminal's own name, as a terminal emulator sets it.
 */
import { resolve } from "node:path";
import pty from "node-pty";

const ROOT = resolve(import.meta.dirname, "../..");

/** Options of {@link terminal}. Defaults: 100x30, xterm-256color, the caller's environment. */
export interface TerminalOptions {
  /** Added to the caller's environment. */
  env?: Record<string, string | undefined>;
  size?: { cols: number; rows: number };
  term?: string;
}

/** A terminal running `sh -c cmd` in the repository root. */
export function terminal(cmd: string, opts: TerminalOptions = {}) {
  const term = opts.term ?? "xterm-256color";
  const p = pty.spawn("sh", ["-c", cmd], {
    name: term,
    ...(opts.size ?? { cols: 100, rows: 30 }),
    cwd: ROOT,
    env: { ...process.env, ...opts.env, TERM: term } as Record<string, string>,
  });
  let screen = "";
  p.onData((s) => (screen += s));
  const exited = new Promise<number>((r) => p.onExit((e) => r(e.exitCode)));
  return {
    p,
    exited,
    text: () => screen,
    async until(re: RegExp, ms = 15_000): Promise<RegExpMatchArray> {
      const t0 = Date.now();
      for (;;) {
        const m = screen.match(re);
        if (m) return m;
        if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${re}; the terminal shows:\n${JSON.stringify(screen.slice(-3000))}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}

/** What {@link terminal} returns. */
export type Terminal = ReturnType<typeof terminal>;
