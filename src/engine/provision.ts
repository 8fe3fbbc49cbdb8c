/**
 * The create path behind `Engine.create`: an Idempotency-Key's replay, a workspace volume (volumes/), the admission
 * (create.ts), then either a warm pool's member taken over (pools/) or a record inserted and provisioned — its image
 * built if needed, a disk, the network, host ports, the container — everything undone when a step fails. The creates
 * in flight are kept so a replay can wait for one and the pools refill only while none runs.
 */
import { mkdir } from "node:fs/promises";
import { RuntaError, errors, type Runtime } from "../api/index.js";
import type { EgressPolicy, NetworkMode } from "../api/egress.js";
import type { Logger } from "../log.js";
import type { RuntimeRecord } from "../store/record.js";
import type { RuntimeStore } from "../store/store.js";
import type { CheckpointManager } from "./checkpoints/manager.js";
import type { Containers } from "./containers.js";
import { admitCreate, asBrowser, withRuntimeVersion } from "./create.js";
import type { DiskPool } from "./disk-pool.js";
import type { ImageBuilder, ImageRequest } from "./images/packages.js";
import type { ImageStore } from "./images/store.js";
import type { Ingress } from "./ingress/ingress.js";
import type { RuntimeNetworks } from "./network/network.js";
import type { PoolManager } from "./pools/manager.js";
import type { VolumeManager } from "./volumes/manager.js";
import { nameInside, poolShapeOf } from "./pools/take.js";
import type { RuntimeRecords } from "./records.js";
import { diskFull } from "./refusals.js";
import { runtimePaths } from "./rootfs.js";
import type { CreateSpec } from "./types.js";

/** Like Promise.all, but a rejection is thrown only once every promise has settled (the first one's reason). */
async function settledAll<T extends readonly unknown[]>(promises: { [K in keyof T]: Promise<T[K]> }): Promise<T> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r) => r.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/** The rooms a create goes through. */
export interface CreationsDeps {
  store: RuntimeStore;
  records: RuntimeRecords;
  images: ImageStore;
  builder: ImageBuilder;
  checkpoints: CheckpointManager;
  volumes: VolumeManager;
  containers: Containers;
  networks: RuntimeNetworks;
  disks: DiskPool;
  ingress: Ingress;
  pools: PoolManager;
  logger: Logger;
  dataDir: string;
  /** The daemon's runtimes limit. */
  runtimesMax: number;
  /** A new runtime's disk size (MiB) when the spec names none. */
  diskMib: number;
}

/** Creates runtimes: admission, a pool's member or a fresh provision, and the creates in flight. */
export class Creations {
  private readonly inFlight = new Map<string, Promise<RuntimeRecord>>();

  constructor(private readonly deps: CreationsDeps) {}

  /** Some create is in flight (warm pools refill only when none is). */
  busy(): boolean {
    return this.inFlight.size > 0;
  }

  async create(spec: CreateSpec, opts: { wait?: boolean; existed?: () => void } = {}): Promise<Runtime> {
    const { store, records } = this.deps;
    const wait = opts.wait ?? true;
    if (spec.idempotencyKey) {
      const existing = store.getByIdempotencyKey(spec.idempotencyKey);
      if (existing) {
        if ((existing.requestHash ?? null) !== (spec.requestHash ?? null)) {
          throw new RuntaError("already_exists", "this Idempotency-Key was already used with a different request; use a new key for a new runtime", {
            details: { field: "Idempotency-Key", runtime: existing.name },
          });
        }
        opts.existed?.();
        const pending = this.inFlight.get(existing.id);
        if (wait && pending) return records.toRuntime(await pending);
        return records.toRuntime(existing);
      }
    }
    // Seed 002's workspace: a volume named after the runtime at /workspace, made now unless it exists (volumes/).
    if (spec.workspaceMount) return this.deps.volumes.withWorkspace(spec.name, (mount) => this.admitAndStart({ ...spec, volumes: [...(spec.volumes ?? []), mount] }, wait));
    return this.admitAndStart(spec, wait);
  }

