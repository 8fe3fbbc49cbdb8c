/**
 * Warm pools (seed 000's minCachedInstances / maxCachedInstances): the daemon keeps `min` runtimes of a pool's shape
 * (image, vcpus, memory) booted and unnamed, and a create of that shape takes one instead of booting (take.ts gives
 * it the create's identity). Refilling runs in the background at low priority: one member boots at a time, only
 * while no user's create is in flight, a moment after the last take.
 *
 * Members are runtime records with `pool` set, hidden from lists and lookups (store.ts, records.ts), so a daemon
 * restart adopts them like any runtime and the refill counts them: adopted, not duplicated. They are real runtimes
 * (cgroup, network, disk) and count towards the daemon's runtimes limit; a pool whose `min` does not fit (memory of
 * the host, the runtimes limit) is refused with the numbers.
 */
import { randomBytes } from "node:crypto";
import { LIMITS, errors, type Pool } from "../../api/index.js";
import type { Logger } from "../../log.js";
import type { PoolRecord, PoolStore } from "../../store/pools.js";
import { newRuntimeRecord } from "../../store/new-record.js";
import type { RuntimeRecord } from "../../store/record.js";
import type { RuntimeStore } from "../../store/store.js";
import { hostMemoryMib } from "../host.js";
import { DEFAULT_IMAGE, type ImageStore } from "../images/store.js";
import { shown, validateName } from "../names.js";
import { sleep } from "../proc.js";
import { validateResources } from "../refusals.js";

/** The shape a create asks for, defaults applied: what decides whether a pool fits it. */
export interface PoolShape {
  image: string;
  vcpus: number;
  memoryMib: number;
}

/** What the manager needs from the engine. */
export interface PoolDeps {
  store: RuntimeStore;
  pools: PoolStore;
  images: ImageStore;
  logger: Logger;
  runtimesMax: number;
  /** A new member's disk size (the daemon's default). */
  diskMib: number;
  /** Provisions an inserted member record (status creating) until it runs; removes the record if that fails. */
  boot(rec: RuntimeRecord): Promise<void>;
  /** Tears down a member and deletes its record. */
  remove(rec: RuntimeRecord): Promise<void>;
  /** Whether users' creates are in flight: refilling waits for them. */
  busy(): boolean;
}

/** How long the refill waits after a take or a change before it boots anything (so bursts of creates come first). */
const REFILL_DELAY_MS = 250;

export class PoolManager {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private closed = false;
  /** Members being booted, per pool. */
  private readonly booting = new Map<string, number>();

  constructor(private readonly deps: PoolDeps) {}

  /** Creates or changes a pool; members of an older shape are replaced by the refill. */
  set(name: string, input: { image: string; vcpus: number; memoryMib: number; min: number; max?: number }): Pool {
    validateName(name);
    const max = input.max ?? input.min;
    if (!Number.isInteger(input.min) || input.min < 0 || !Number.isInteger(max) || max < input.min || max > LIMITS.runtimesMax) {
      throw errors.invalid(`a pool needs 0 ≤ min ≤ max ≤ ${LIMITS.runtimesMax} (whole numbers); got min ${input.min}, max ${max}`, { field: "min" });
    }
    validateResources(input.vcpus, input.memoryMib);
    if (!this.deps.images.exists(input.image) && input.image !== DEFAULT_IMAGE) {
      throw errors.notFound(`image "${input.image}" not found; list images with 'runta image ls' or import one with 'runta image import'`, { image: input.image });
    }
    this.checkRoom(name, input.min, input.memoryMib);
    const rec = this.deps.pools.put({ name, image: input.image, vcpus: input.vcpus, memoryMib: input.memoryMib, min: input.min, max });
    this.schedule(0);
    return this.view(rec);
  }

  /** Every pool with its counts. */
  list(): Pool[] {
    return this.deps.pools.list().map((p) => this.view(p));
  }

  /** Removes a pool and its waiting members. */
  async remove(name: string): Promise<Pool> {
    const rec = this.deps.pools.get(name);
    if (!rec) throw errors.notFound(`pool ${shown(name)} not found; list pools with: runta pool ls`, { pool: name });
    const before = this.view(rec);
    this.deps.pools.delete(name);
    // The refill in flight sees the pool gone before its next boot; a member it is booting now is removed with the rest.
    await this.running;
    await Promise.all(this.deps.store.poolMembers(name).map((m) => this.deps.remove(m)));
    return { ...before, ready: 0, booting: 0 };
  }

  /**
   * A ready member of a pool of exactly this shape (the oldest), or null. Synchronous: the caller claims it
   * (store.claimPooled) with no await in between, so two creates never get the same member.
   */
  candidate(shape: PoolShape): { pool: string; member: RuntimeRecord } | null {
    for (const pool of this.deps.pools.list()) {
      if (pool.image !== shape.image || pool.vcpus !== shape.vcpus || pool.memoryMib !== shape.memoryMib) continue;
      const member = this.deps.store.poolMembers(pool.name).find((m) => m.status === "running" && fits(m, pool));
      if (member) return { pool: pool.name, member };
    }
    return null;
  }

