/**
 * The records of runtimes as the engine sees them: found by name or id, changed under a per-runtime lock (one
 * lifecycle operation at a time), a crash behind the daemon's back noticed when read, and shaped into the API's
 * `Runtime`.
 */
import { throwIfCallerGone } from "./caller.js";
import { envDigest, errors, type Runtime, type RuntimeIdle, type VolumeMount } from "../api/index.js";
import type { PublishedPort } from "../api/ports-spec.js";
import type { Logger } from "../log.js";
import type { RuntimeRecord, RuntimeVolume } from "../store/record.js";
import type { RuntimeStore } from "../store/store.js";
import type { Containers } from "./containers.js";
import { shutdownAt } from "./lifetime.js";
import { shown } from "./names.js";
import { AliveCache, sameProcessAlive } from "./proc.js";
import { isLive } from "./status.js";

export class RuntimeRecords {
  private readonly locks = new Map<string, Promise<unknown>>();
  /** Liveness for lists (checkAlive's `bulk`): a full /proc check per runtime at most once a second. */
  private readonly aliveInBulk = new AliveCache();
  /** env_digest per runtime id, computed once per revision (a sha256 per runtime was a tenth of a list of 200). */
  private readonly digests = new Map<string, { revision: number; digest: string }>();

  constructor(
    private readonly store: RuntimeStore,
    private readonly containers: Containers,
    private readonly logger: Logger,
    /** The names of what a record refers to by id: a restored runtime's checkpoint, its volumes. */
    private readonly refs: { checkpointName(id: string): string | null; volumes(v: RuntimeVolume[]): VolumeMount[] },
    /** Its latest activity and idle state (idle/keeper.ts). */
    private readonly idleOf: (rec: RuntimeRecord) => { lastActivityAt: string | null; idle: RuntimeIdle | null } = (rec) => ({
      lastActivityAt: rec.lastActivityAt,
      idle: null,
    }),
    /** Its published ports with their URLs (ingress/). */
    private readonly ports: (rec: RuntimeRecord) => PublishedPort[] = () => [],
  ) {}

  /** Waits for every lifecycle operation in flight (before the store closes). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.locks.values()]);
  }

  toRuntime(rec: RuntimeRecord, usage?: Runtime["usage"]): Runtime {
    const { lastActivityAt, idle } = this.idleOf(rec);
    const rt: Runtime = {
      id: rec.id,
      name: rec.name,
      status: rec.status,
      image: rec.image,
      resources: { requests: { vcpus: rec.vcpus, memory_mib: rec.memoryMib, disk_size_gib: rec.diskMib === null ? null : rec.diskMib / 1024 } },
      checkpoint: rec.checkpointId ? (this.refs.checkpointName(rec.checkpointId) ?? rec.checkpointId) : null,
      volumes: this.refs.volumes(rec.volumes),
      env_names: Object.keys(rec.env),
      env_digest: this.envDigestOf(rec),
      labels: rec.labels,
      hostname: rec.hostname ?? rec.name,
      description: rec.description,
      exec_timeout_secs: rec.execTimeoutSecs,
      lifetime_secs: rec.lifetimeSecs,
      shutdown_at: shutdownAt(rec),
      created_at: rec.createdAt,
      updated_at: rec.updatedAt,
      started_at: rec.startedAt,
      revision: rec.revision,
      last_error: rec.lastError,
      idle_timeout_secs: rec.idleTimeoutSecs,
      last_activity_at: lastActivityAt,
      pause_reason: rec.status === "paused" ? "user" : rec.status === "suspended" ? "idle" : null,
      idle,
      exit_code: rec.exitCode,
      ports: this.ports(rec),
    };
    if (usage !== undefined) rt.usage = usage;
    if (rec.pool !== null) rt.pool = rec.pool;
    return rt;
  }

  private envDigestOf(rec: RuntimeRecord): string {
    const known = this.digests.get(rec.id);
    if (known?.revision === rec.revision) return known.digest;
    const digest = envDigest(rec.id, rec.env);
    if (this.digests.size > 4096) this.digests.clear();
    this.digests.set(rec.id, { revision: rec.revision, digest });
    return digest;
  }

  /** Finds a record by name or id; `not_found` with the fix otherwise. */
  find(ref: string): RuntimeRecord {
    const rec = this.store.getByName(ref) ?? this.store.get(ref);
    // A warm pool's members are the daemon's, not a user's, until a create takes one (engine/pools/).
    if (!rec || rec.pool !== null) throw errors.notFound(`runtime ${shown(ref)} not found; list runtimes with: runta ps -a`, { runtime: ref });
    return rec;
  }

