/**
 * The container of one runtime, below its record: mount the root and start it detached (`runc run -d` with /dev/null
 * stdio, so the daemon holds nothing of it and it keeps running when the daemon stops), end its init, remove it from
 * runc, and tear down everything it has on the host. The engine calls these under the runtime's lock.
 */
import { readFile, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { errors } from "../api/index.js";
import type { RuntimeRecord } from "../store/record.js";
import { AGENT_PATH_IN_RUNTIME, type RuntimeAgents } from "./agent/agents.js";
import { browserCommand, isBrowser } from "./browser/browser.js";
import type { Logger } from "../log.js";
import { RuntimeCgroup, cgroupProblem, removeCgroupDirs } from "./cgroups.js";
import type { RuntimeFreezer } from "./freezer.js";
import { bootId } from "./host.js";
import type { ImageStore } from "./images/store.js";
import type { RuntimeNetworks } from "./network/network.js";
import { placeCpus } from "./views/cpuset.js";
import type { Lxcfs, ViewMount } from "./views/lxcfs.js";
import { procStart, sameProcessAlive, signalNumber, sleep, waitProcessExit } from "./proc.js";
import { diskFull } from "./refusals.js";
import { isFrozen } from "./status.js";
import { recordAnnotations } from "./recover.js";
import { installInit, mountRootfs, removeRuntimeDir, runtimePaths, writeIntoRoot } from "./rootfs.js";
import { RuncError } from "./runc-failures.js";
import type { Runc } from "./runc.js";
import { parseStatusFile } from "./execs/reaper.js";
import { INIT_PATH_IN_RUNTIME, buildRuntimeSpec } from "./spec.js";
import type { HostVolumeMount } from "./volumes/manager.js";

/** How long the init gets to end on SIGTERM, after the grace period, before SIGKILL. */
const INIT_TERM_WAIT_MS = 2000;
/**
 * How long to wait for the init's reaper to write its status once the init is seen gone. It does so at once, but "at
 * once" is a scheduling slot of a Perl process: at load average 20 on 2 cores, 1 s was not always enough (the crash was
 * recorded with no exit code). The wait ends as soon as the file is written.
 */
const INIT_STATUS_WAIT_MS = 5000;

/** How {@link Containers.killInit} ended an init: its SIGKILL reached it ("killed"), or it ended before (on SIGTERM, or by itself). */
export type InitEnd = "killed" | "ended";

/** What {@link Containers.prepare} found for the boot. */
export interface PreparedBoot {
  agent: { binary: string; socket: string } | null;
  procViews: ViewMount[];
  cpus: string;
  volumes: HostVolumeMount[];
}

/** What a started container adds to its record. */
export type StartedContainer = Pick<RuntimeRecord, "initPid" | "initStartTime" | "bootId" | "startedAt">;

export class Containers {
  constructor(
    private readonly runc: Runc,
    private readonly images: ImageStore,
    private readonly networks: RuntimeNetworks,
    private readonly lxcfs: Lxcfs,
    private readonly opts: {
      dataDir: string;
      cgroupParent: string;
      initPath: string;
      /** Whether runtimes boot with the exec agent as init, and where its socket goes. */
      agents: RuntimeAgents;
      /** Thaws a frozen runtime before its processes are signalled (freezer.ts). */
      freezer: RuntimeFreezer;
      logger: Logger;
      /** The frozen layers (top first) of the checkpoint a restored runtime stands on. */
      checkpointLayers: (checkpointId: string) => string[];
      /** The runtime's volumes on the host, their disks mounted (volumes/). */
      volumeMounts: (rec: RuntimeRecord) => Promise<HostVolumeMount[]>;
      /** Puts the egress CA into the runtime's trust store (secrets/trust.ts). */
      installTrust: (rootfs: string) => Promise<void>;
    },
  ) {}

  /** Mounts the runtime's disk and overlay root (no-ops when mounted): its checkpoint's layers, then its image's (a derived image's layer over its parent's), under its own. */
  async mountRoot(rec: RuntimeRecord): Promise<void> {
    const layers = rec.checkpointId ? this.opts.checkpointLayers(rec.checkpointId) : [];
    await mountRootfs(runtimePaths(this.opts.dataDir, rec.id), [...layers, ...this.images.layers(rec.image)]);
  }

  /**
   * Boots a runtime whose network exists or may need making again (a host reboot takes namespaces with it): its
   * root prepared meanwhile ({@link prepare}), then {@link start}.
   */
  async boot(rec: RuntimeRecord): Promise<StartedContainer> {
    const [prepared] = await Promise.all([this.prepare(rec), this.networks.ensure(rec.id)]);
    return this.start(rec, prepared);
  }

  /**
   * What a boot needs that does not depend on the runtime's network: its root mounted with the init and the egress CA
   * in it, the LXCFS views, its CPUs and its volumes. A create runs this while the network is made (provision.ts).
   */
  async prepare(rec: RuntimeRecord): Promise<PreparedBoot> {
    const paths = runtimePaths(this.opts.dataDir, rec.id);
    await this.mountRoot(rec);
    const booting = await this.opts.agents.forBoot(rec.id);
    const agent = isBrowser(rec) ? null : booting;
    const [, , procViews, cpus, volumes] = await Promise.all([
      agent ? installInit(paths.rootfs, agent.binary, AGENT_PATH_IN_RUNTIME) : installInit(paths.rootfs, this.opts.initPath),
      this.opts.installTrust(paths.rootfs),
      this.lxcfs.mounts(),
      placeCpus(this.opts.cgroupParent, rec.id, rec.vcpus),
      this.opts.volumeMounts(rec),
    ]);
    return { agent, procViews, cpus, volumes };
  }

  /**
   * Writes /etc/hosts, hostname and resolv.conf into the root and the bundle (the LXCFS views of /proc, the runtime's
   * CPUs, its volumes' mounts, its network namespace), and starts the container detached. After {@link prepare},
   * the network made.
   */
  async start(rec: RuntimeRecord, { agent, procViews, cpus, volumes }: PreparedBoot): Promise<StartedContainer> {
    const paths = runtimePaths(this.opts.dataDir, rec.id);
    const net = this.networks.describe(rec.id);
    const hostname = rec.hostname ?? rec.name;
    for (const [path, text] of Object.entries(this.networks.etcFiles(rec.id, hostname))) await writeIntoRoot(paths.rootfs, path, text, 0o644);
    const spec = buildRuntimeSpec({
      id: rec.id,
      hostname,
      rootfsPath: paths.rootfs,
      vcpus: rec.vcpus,
      memoryMib: rec.memoryMib,
      env: rec.env,
      cgroupParent: this.opts.cgroupParent,
      netnsPath: net.netnsPath,
      cpus,
      procViews,
      volumes,
      annotations: recordAnnotations(rec, this.networks.store.get(rec.id)),
      // A browser runtime's main process is Chromium under catatonit (browser/); its execs go through runc exec.
      initArgv: isBrowser(rec) ? [INIT_PATH_IN_RUNTIME, "--", ...browserCommand()] : agent ? [AGENT_PATH_IN_RUNTIME] : undefined,
    });
    // An empty status file: the reaper is to fill it (a missing one means no reaper saw this init: an older daemon's).
    await Promise.all([writeFile(paths.config, JSON.stringify(spec)), rm(paths.pidFile, { force: true }), writeFile(paths.initStatus, "")]);
    try {
      await this.runc.run(rec.id, paths.dir, paths.pidFile, paths.initStatus, { agent: agent ?? undefined });
    } catch (err) {
      // A stopped container of the same id (e.g. left by a crash) blocks a new one: remove it and try once more.
      if (!(err instanceof RuncError) || !/already exists/.test(err.runcMessage)) throw err;
      await this.remove(rec.id);
      await this.runc.run(rec.id, paths.dir, paths.pidFile, paths.initStatus, { agent: agent ?? undefined });
    }
    const initPid = Number((await readFile(paths.pidFile, "utf8")).trim());
    return { initPid, initStartTime: procStart(initPid), bootId: bootId(), startedAt: new Date().toISOString() };
  }

  /** {@link boot} of a shut-down or crashed runtime: a failed boot leaves no container behind, and a full disk is named as such. */
  async bootAgain(rec: RuntimeRecord): Promise<StartedContainer> {
    try {
      return await this.boot(rec);
    } catch (raw) {
      const err = diskFull(raw, this.opts.dataDir);
      await this.remove(rec.id).catch(() => undefined);
      throw err;
    }
  }

  /** What is wrong with a running runtime's cgroup (removed or left behind its back), or null (cgroups.ts). */
  cgroupProblem(rec: RuntimeRecord): string | null {
    return rec.initPid ? cgroupProblem(this.opts.cgroupParent, rec.id, rec.initPid) : null;
  }

  /**
   * Removes the container from runc (if any) after making sure its init is dead. With `initDead` (the caller just
   * saw the init exit) it goes straight to `runc delete`, saving the `runc state` call on the hot path.
   */
  async remove(id: string, opts: { initDead?: boolean } = {}): Promise<void> {
    if (opts.initDead) {
      try {
        await this.runc.delete(id);
        return;
      } catch (err) {
        if (err instanceof RuncError && /does not exist/.test(err.runcMessage)) return;
        // Anything else (e.g. runc still sees it running): take the careful path below.
      }
    }
    const state = await this.runc.state(id);
    if (!state) return;
    if (state.status !== "stopped") {
      await this.runc.kill(id, "KILL").catch(() => undefined);
      if (state.status === "paused") await this.opts.freezer.thaw(id).catch(() => undefined);
      await waitProcessExit(state.pid, null, 10_000);
    }
    await this.runc.delete(id);
  }

  /**
   * Shuts a runtime's container down ({@link killInit} with `graceSecs`, then {@link remove}) and answers the init's exit
   * code for its record; a crashed runtime's stopped container is only removed, and it keeps the code its crash left.
   */
  async shutdown(rec: RuntimeRecord, graceSecs: number): Promise<number | null> {
    const crashed = rec.status === "crashed";
    const end = crashed ? undefined : await this.killInit(rec, graceSecs);
    await this.remove(rec.id, { initDead: !crashed });
    return crashed ? rec.exitCode : this.initExitCode(rec.id, end);
  }

  /**
   * The exit code of the runtime's init (128+n for death by signal n) once it ended, as its reaper wrote it (Runc.run).
   * Without one (an init booted by a daemon from before the reaper, or its reaper was killed) nobody saw the code,
   * unless {@link killInit} ended it (`end` "killed"): its SIGKILL reached the live init, a death by signal 9 (137)
   * that no process can catch or turn into another code. Otherwise null: unknown.
   */
  async initExitCode(id: string, end?: InitEnd): Promise<number | null> {
    const known = end === "killed" ? 128 + signalNumber("SIGKILL") : null;
    const file = runtimePaths(this.opts.dataDir, id).initStatus;
    for (let waited = 0; ; waited += 20) {
      const text = await readFile(file, "utf8").catch(() => null);
      if (text === null) return known;
      const code = parseStatusFile(text);
      if (code !== null || waited >= INIT_STATUS_WAIT_MS) return code ?? known;
      await sleep(20);
    }
  }

  /** Whether any container of this data dir runs (or runc cannot say): they use LXCFS's files. */
  async anyRunning(): Promise<boolean> {
    const bundles = resolve(this.opts.dataDir, "runtimes") + "/";
    return this.runc.list().then(
      (l) => l.some((c) => c.status !== "stopped" && c.bundle.startsWith(bundles)),
      () => true,
    );
  }

  /** Everything of one runtime except its record: container, mount, directory, cgroups, network. */
  async teardown(id: string, opts: { initDead?: boolean } = {}): Promise<void> {
    await this.remove(id, opts);
    await removeRuntimeDir(runtimePaths(this.opts.dataDir, id));
    const left = await removeCgroupDirs(join(this.opts.cgroupParent, id));
    if (left.length) this.opts.logger.warn("cgroup directories could not be removed", { id, dirs: left });
    await this.networks.remove(id);
  }

  /**
   * Ends a runtime. With a grace period, every process but the init gets SIGTERM first and the init waits until they
   * are gone or the grace ran out: the init (the exec agent, or catatonit in pause mode) exits at once on SIGTERM, and the kernel then SIGKILLs the
   * rest of the pid namespace, so signalling the init first would never let a program shut down cleanly. Then the
   * init gets SIGTERM (a clean end, exit 0), and SIGKILL if it is still there (without a grace: at once, exit 137),
   * which takes everything left with it. Signals go straight to host pids (the init's checked
   * against its start time) rather than through `runc kill`, saving process spawns.
   * cgroup v1 freezer: a frozen task cannot act on a signal, so a paused or suspended runtime is thawed before the graceful
   * stage, and right after the SIGKILL is queued when there is no grace.
   */
  async killInit(rec: RuntimeRecord, graceSecs: number): Promise<InitEnd> {
    const cg = new RuntimeCgroup(this.opts.cgroupParent, rec.id);
    if (graceSecs > 0) {
      if (isFrozen(rec.status)) await this.opts.freezer.thaw(rec.id).catch(() => undefined);
      const deadline = Date.now() + graceSecs * 1000;
      let others = (await cg.procs()).filter((p) => p !== rec.initPid);
      for (const pid of others) {
        try {
          process.kill(pid, "SIGTERM");
        } catch {
          // Already gone.
        }
      }
      for (let delay = 2; others.length && Date.now() < deadline; delay = Math.min(delay * 2, 50)) {
        await sleep(delay);
        others = (await cg.procs()).filter((p) => p !== rec.initPid);
      }
      // Then the init itself: catatonit ends cleanly on SIGTERM (exit 0, what `runta wait` reports after a shutdown),
      // and the kernel ends whatever the grace left. SIGKILL below if it does not.
      if (sameProcessAlive(rec.initPid, rec.initStartTime)) {
        try {
          process.kill(rec.initPid!, "SIGTERM");
        } catch {
          // Exited in between.
        }
        await waitProcessExit(rec.initPid, rec.initStartTime, INIT_TERM_WAIT_MS);
      }
    }
    let end: InitEnd = "ended";
    // sameProcessAlive is false for a zombie: a SIGKILL that is delivered here reaches an init that had not ended.
    if (sameProcessAlive(rec.initPid, rec.initStartTime)) {
      try {
        process.kill(rec.initPid!, "SIGKILL");
        end = "killed";
      } catch {
        // Exited in between.
      }
    }
    if (graceSecs <= 0 && isFrozen(rec.status)) await this.opts.freezer.thaw(rec.id).catch(() => undefined);
    if (!(await waitProcessExit(rec.initPid, rec.initStartTime, 10_000))) {
      throw errors.internal(`runtime "${rec.name}" did not exit 10 s after SIGKILL; its processes may be stuck in the kernel (D state)`);
    }
    return end;
  }
}
