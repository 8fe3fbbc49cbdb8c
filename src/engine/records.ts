/**
 * The records of runtimes as the engine sees them: found by name or id, changed under a per-runtime lock (one
 * lifecycle operation at a time), a crash behind the daemon's back noticed when read, and shaped into the API's
 * `Runtime`.
 */
import { throwIfCallerGone } from "./caller.js";
import { errors, type Runtime, type RuntimeIdle, type VolumeMount } from "../api/index.js";
import type { PublishedPort } from "../api/ports-spec.js";
import type { Logger } from "../log.js";
import type { RuntimeRecord, RuntimeVolume } from "../store/record.js";
import type { RuntimeStore } from "../store/store.js";
import type { Containers } from "./containers.js";
import { shown } from "./names.js";
import { AliveCache, sameProcessAlive } from "./proc.js";
import { RuntimeViews } from "./runtime-view.js";
import { isLive } from "./status.js";

export class RuntimeRecords {
  private readonly locks = new Map<string, Promise<unknown>>();
  /** Liveness for lists (checkAlive's `bulk`): a full /proc check per runtime at most once a second. */
  private readonly aliveInBulk = new AliveCache();
  private readonly views: RuntimeViews;

  constructor(
    private readonly store: RuntimeStore,
    private readonly containers: Containers,
    private readonly logger: Logger,
    /** The names of what a record refers to by id: a restored runtime's checkpoint, its volumes. */
    refs: { checkpointName(id: string): string | null; volumes(v: RuntimeVolume[]): VolumeMount[] },
    /** Its latest activity and idle state (idle/keeper.ts). */
    idleOf: (rec: RuntimeRecord) => { lastActivityAt: string | null; idle: RuntimeIdle | null } = (rec) => ({
      lastActivityAt: rec.lastActivityAt,
      idle: null,
    }),
    /** Its published ports with their URLs (ingress/). */
    ports: (rec: RuntimeRecord) => PublishedPort[] = () => [],
  ) {
    this.views = new RuntimeViews({ checkpointName: (id) => refs.checkpointName(id), volumes: (v) => refs.volumes(v), idleOf, ports });
  }

  /** Waits for every lifecycle operation in flight (before the store closes). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.locks.values()]);
  }

  /** The API's object for a record (runtime-view.ts). */
  toRuntime(rec: RuntimeRecord, usage?: Runtime["usage"]): Runtime {
    return this.views.toRuntime(rec, usage);
  }

  /** The same as JSON text, its fixed part kept per record object (what a list writes). */
  json(rec: RuntimeRecord, usage?: Runtime["usage"]): string {
    return this.views.json(rec, usage);
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
   * removed so a boot can start a fresh one). Cheap: one read of /proc per record. A death it suspects is confirmed
   * under the lock.
   */
  async checkAlive(rec: RuntimeRecord): Promise<RuntimeRecord> {
    if (!isLive(rec.status)) return rec;
    if (sameProcessAlive(rec.initPid, rec.initStartTime)) return this.checkCgroup(rec);
    return this.confirmCrash(rec);
  }

  /**
   * {@link checkAlive} for a list: usually a signal-0 probe per record (see AliveCache for the gap that leaves), no
   * cgroup check, and no promise per record: only a suspected death waits (for its confirmation under the lock).
   */
  async checkAliveInBulk(recs: RuntimeRecord[]): Promise<RuntimeRecord[]> {
    const out = recs.slice();
    const suspects: Array<Promise<void>> = [];
    for (let i = 0; i < recs.length; i++) {
      const rec = recs[i]!;
      if (!isLive(rec.status) || this.aliveInBulk.alive(rec.initPid, rec.initStartTime)) continue;
      suspects.push(this.confirmCrash(rec).then((now) => void (out[i] = now)));
    }
    if (suspects.length) await Promise.all(suspects);
    return out;
  }

  /** Under the lock, with the full check: a live record whose init is gone becomes `crashed`. */
  private confirmCrash(rec: RuntimeRecord): Promise<RuntimeRecord> {
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
