/**
 * An isolated world for tests that drive real runc: a temp data dir, a private runc state root and a private cgroup
 * parent, so a test never touches /var/lib/runta, /run/runta or the `runta` cgroup of a daemon on the same host.
 *
 * ```ts
 * const env = await makeEngineEnv();
 * await busyboxImage(env.imagesDir);
 * const engine = await RuncEngine.open(env);
 * ...
 * afterAll(async () => { await engine.close(); await env.cleanup(); expect(await env.leaks()).toEqual([]); });
 * ```
 * Stable API: other test files (daemon, e2e) reuse it. A test file of the engine itself takes the whole set-up,
 * engine and leak check included, from {@link engineSuite}.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { networkLeaks, removeNetworkLeftovers } from "./network-leaks.js";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect } from "vitest";
import type { Logger } from "../../src/log.js";
import { RuncEngine, type RuncEngineOptions } from "../../src/engine/runc-engine.js";
import { childCgroups, removeCgroupDirs } from "../../src/engine/cgroups.js";
import { createBusyboxImage } from "./busybox-image.js";
import { mountPoints } from "../../src/engine/mounts.js";
import { lxcfsPids } from "./lxcfs.js";

const execFileAsync = promisify(execFile);

/** Paths of one isolated engine world, plus its cleanup and leak check. */
export interface EngineEnv {
  dataDir: string;
  runcRoot: string;
  cgroupParent: string;
  imagesDir: string;
  /** Kills and deletes every container of the private runc root, unmounts, removes the temp dirs and cgroups. */
  cleanup(): Promise<void>;
  /** What is left behind: runc containers, mounts and loop devices under the data dir, cgroup directories under the parent. */
  leaks(): Promise<string[]>;
  /**
   * {@link leaks} but the engine's own parts that come and go by themselves while it is open: the disk pool's mounts
   * and loop devices (`runtimes/.pool/`, changed by its refill) and the network's table and ip_forward marker (kept
   * for a while after the last networked runtime). For before/after comparisons around one create, which must leave
   * no part of its own (container, mounts, loop device, cgroup, namespace, link); after close, use leaks.
   */
  runtimeLeaks(): Promise<string[]>;
}

async function runcIds(runcRoot: string): Promise<string[]> {
  // `runc list` creates a missing root: do not call it after cleanup removed it.
  if (!existsSync(runcRoot)) return [];
  try {
    const { stdout } = await execFileAsync("runc", ["--root", runcRoot, "list", "-q"]);
    return stdout.split("\n").filter(Boolean);
  } catch {
    return [];
  }
}

/** Loop devices whose backing file is under `dir`, as `/dev/loopN <file>`. */
async function loopDevices(dir: string): Promise<string[]> {
  const { stdout } = await execFileAsync("losetup", ["--list", "--noheadings", "--raw", "--output", "NAME,BACK-FILE"]);
  return stdout
    .split("\n")
    .filter(Boolean)
    .map((line) => line.replace(/\\x20/g, " "))
    .filter((line) => line.slice(line.indexOf(" ") + 1).startsWith(dir + "/"));
}

