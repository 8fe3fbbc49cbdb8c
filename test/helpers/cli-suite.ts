/**
 * The set-up the CLI's e2e test files share: one real test daemon per file with its leak check (daemonSuite(),
 * daemon-suite.ts), its scratch dir as a private HOME, and the built `bin/runta.js` run against them. Call `cliSuite()`
 * once at the top of a test file; it registers the file's beforeAll/afterAll.
 */
import { expect } from "vitest";
import { runtaBin } from "./cli.js";
import type { TestDaemon } from "./daemon.js";
import { daemonSuite, type DaemonSuiteOptions } from "./daemon-suite.js";

export interface CliSuiteOptions extends Pick<DaemonSuiteOptions, "defaultImage" | "privateImages"> {
  /** Per-command timeout of `runta` (default: runtaBin's 120 s). */
  timeoutMs?: number;
}

export interface RunOptions {
  /** Written to the CLI's stdin. */
  input?: string;
  /** Extra environment for this command (undefined removes a variable). */
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
}

export interface CliSuite {
  /** The file's daemon (started in beforeAll). */
  readonly daemon: TestDaemon;
  /** A private HOME (also a scratch dir the file may write to; removed after the file). */
  readonly home: string;
  /** Runs the built CLI against the daemon; never throws on a non-zero exit. */
  runta(args: string[], opts?: RunOptions): ReturnType<typeof runtaBin>;
  /** Runs a command that must succeed (exit 0); its stdout. */
  ok(args: string[], opts?: RunOptions): Promise<string>;
  /** `runta inspect <rt>`'s record. */
  inspect(rt: string): Promise<any>;
}

export function cliSuite(opts: CliSuiteOptions = {}): CliSuite {
  const base = daemonSuite({ defaultImage: opts.defaultImage, privateImages: opts.privateImages });

  const suite: CliSuite = {
    daemon: base.daemon,
    get home() {
      return base.scratch;
    },
    runta: (args, run = {}) =>
      runtaBin(args, {
        env: { ...suite.daemon.env, HOME: base.scratch, XDG_CONFIG_HOME: undefined, ...run.env },
        input: run.input,
        timeoutMs: run.timeoutMs ?? opts.timeoutMs,
      }),
    async ok(args, run) {
      const r = await suite.runta(args, run);
      expect(r.exitCode, `runta ${args.join(" ")}: ${String(r.stderr)}`).toBe(0);
      return String(r.stdout);
    },
    inspect: async (rt) => JSON.parse(await suite.ok(["inspect", rt]))[0],
  };
  return suite;
}