  /** Refills soon (after a take, a failed member, a start). */
  schedule(delayMs = REFILL_DELAY_MS): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.refill()
        .catch((err) => this.deps.logger.error("warm pool refill failed", { error: String((err as Error).message) }))
        .finally(() => {
          this.running = null;
          if (this.again) {
            this.again = false;
            this.schedule();
          }
        });
    }, delayMs);
    this.timer.unref();
  }

  /** Stops refilling (members stay: the next start adopts them). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** One pass: drop members that are not ready or no longer fit, boot missing ones one at a time, trim extras. */
  private async refill(): Promise<void> {
    const pools = new Map(this.deps.pools.list().map((p) => [p.name, p]));
    for (const m of this.deps.store.poolMembers()) {
      const pool = pools.get(m.pool!);
      // creating: a boot of this daemon in flight, or one a crash cut short (the reconcile marks those error).
      if (m.status === "creating") continue;
      if (!pool || m.status !== "running" || !fits(m, pool)) {
        this.deps.logger.info("warm pool: removing a member", { pool: m.pool, id: m.id, status: m.status });
        await this.deps.remove(m).catch((err) => this.deps.logger.warn("warm pool: removing a member failed", { id: m.id, error: String(err) }));
      }
    }
    for (const pool of pools.values()) {
      for (;;) {
        if (this.closed || !this.deps.pools.get(pool.name)) break;
        const members = this.deps.store.poolMembers(pool.name);
        const ready = members.filter((m) => m.status === "running");
        if (ready.length > pool.max) {
          await this.deps.remove(ready[0]!);
          continue;
        }
        if (members.length >= pool.min || members.length >= pool.max) break;
        if (this.deps.store.count() >= this.deps.runtimesMax) {
          this.deps.logger.warn("warm pool: not refilling, the daemon holds its limit of runtimes", { pool: pool.name, limit: this.deps.runtimesMax });
          break;
        }
        // Low priority: users' creates first.
        while (this.deps.busy() && !this.closed) await sleep(REFILL_DELAY_MS);
        if (this.closed) break;
        await this.bootMember(pool);
      }
    }
  }

  private async bootMember(pool: PoolRecord): Promise<void> {
    const rec = newRuntimeRecord({
      // Not a valid user name (':'), so no user's create ever collides with a member's.
      name: `pool:${pool.name}:${randomBytes(4).toString("hex")}`,
      status: "creating",
      image: pool.image,
      vcpus: pool.vcpus,
      memoryMib: pool.memoryMib,
      diskMib: this.deps.diskMib,
      pool: pool.name,
    });
    this.deps.store.insert(rec);
    this.booting.set(pool.name, (this.booting.get(pool.name) ?? 0) + 1);
    try {
      await this.deps.boot(rec);
    } catch (err) {
      this.deps.logger.error("warm pool: a member failed to boot", { pool: pool.name, error: String((err as Error).message) });
      // Do not spin on a pool that cannot boot (e.g. a removed image): the next take or change tries again.
      throw err;
    } finally {
      this.booting.set(pool.name, (this.booting.get(pool.name) ?? 1) - 1);
    }
  }

  /** Refuses a pool whose `min` members do not fit beside the other pools' (host memory, runtimes limit). */
  private checkRoom(name: string, min: number, memoryMib: number): void {
    const others = this.deps.pools.list().filter((p) => p.name !== name);
    const hostMib = hostMemoryMib();
    const otherMib = others.reduce((n, p) => n + p.min * p.memoryMib, 0);
    if (min * memoryMib + otherMib > hostMib) {
      throw errors.outOfRange(
        `pool ${name} would keep ${min} × ${memoryMib} MiB = ${min * memoryMib} MiB booted` +
          (otherMib ? `, and the other pools already keep ${otherMib} MiB` : "") +
          `: more than this host's ${hostMib} MiB of memory; lower --min or --memory`,
        { field: "min", host_memory_mib: hostMib, requested_mib: min * memoryMib, other_pools_mib: otherMib },
      );
    }
    const users = this.deps.store.count() - this.deps.store.poolMembers().length;
    const otherMin = others.reduce((n, p) => n + p.min, 0);
    if (users + otherMin + min > this.deps.runtimesMax) {
      throw errors.outOfRange(
        `pool ${name} would keep ${min} runtimes booted beside ${users} runtimes and ${otherMin} in other pools: more than this daemon's limit of ${this.deps.runtimesMax} runtimes; lower --min`,
        { field: "min", limit: this.deps.runtimesMax, runtimes: users, other_pools: otherMin },
      );
    }
  }

  private view(p: PoolRecord): Pool {
    const members = this.deps.store.poolMembers(p.name);
    return {
      name: p.name,
      image: p.image,
      resources: { requests: { vcpus: p.vcpus, memory_mib: p.memoryMib } },
      min: p.min,
      max: p.max,
      ready: members.filter((m) => m.status === "running" && fits(m, p)).length,
      booting: members.filter((m) => m.status === "creating").length,
      created_at: p.createdAt,
      updated_at: p.updatedAt,
    };
  }
}

/** Whether a member still has its pool's shape (a `pool set` may have changed it). */
function fits(m: RuntimeRecord, p: PoolRecord): boolean {
  return m.image === p.image && m.vcpus === p.vcpus && m.memoryMib === p.memoryMib;
}