  mustUpdate(id: string, patch: Parameters<RuntimeStore["update"]>[1]): RuntimeRecord {
    const rec = this.store.update(id, patch);
    if (!rec) throw errors.notFound(`runtime ${id} vanished from the store while being changed`);
    return rec;
  }

  /** Replaces the description: only the record changes, so any status will do (under the lock, like every change). */
  describe(ref: string, description: string): Promise<Runtime> {
    return this.withRuntime(ref, async (rec) => this.toRuntime(this.mustUpdate(rec.id, { description })));
  }

  /** Runs `fn` on the runtime `ref` names, under its lock ({@link withLock}), with its record as it is then ({@link current}). */
  withRuntime<T>(ref: string, fn: (rec: RuntimeRecord) => Promise<T>): Promise<T> {
    const { id } = this.find(ref);
    return this.withLock(id, async () => fn(await this.current(id)));
  }

  /**
   * Runs `fn` after every earlier lifecycle operation on the same runtime has finished; not at all when its caller
   * gave up meanwhile (caller.ts).
   */
  withLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(id);
    const next = prev
      ? prev
          .catch(() => undefined)
          .then(() => {
            throwIfCallerGone("this operation on the runtime");
            return fn();
          })
      : Promise.resolve().then(fn);
    const tail = next.catch(() => undefined);
    this.locks.set(id, tail);
    void tail.then(() => {
      if (this.locks.get(id) === tail) this.locks.delete(id);
    });
    return next;
  }

  /**
   * A running, paused or suspended record whose init died behind the daemon's back becomes `crashed` (its stopped container is
   * removed so a boot can start a fresh one). Cheap: one read of /proc per record; with `bulk` (a list) usually
   * a signal-0 probe instead (see AliveCache for the gap that leaves). A death it suspects is confirmed in full.
   */
  async checkAlive(rec: RuntimeRecord, opts: { bulk?: boolean } = {}): Promise<RuntimeRecord> {
    if (!isLive(rec.status)) return rec;
    if (opts.bulk ? this.aliveInBulk.alive(rec.initPid, rec.initStartTime) : sameProcessAlive(rec.initPid, rec.initStartTime)) {
      return opts.bulk ? rec : this.checkCgroup(rec);
    }
    return this.withLock(rec.id, async () => {
      const now = this.store.get(rec.id);
      if (!now || !isLive(now.status)) return now ?? rec;
      if (sameProcessAlive(now.initPid, now.initStartTime)) return now;
      this.logger.warn("runtime's init exited behind the daemon's back: marking it crashed", { id: now.id, name: now.name });
      return this.crashed(now.id);
    });
  }

  /** Records a runtime whose init died behind the daemon's back as `crashed`, with the init's exit code if known. */
  private async crashed(id: string): Promise<RuntimeRecord> {
    await this.containers.remove(id);
    const exitCode = await this.containers.initExitCode(id);
    return this.mustUpdate(id, { status: "crashed", initPid: null, initStartTime: null, exitCode, lastError: "the runtime's init process exited unexpectedly" });
  }


  /**
   * A live runtime whose cgroup was removed, or whose init was moved out of it, behind the daemon's back runs without
   * its limits (and runc's calls on it fail with raw errors): it is stopped — its init killed, which ends every process
   * of its pid namespace — and marked `crashed` with the reason and the fix. One read of /proc per call (not in lists).
   */
  private async checkCgroup(rec: RuntimeRecord): Promise<RuntimeRecord> {
    if (this.containers.cgroupProblem(rec) === null) return rec;
    return this.withLock(rec.id, async () => {
      const now = this.store.get(rec.id);
      if (!now || !isLive(now.status)) return now ?? rec;
      const problem = this.containers.cgroupProblem(now);
      if (problem === null) return now;
      this.logger.warn("runtime's cgroup was changed behind the daemon's back: stopping it and marking it crashed", { id: now.id, name: now.name, problem });
      try {
        process.kill(now.initPid!, "SIGKILL");
      } catch {
        // Already gone.
      }
      await this.containers.remove(now.id);
      return this.mustUpdate(now.id, {
        status: "crashed",
        initPid: null,
        initStartTime: null,
        lastError: `its cgroup was changed outside runta (${problem}), so its limits no longer held; it was stopped: boot it again with 'runta boot ${now.name}'`,
      });
    });
  }

  /** The record as it is now (inside a lock), with a crash noticed. */
  async current(id: string): Promise<RuntimeRecord> {
    const rec = this.store.get(id);
    if (!rec) throw errors.notFound(`runtime ${id} not found; list runtimes with: runta ps -a`);
    if (isLive(rec.status) && !sameProcessAlive(rec.initPid, rec.initStartTime)) return this.crashed(id);
    return rec;
  }
}