/** Creates a fresh isolated world under /tmp and /run. */
export async function makeEngineEnv(): Promise<EngineEnv> {
  const tag = randomBytes(4).toString("hex");
  const dataDir = await mkdtemp(join(tmpdir(), "runta-test-"));
  const runcRoot = `/run/runta-test-${tag}/runc`;
  const cgroupParent = `runta-test-${tag}`;
  const imagesDir = join(dataDir, "images");

  const leaks = async (): Promise<string[]> => {
    const found: string[] = [];
    for (const id of await runcIds(runcRoot)) found.push(`runc container ${id}`);
    for (const m of await mountPoints()) if (m.startsWith(dataDir + "/")) found.push(`mount ${m}`);
    for (const loop of await loopDevices(dataDir)) found.push(`loop device ${loop}`);
    for (const child of childCgroups(cgroupParent)) found.push(`cgroup ${cgroupParent}/${child}`);
    found.push(...(await networkLeaks(dataDir)));
    for (const pid of lxcfsPids(dataDir)) found.push(`lxcfs process ${pid}`);
    return found;
  };

  const cleanup = async (): Promise<void> => {
    // Every step runs even if an earlier one failed, so one stuck mount does not leave the rest behind.
    const failures: unknown[] = [];
    const step = async (fn: () => Promise<unknown>) => {
      try {
        await fn();
      } catch (err) {
        failures.push(err);
      }
    };
    for (const id of await runcIds(runcRoot)) {
      await step(() => execFileAsync("runc", ["--root", runcRoot, "delete", "-f", id]));
    }
    // Deepest first, so nested mounts come off before their parents.
    const mounts = (await mountPoints()).filter((m) => m.startsWith(dataDir + "/")).sort((a, b) => b.length - a.length);
    for (const m of mounts) await step(() => execFileAsync("umount", ["-l", m]));
    // Unmounted, an LXCFS ends by itself; one that does not is ended here.
    for (const pid of lxcfsPids(dataDir)) await step(async () => process.kill(pid, "SIGKILL"));
    for (const loop of await loopDevices(dataDir)) await step(() => execFileAsync("losetup", ["-d", loop.split(" ")[0]]));
    await step(async () => {
      for (const child of childCgroups(cgroupParent)) await removeCgroupDirs(join(cgroupParent, child));
      await removeCgroupDirs(cgroupParent);
    });
    await step(() => removeNetworkLeftovers(dataDir));
    await step(() => rm(dataDir, { recursive: true, force: true }));
    await step(() => rm(`/run/runta-test-${tag}`, { recursive: true, force: true }));
    if (failures.length) throw new AggregateError(failures, `engine test cleanup: ${failures.length} step(s) failed`);
  };

  const runtimeLeaks = async () => (await leaks()).filter((l) => !l.includes("/runtimes/.pool/") && !l.startsWith("nft table ") && !l.startsWith("ip_forward marker "));
  return { dataDir, runcRoot, cgroupParent, imagesDir, cleanup, leaks, runtimeLeaks };
}

/** Creates the tiny `busybox` image (host's busybox-static) in `imagesDir`; idempotent. */
export async function busyboxImage(imagesDir: string, name = "busybox"): Promise<string> {
  await createBusyboxImage(imagesDir, name);
  return name;
}

/** One engine test file's world, engine and log; see {@link engineSuite}. */
export interface EngineSuite {
  /** The file's isolated world (set in beforeAll). */
  env: EngineEnv;
  /** The engine open now (set in beforeAll, replaced by {@link EngineSuite.open}). */
  engine: RuncEngine;
  /** What the engine logged since it was last opened, as `level message {fields}` lines. */
  readonly logs: string[];
  readonly logger: Logger;
  /** Opens a new engine on the same world (a daemon restart, after {@link EngineSuite.close}), with a fresh log. */
  open(): Promise<RuncEngine>;
  /** Closes the engine; its runtimes keep running. */
  close(): Promise<void>;
}

/**
 * The set-up every engine test file shares: in beforeAll an isolated world with the busybox image and an engine
 * opened on it (with `options`, e.g. small limits) that logs into `logs`; in afterAll the engine closed, the world
 * cleaned up and the leak check. Hooks a file registers after this call run before its afterAll (vitest's stack
 * order), so a file can still remove its runtimes through the engine.
 */
export function engineSuite(options: Partial<Omit<RuncEngineOptions, "dataDir" | "runcRoot" | "cgroupParent" | "imagesDir">> = {}): EngineSuite {
  const logs: string[] = [];
  const line = (level: string) => (msg: string, fields?: Record<string, unknown>) => void logs.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`);
  const logger: Logger = { debug: line("debug"), info: line("info"), warn: line("warn"), error: line("error") };
  const suite: EngineSuite = {
    env: undefined as unknown as EngineEnv,
    engine: undefined as unknown as RuncEngine,
    logs,
    logger,
    async open() {
      logs.length = 0;
      suite.engine = await RuncEngine.open({ ...suite.env, logger, ...options });
      return suite.engine;
    },
    async close() {
      await suite.engine?.close();
    },
  };
  beforeAll(async () => {
    suite.env = await makeEngineEnv();
    await busyboxImage(suite.env.imagesDir);
    await suite.open();
  });
  afterAll(async () => {
    await suite.close();
    await suite.env?.cleanup();
    expect(await suite.env.leaks()).toEqual([]);
  });
  return suite;
}
