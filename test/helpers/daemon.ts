/**
 * Spawns the REAL built daemon (`node dist/server/main.js`, so run `npm run build` first) on 127.0.0.1 port 0 with its
 * own temp data dir, runc root (/run/runta-test-<id>/runc) and cgroup parent (runta-test-<id>), so tests never touch
 * /var/lib/runta, /run/runta or the `runta` cgroup parent. `cleanup()` deletes every runtime through the API, stops the
 * daemon, checks that nothing leaked (runc containers, cgroups, mounts), removes what is left and throws if anything did.
 *
 * API (stable; CLI e2e and TTY tests use it):
 *   const d = await startTestDaemon({ imagesDir?, env? });   // default: a private images dir holding the `busybox` image; env: extra daemon env
 *   d.endpoint, d.token, d.dataDir, d.runcRoot, d.cgroupParent, d.imagesDir, d.env  // {RUNTA_ENDPOINT, RUNTA_TOKEN}
 *   await d.stop("SIGTERM")  → exit code;   await d.kill()  (SIGKILL);   await d.restart()  (new port: re-read d.endpoint / d.env)
 *   d.logs()  → the daemon's stderr so far;   await d.cleanup()
 */
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readdirSync, realpathSync } from "node:fs";
import { mkdtemp, readFile, rm, rmdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { Runta } from "../../src/client/index.js";
import { cgroupDirs, removeCgroupDirs } from "../../src/engine/cgroups.js";
import { ImageStore } from "../../src/engine/images/store.js";
import { debootstrapSource } from "../../src/engine/images/debootstrap.js";
import { createBusyboxImage } from "./busybox-image.js";
import { mountPoints } from "../../src/engine/mounts.js";
import { networkLeaks, removeNetworkLeftovers } from "./network-leaks.js";
import { lxcfsPids } from "./lxcfs.js";

const execFileAsync = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");
const MAIN = join(ROOT, "dist/server/main.js");

/**
 * Where integration tests keep images shared across runs (the default image takes a minute or more to build once per
 * machine). Named after the default image's package list, so a change of it builds a new one next to the old rather
 * than replacing an image other test runs on the host may have mounted as their lower layer.
 */
export const SHARED_IMAGES_DIR = `/var/tmp/runta-test-images-${createHash("sha256").update(debootstrapSource("")).digest("hex").slice(0, 12)}`;

/** A daemon under test. `endpoint` and `env` change on `restart()` (the port is picked afresh). */
export interface TestDaemon {
  endpoint: string;
  token: string;
  dataDir: string;
  runcRoot: string;
  cgroupParent: string;
  imagesDir: string;
  env: { RUNTA_ENDPOINT: string; RUNTA_TOKEN: string };
  /** The pid of the current daemon process (null when stopped). */
  pid: number | null;
  /** An SDK client for the current endpoint. */
  client(): Runta;
  /** Sends `signal` (default SIGTERM) and resolves with the exit code (or 128+n when killed by a signal). */
  stop(signal?: NodeJS.Signals): Promise<number>;
  /** SIGKILL: the daemon dies without any cleanup, like a crash. */
  kill(): Promise<void>;
  /** Starts the daemon again on the same data dir, runc root and cgroup parent. */
  restart(): Promise<void>;
  /** The daemon's stderr (JSON log lines) across all its runs. */
  logs(): string;
  /** Deletes all runtimes, stops the daemon, removes everything; throws listing leaks if any were found. */
  cleanup(): Promise<void>;
}

/** Builds the default image into `imagesDir` (default {@link SHARED_IMAGES_DIR}) if it is not there yet; slow the first time. */
export async function ensureDefaultImage(imagesDir = SHARED_IMAGES_DIR): Promise<void> {
  const store = new ImageStore({ imagesDir });
  if (store.exists("default")) return;
  await store.build("default", () => {});
}

/** Starts a daemon for a test file (see the module comment). */
export async function startTestDaemon(opts: { imagesDir?: string; env?: Record<string, string> } = {}): Promise<TestDaemon> {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run 'npm run build' before the daemon tests`);
  const id = randomBytes(4).toString("hex");
  const dataDir = await mkdtemp(join(tmpdir(), "runta-test-daemon-"));
  const runcRoot = `/run/runta-test-${id}/runc`;
  const cgroupParent = `runta-test-${id}`;
  const imagesDir = opts.imagesDir ?? join(dataDir, "images");
  await createBusyboxImage(imagesDir);

  let child: ChildProcess | null = null;
  let exited: Promise<number> = Promise.resolve(0);
  let stderr = "";

  const d: TestDaemon = {
    endpoint: "",
    token: "",
    dataDir,
    runcRoot,
    cgroupParent,
    imagesDir,
    env: { RUNTA_ENDPOINT: "", RUNTA_TOKEN: "" },
    pid: null,
    client: () => new Runta({ endpoint: d.endpoint, token: d.token }),
    async stop(signal = "SIGTERM") {
      if (!child) return 0;
      child.kill(signal);
      const code = await exited;
      child = null;
      d.pid = null;
      return code;
    },
    async kill() {
      await d.stop("SIGKILL");
    },
    async restart() {
      await d.stop();
      await launch();
    },
    logs: () => stderr,
    async cleanup() {
      const problems: string[] = [];
      try {
        if (!child) await launch();
        const runta = d.client();
        // Warm pools' members are hidden from the list: removing the pools removes them.
        for (const p of await runta.pools.list()) await runta.pools.remove(p.name).catch((err: Error) => problems.push(`pool rm ${p.name}: ${err.message}`));
        for (const rt of await runta.runtimes.list()) {
          await rt.delete().catch((err: Error) => problems.push(`delete ${rt.name}: ${err.message}`));
        }
        // Volumes outlive runtimes and daemons (their disks stay mounted): they go by hand.
        for (const vol of await runta.volumes.list()) {
          await runta.volumes.remove(vol.id).catch((err: Error) => problems.push(`remove volume ${vol.name}: ${err.message}`));
        }
        const code = await d.stop("SIGTERM");
        if (code !== 0) problems.push(`daemon exited with ${code} on SIGTERM`);
      } catch (err) {
        problems.push(`cleanup through the API failed: ${(err as Error).message}`);
        await d.stop("SIGKILL");
      }
      problems.push(...(await leaks(d)));
      await forceClean(d);
      await rm(dataDir, { recursive: true, force: true });
      if (problems.length) throw new Error(`test daemon leaked or failed to clean up:\n  ${problems.join("\n  ")}\n--- daemon log ---\n${stderr.slice(-4000)}`);
    },
  };

  async function launch(): Promise<void> {
    const proc = spawn(
      process.execPath,
      [MAIN, "--data-dir", dataDir, "--listen", "127.0.0.1:0", "--runc-root", runcRoot, "--cgroup-parent", cgroupParent, "--images-dir", imagesDir],
      { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, RUNTA_ENDPOINT: "", RUNTA_TOKEN: "", ...opts.env } },
    );
    child = proc;
    d.pid = proc.pid ?? null;
    proc.stderr!.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    exited = new Promise((res) => proc.once("exit", (code, sig) => res(code ?? 128 + (sig ? signalNumber(sig) : 0))));
    const endpoint = await new Promise<string>((res, rej) => {
      let out = "";
      const timer = setTimeout(() => rej(new Error(`daemon did not start within 60 s:\n${stderr.slice(-2000)}`)), 60_000);
      proc.stdout!.setEncoding("utf8").on("data", (s: string) => {
        out += s;
        const m = /runta daemon listening on (\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          res(m[1]!);
        }
      });
      proc.once("exit", (code) => {
        clearTimeout(timer);
        rej(new Error(`daemon exited with ${code} before listening:\n${stderr.slice(-2000)}`));
      });
    });
    d.endpoint = endpoint;
    d.token = (await readFile(join(dataDir, "token"), "utf8")).trim();
    d.env = { RUNTA_ENDPOINT: d.endpoint, RUNTA_TOKEN: d.token };
  }

  try {
    await launch();
  } catch (err) {
    await forceClean(d);
    await rm(dataDir, { recursive: true, force: true });
    throw err;
  }
  return d;
}

function signalNumber(sig: NodeJS.Signals): number {
  return ({ SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 } as Record<string, number>)[sig] ?? 0;
}

/**
 * Every directory of the cgroup parent in every v1 hierarchy, wherever it is. runc places a relative cgroupsPath under
 * the creating process's own cgroup, which is not always the root: on sandboxed hosts the memory hierarchy nests each
 * process under e.g. /process_api/<id>/, so `/sys/fs/cgroup/memory/<parent>` alone would miss leaks there.
 */
export function parentCgroupDirs(parent: string, maxDepth = 3): string[] {
  const found = new Set<string>(cgroupDirs(parent));
  const walk = (dir: string, depth: number) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const p = join(dir, e.name);
      if (e.name === parent) found.add(realpathSync(p));
      else if (depth < maxDepth && !/^runta/.test(e.name)) walk(p, depth + 1);
    }
  };
  for (const controller of readdirSync("/sys/fs/cgroup", { withFileTypes: true })) {
    if (controller.isDirectory()) walk(join("/sys/fs/cgroup", controller.name), 1);
  }
  return [...found];
}

/**
 * What a daemon left behind: runc containers in its root, cgroups under its parent, mounts under its data dir, and
 * its network (namespaces, links, nft table, forwarding marker).
 */
export async function leaks(d: Pick<TestDaemon, "runcRoot" | "cgroupParent" | "dataDir">): Promise<string[]> {
  const found: string[] = await networkLeaks(d.dataDir);
  if (existsSync(d.runcRoot)) {
    const { stdout } = await execFileAsync("runc", ["--root", d.runcRoot, "list", "-q"]).catch(() => ({ stdout: "" }));
    for (const c of stdout.split("\n").filter(Boolean)) found.push(`runc container ${c}`);
  }
  for (const dir of parentCgroupDirs(d.cgroupParent)) {
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) found.push(`cgroup ${join(dir, e.name)}`);
  }
  for (const m of await mountPoints()) if (m.startsWith(d.dataDir + "/")) found.push(`mount ${m}`);
  for (const pid of lxcfsPids(d.dataDir)) found.push(`lxcfs process ${pid}`);
  return found;
}

/** Removes whatever is left (after a failed test): containers, mounts, cgroups, the runc root, the network. */
async function forceClean(d: Pick<TestDaemon, "runcRoot" | "cgroupParent" | "dataDir">): Promise<void> {
  if (existsSync(d.runcRoot)) {
    const { stdout } = await execFileAsync("runc", ["--root", d.runcRoot, "list", "-q"]).catch(() => ({ stdout: "" }));
    for (const c of stdout.split("\n").filter(Boolean)) {
      await execFileAsync("runc", ["--root", d.runcRoot, "resume", c]).catch(() => {});
      await execFileAsync("runc", ["--root", d.runcRoot, "delete", "-f", c]).catch(() => {});
    }
  }
  for (const m of (await mountPoints()).filter((p) => p.startsWith(d.dataDir + "/")).reverse()) {
    await execFileAsync("umount", ["-l", m]).catch(() => {});
  }
  for (const pid of lxcfsPids(d.dataDir)) process.kill(pid, "SIGKILL");
  await removeCgroupDirs(d.cgroupParent).catch(() => {});
  for (const dir of parentCgroupDirs(d.cgroupParent)) {
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) await rmdir(join(dir, e.name)).catch(() => {});
    await rmdir(dir).catch(() => {});
  }
  await rm(resolve(d.runcRoot, ".."), { recursive: true, force: true });
  await removeNetworkLeftovers(d.dataDir);
}
