/**
 * The set-up the CLI's e2e test files share: one real test daemon per file (test/helpers/daemon.ts), a private HOME,
 * and the built `bin/runta.js` run against them. Call `cliSuite()` once at the top of a test file; it registers the
 * file's beforeAll/afterAll (the daemon's cleanup must leave nothing behind: no runc state, cgroup or data).
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect } from "vitest";
import { runtaBin } from "./cli.js";
import { ensureDefaultImage, leaks, SHARED_IMAGES_DIR, startTestDaemon, type TestDaemon } from "./daemon.js";

export interface CliSuiteOptions {
  /** Runtimes on the default (Debian) image: built once into the shared images dir (minutes, the first time). */
  defaultImage?: boolean;
  /**
   * With `defaultImage`: a private images dir holding the shared default image hard-linked (instant, no copy), for
   * files that build or remove images, which must not land in the shared dir.
   */
  privateImages?: boolean;
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
  /** The file's daemon (set in beforeAll). */
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
  let daemon: TestDaemon | undefined;
  let home = "";

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), "runta-e2e-home-"));
    if (opts.defaultImage) await ensureDefaultImage(SHARED_IMAGES_DIR);
    let imagesDir = opts.defaultImage ? SHARED_IMAGES_DIR : undefined;
    if (opts.defaultImage && opts.privateImages) {
      imagesDir = join(home, "images");
      mkdirSync(imagesDir);
      execFileSync("cp", ["-al", join(SHARED_IMAGES_DIR, "default"), join(imagesDir, "default")]);
    }
    daemon = await startTestDaemon(imagesDir ? { imagesDir } : {});
  }, 900_000);

  afterAll(async () => {
    try {
      await daemon?.cleanup();
      if (daemon) expect(await leaks(daemon)).toEqual([]);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }, 120_000);

  const suite: CliSuite = {
    get daemon() {
      if (!daemon) throw new Error("cliSuite: the daemon starts in beforeAll; use it inside tests and hooks");
      return daemon;
    },
    get home() {
      return home;
    },
    runta: (args, run = {}) =>
      runtaBin(args, {
        env: { ...suite.daemon.env, HOME: home, XDG_CONFIG_HOME: undefined, ...run.env },
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
