/**
 * Reconciliation at open: brings the store in line with what runs. Runtime directories without a record (a damaged
 * database lost it) get one back first (recover.ts). Still-running containers are adopted, records
 * whose container vanished become `crashed` (or `shutdown` when the host rebooted since they started), unfinished
 * creates become `error`, unfinished deletes are finished, and containers with no record are reported, never adopted
 * twice or touched. One bad record is logged and skipped.
 */
import { join } from "node:path";
import { errors, type RuntimeStatus } from "../api/index.js";
import type { Logger } from "../log.js";
import type { RuntimeRecord } from "../store/record.js";
import type { RuntimeStore } from "../store/store.js";
import { childCgroups, removeCgroupDirs } from "./cgroups.js";
import type { Containers } from "./containers.js";
import { bootId } from "./host.js";
import { procStart } from "./proc.js";
import type { Runc } from "./runc.js";
import { isLive } from "./status.js";
import { recoverRecords } from "./recover.js";
import type { NetworkRecord } from "../store/network-store.js";
import type { CheckpointManager } from "./checkpoints/manager.js";
import type { Execs } from "./exec.js";
import type { RuntimeNetworks } from "./network/network.js";
import type { RuntimeSecrets } from "./secrets/secrets.js";
import type { VolumeManager } from "./volumes/manager.js";
import type { EngineParts, Rooms } from "./wiring.js";

/** What reconciliation needs of the engine. */
export interface ReconcileDeps {
  runc: Runc;
  store: RuntimeStore;
  containers: Containers;
  cgroupParent: string;
  logger: Logger;
  dataDir: string;
  /** Takes back the network of a runtime whose record was recovered from its directory (recover.ts). */
  restoreNetwork: (net: NetworkRecord) => Promise<void>;
}

/** Reconciles every record with runc's state root and sweeps empty cgroups nobody owns. */
export async function reconcile(deps: ReconcileDeps): Promise<void> {
  const { runc, store, cgroupParent, logger } = deps;
  const containers = new Map((await runc.list()).map((c) => [c.id, c]));
  // Records a damaged database lost come back from their runtime directories first, in the state runc reports.
  await recoverRecords(deps.dataDir, store, logger, containers, deps.restoreNetwork);
  const nowBoot = bootId();
  for (const rec of store.all()) {
    try {
      const c = containers.get(rec.id);
      containers.delete(rec.id);
      await reconcileOne(deps, rec, c ?? null, nowBoot);
    } catch (err) {
      logger.error("could not reconcile a runtime; leaving it as it is", { id: rec.id, name: rec.name, error: String((err as Error).message) });
    }
  }
  const known = new Set([...store.all().map((r) => r.id), ...containers.keys()]);
  for (const child of childCgroups(cgroupParent)) {
    // Empty cgroups left by a crash between runc's cgroup setup and our cleanup; rmdir refuses non-empty ones.
    if (!known.has(child)) await removeCgroupDirs(join(cgroupParent, child));
  }
  for (const c of containers.values()) {
    logger.warn("container in runc's state root has no runtime record; leaving it alone", {
      id: c.id,
      status: c.status,
      fix: `runc --root ${runc.root} delete -f ${c.id}`,
    });
  }
}

/** The rooms that reconcile their own state once the records are in line ({@link reconcileRooms}). */
export interface RoomsReconcileDeps {
  store: RuntimeStore;
  logger: Logger;
  execs: Pick<Execs, "recover">;
  networks: Pick<RuntimeNetworks, "store" | "remove">;
  secrets: Pick<RuntimeSecrets, "reconcile">;
  checkpoints: Pick<CheckpointManager, "reconcile">;
  volumes: Pick<VolumeManager, "reconcile">;
}

/**
 * After {@link reconcile}: recovers the execs of runtimes that still run (exec.ts `recover`), drops networks and
 * secret rules whose runtime is gone, then lets the checkpoints and volumes rooms finish what a crash interrupted.
 */
