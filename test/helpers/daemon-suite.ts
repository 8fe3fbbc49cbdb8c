/**
 * The set-up every test file against a real daemon shares: one test daemon per file (test/helpers/daemon.ts), started
 * in beforeAll — after the default image is built when the file needs it — and in afterAll deleted with all it made,
 * then checked for leaks (no runc state, cgroup, mount, loop device, network or data left). Call `daemonSuite()` once
 * at the top of a test file; the CLI's e2e files get the same through `cliSuite()` (cli-suite.ts), built on this.
 *
 *   const d = daemonSuite().daemon;                                  // busybox in a private images dir
 *   const d = daemonSuite({ defaultImage: true, env: { RUNTA_INGRESS_WAKE_TIMEOUT: "3" } }).daemon;
 *   const d = daemonSuite({ before: startHosts, env: () => ({ RUNTA_NETWORK_HOSTS: hostsFile }), after: closeHosts }).daemon;
 *
 * A file's own beforeAll/afterAll registered after the call run after the daemon started and before it is cleaned up.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect } from "vitest";
import { ensureDefaultImage, leaks, SHARED_IMAGES_DIR, startTestDaemon, type TestDaemon } from "./daemon.js";

export interface DaemonSuiteOptions {
  /** Runtimes on the default (Debian) image: built once into the shared images dir (minutes, the first time). */
  defaultImage?: boolean;
  /**
   * With `defaultImage`: a private images dir holding the shared default image hard-linked (instant, no copy), for
   * files that build or remove images, which must not land in the shared dir.
   */
  privateImages?: boolean;
  /** With `privateImages`: keep the private images in this dir across runs (images that take minutes to build, while debugging). */
  privateImagesDir?: string;
  /** Extra environment of the daemon; a function is read after `before`, so it can name what `before` made. */
  env?: Record<string, string> | (() => Record<string, string>);
  /** Runs before the daemon starts: what it is to read (test hosts, a hosts file, a fake binary on its PATH). */
  before?: () => unknown;
  /** Runs last, after the daemon's cleanup and leak check, whether or not they failed. */
  after?: () => unknown;
}

export interface DaemonSuite {
  /**
   * The file's daemon. The handle may be taken at module scope (`const d = daemonSuite().daemon`); its properties are
   * the daemon's started in beforeAll (current ones: `endpoint` and `env` change on restart), and throw before that.
   */
  readonly daemon: TestDaemon;
  /** A private scratch dir of the file (the CLI suite's HOME), removed after it. */
  readonly scratch: string;
}

export function daemonSuite(opts: DaemonSuiteOptions = {}): DaemonSuite {
  let daemon: TestDaemon | undefined;
  let scratch = "";

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), "runta-test-suite-"));
    await opts.before?.();
    if (opts.defaultImage) await ensureDefaultImage(SHARED_IMAGES_DIR);
    let imagesDir = opts.defaultImage ? SHARED_IMAGES_DIR : undefined;
    if (opts.defaultImage && opts.privateImages) {
      imagesDir = opts.privateImagesDir ?? join(scratch, "images");
      mkdirSync(imagesDir, { recursive: true });
      if (!existsSync(join(imagesDir, "default"))) execFileSync("cp", ["-al", join(SHARED_IMAGES_DIR, "default"), join(imagesDir, "default")]);
    }
    const env = typeof opts.env === "function" ? opts.env() : opts.env;
    daemon = await startTestDaemon({ ...(imagesDir ? { imagesDir } : {}), ...(env ? { env } : {}) });
  }, 900_000);

  afterAll(async () => {
    try {
      await daemon?.cleanup();
      if (daemon) expect(await leaks(daemon)).toEqual([]);
    } finally {
      try {
        if (scratch) rmSync(scratch, { recursive: true, force: true });
      } finally {
        await opts.after?.();
      }
    }
  }, 180_000);

  const started = (): TestDaemon => {
    if (!daemon) throw new Error("daemonSuite: the daemon starts in beforeAll; use it inside tests and hooks");
    return daemon;
  };
  const handle = new Proxy({} as TestDaemon, {
    get: (_, key) => Reflect.get(started(), key),
    set: (_, key, value) => Reflect.set(started(), key, value),
    has: (_, key) => Reflect.has(started(), key),
  });
  return {
    daemon: handle,
    get scratch() {
      return scratch;
    },
  };
}