  /** Admits a create (create.ts), records it, and provisions it (awaited unless `wait` is false). */
  private async admitAndStart(spec: CreateSpec, wait: boolean): Promise<Runtime> {
    const { store, records } = this.deps;
    spec = asBrowser(await withRuntimeVersion(spec, this.deps.images));
    const ports = this.deps.ingress.admit(spec.ports, spec.network ?? "nat");
    const shape = poolShapeOf(spec, this.deps.diskMib);
    // Host ports are bound by provision, whose failure undoes the create: a create with one takes no pool member.
    const pooled = shape && !ports.some((p) => p.protocol === "tcp") ? this.deps.pools.candidate(shape) : null;
    const { rec, policy, image } = admitCreate(spec, {
      store,
      images: this.deps.images,
      checkpoints: this.deps.checkpoints,
      volumes: this.deps.volumes,
      runtimesMax: this.deps.runtimesMax,
      diskMib: this.deps.diskMib,
      // A member already counts: taking it adds no runtime.
      fromPool: pooled !== null,
    });
    rec.ports = ports;
    if (pooled) return this.takeFromPool(pooled.pool, pooled.member, rec);
    // No await between the admission's count and this insert, so concurrent creates cannot overshoot the limit.
    try {
      store.insert(rec);
    } catch (err) {
      throw diskFull(err, this.deps.dataDir);
    }
    const task = records.withLock(rec.id, () => this.provision(rec, wait, image, { mode: spec.network ?? "nat", policy })).finally(() => {
      this.inFlight.delete(rec.id);
      // After the create, not during it: a format would compete with its mounts and runc for the CPU.
      this.deps.disks.refill();
    });
    this.inFlight.set(rec.id, task);
    if (!wait) {
      task.catch((err) => this.deps.logger.error("background create failed", { id: rec.id, name: rec.name, error: String((err as Error).message) }));
      return records.toRuntime(rec);
    }
    return records.toRuntime(await task);
  }

  /**
   * A create served by a warm-pool member (no await since the admission, so no other create takes the same one): the
   * member takes the new record's identity and creation time, then its name inside. Should naming it fail, the
   * member is torn down and the runtime provisioned afresh under the same record.
   */
  private async takeFromPool(pool: string, member: RuntimeRecord, rec: RuntimeRecord): Promise<Runtime> {
    const { store, records, logger } = this.deps;
    const { name, env, labels, hostname, description, execTimeoutSecs, lifetimeSecs, idleTimeoutSecs, idempotencyKey, requestHash, createdAt, ports } = rec;
    const taken = store.claimPooled(member.id, pool, {
      name, env, labels, hostname, description, execTimeoutSecs, lifetimeSecs, idleTimeoutSecs, idempotencyKey, requestHash, createdAt, ports,
      startedAt: createdAt, lastActivityAt: null, lastActivityKind: null,
    });
    if (!taken) throw errors.unavailable(`the warm pool ${pool} lost its member while this create took it; try again`);
    this.deps.pools.schedule();
    const task = records.withLock(taken.id, async () => {
      try {
        const paths = runtimePaths(this.deps.dataDir, taken.id);
        await nameInside(taken.initPid!, paths.rootfs, taken.hostname ?? taken.name, this.deps.networks.etcFiles(taken.id, taken.hostname ?? taken.name));
        return taken;
      } catch (err) {
        logger.warn("naming a warm pool member failed: provisioning the runtime afresh", { id: taken.id, error: String((err as Error).message) });
        await this.deps.containers.teardown(taken.id);
        return this.provision(records.mustUpdate(taken.id, { status: "creating", initPid: null, initStartTime: null }), true, { name: taken.image }, { mode: "nat" });
      }
    }).finally(() => this.inFlight.delete(taken.id));
    this.inFlight.set(taken.id, task);
    return records.toRuntime(await task);
  }

  /**
   * Builds its image if needed (the default image, or the derived image of its packages), then wires the network while
   * it mounts the disk and root, and starts the container; undoes everything on failure. Called under the runtime's lock.
   */
  async provision(rec: RuntimeRecord, wait: boolean, image: ImageRequest, net: { mode: NetworkMode; policy?: EgressPolicy }): Promise<RuntimeRecord> {
    const { store, records, containers, ingress, logger, dataDir } = this.deps;
    try {
      await this.deps.builder.ensure(image, rec.name);
      const paths = runtimePaths(dataDir, rec.id);
      await mkdir(paths.dir, { recursive: true });
      // The disk and root, the network and the host ports do not wait for each other, only runc waits for all.
      // Each is awaited to its end before a failure is thrown, so the teardown below never races a step still running.
      const [prepared, , bound] = await settledAll([
        this.deps.disks.take(paths.diskImage, rec.diskMib ?? this.deps.diskMib, paths.disk).then(() => containers.prepare(rec)),
        this.deps.networks.create(rec.id, net.mode, net.policy),
        ingress.bindHostPorts(rec),
      ]);
      rec = bound;
      const started = await containers.start(rec, prepared);
      return records.mustUpdate(rec.id, { status: "running", ...started, lastError: null });
    } catch (raw) {
      const err = diskFull(raw, dataDir);
      await ingress.forget(rec.id);
      await containers.teardown(rec.id).catch((cleanupErr) => logger.error("cleanup after a failed create failed", { id: rec.id, error: String(cleanupErr) }));
      if (wait) {
        store.delete(rec.id);
      } else {
        // Nobody waits for this answer: keep the record so the failure can be seen (runta inspect) and removed (runta rm).
        store.update(rec.id, { status: "error", lastError: (err as Error).message });
      }
      throw err;
    }
  }
}