export async function reconcileRooms(deps: RoomsReconcileDeps): Promise<void> {
  const { store, logger, execs, networks } = deps;
  for (const rec of store.all()) {
    if (!isLive(rec.status)) continue;
    const killed = await execs.recover(rec).catch((err: Error) => (logger.error("could not recover a runtime's execs", { id: rec.id, error: err.message }), 0));
    if (killed) logger.warn("killed execs the previous daemon was serving (their clients are gone)", { id: rec.id, name: rec.name, killed });
  }
  for (const net of networks.store.all()) {
    if (!store.get(net.runtimeId)) await networks.remove(net.runtimeId);
  }
  deps.secrets.reconcile((id) => store.get(id) !== null);
  // After the runtimes: a source an interrupted checkpoint paused is adopted as paused first, then thawed.
  await deps.checkpoints.reconcile();
  await deps.volumes.reconcile();
}

async function reconcileOne(deps: ReconcileDeps, rec: RuntimeRecord, c: { pid: number; status: string } | null, nowBoot: string): Promise<void> {
  const { store, containers, logger: log } = deps;
  const update = (patch: Parameters<RuntimeStore["update"]>[1]) => {
    if (!store.update(rec.id, patch)) throw errors.notFound(`runtime ${rec.id} vanished from the store while being reconciled`);
  };
  if (rec.status === "deleting") {
    await containers.teardown(rec.id);
    store.delete(rec.id);
    log.info("finished deleting a runtime", { id: rec.id, name: rec.name });
    return;
  }
  if (c && (c.status === "running" || c.status === "paused")) {
    // runc knows only "paused": whether the user paused it or it was suspended while idle is the record's to say.
    const status: RuntimeStatus = c.status === "paused" ? (rec.status === "suspended" ? "suspended" : "paused") : "running";
    const initStartTime = procStart(c.pid);
    if (status !== rec.status || c.pid !== rec.initPid || initStartTime !== rec.initStartTime) {
      update({ status, initPid: c.pid, initStartTime, lastError: null });
    }
    log.info("adopted a running runtime", { id: rec.id, name: rec.name, status });
    return;
  }
  if (c) await containers.remove(rec.id);
  if (rec.status === "creating") {
    await containers.teardown(rec.id);
    update({ status: "error", initPid: null, initStartTime: null, lastError: "the daemon stopped while creating this runtime; remove it: runta rm " + rec.name });
    return;
  }
  if (isLive(rec.status)) {
    const rebooted = rec.bootId !== null && rec.bootId !== nowBoot;
    update({
      status: rebooted ? "shutdown" : "crashed",
      initPid: null,
      initStartTime: null,
      // A reboot took the reaper with the init: nothing to read then.
      exitCode: rebooted ? null : await containers.initExitCode(rec.id),
      lastError: rebooted ? null : "the runtime's init exited while the daemon was not running",
    });
    log.warn(rebooted ? "runtime stopped by a host reboot: now shutdown" : "runtime's container vanished: now crashed", { id: rec.id, name: rec.name });
    return;
  }
  // shutdown / crashed / error: no processes may remain; clear stale cgroup directories.
  await removeCgroupDirs(join(deps.cgroupParent, rec.id));
}

/** The whole reconcile at open: the records against what runs ({@link reconcile}), then the rooms ({@link reconcileRooms}). */
export async function reconcileEngine(parts: EngineParts, rooms: Pick<Rooms, "containers" | "execs" | "checkpoints" | "volumes">): Promise<void> {
  const { opts, runc, store, networks, secrets } = parts;
  const { cgroupParent, logger, dataDir } = opts;
  await reconcile({ runc, store, containers: rooms.containers, cgroupParent, logger, dataDir, restoreNetwork: (net) => networks.recover(net) });
  await reconcileRooms({ store, logger, execs: rooms.execs, networks, secrets, checkpoints: rooms.checkpoints, volumes: rooms.volumes });
}
