/**
 * Warm pools' logic (engine/pools/): which creates a pool serves, the refill (boots what is missing, one at a time,
 * adopts what is there, replaces members of an old shape, trims above max), the refusals with their numbers, and the
 * claim that hands a member to a create. A real SQLite store; booting and removing are recorded instead of runc.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, test } from "vitest";
import { LIMITS } from "../../src/api/index.js";
import { hostMemoryMib } from "../../src/engine/host.js";
import { PoolManager, type PoolDeps } from "../../src/engine/pools/manager.js";
import { poolShapeOf } from "../../src/engine/pools/take.js";
import type { ImageStore } from "../../src/engine/images/store.js";
import { PoolStore } from "../../src/store/pools.js";
import type { RuntimeRecord } from "../../src/store/record.js";
import { RuntimeStore } from "../../src/store/store.js";

let dir: string;
let store: RuntimeStore;
let booted: string[];
let removed: string[];
let busy: boolean;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "runta-pools-"));
  store = new RuntimeStore(dir);
  booted = [];
  removed = [];
  busy = false;
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A manager whose boots mark the member running at once and whose removals delete the record. */
function manager(over: Partial<PoolDeps> = {}): PoolManager {
  return new PoolManager({
    store,
    pools: new PoolStore(store.db),
    images: { exists: (name: string) => name === "bb" } as unknown as ImageStore,
    logger: { info() {}, warn() {}, error() {}, debug() {} } as unknown as PoolDeps["logger"],
    runtimesMax: 10,
    diskMib: 10240,
    boot: async (rec: RuntimeRecord) => {
      booted.push(rec.id);
      store.update(rec.id, { status: "running", initPid: 1, startedAt: new Date().toISOString() });
    },
    remove: async (rec: RuntimeRecord) => {
      removed.push(rec.id);
      store.delete(rec.id);
    },
    busy: () => busy,
    ...over,
  });
}

/** Runs the refill now and waits until it has settled (schedule + close waits for the pass in flight). */
async function refilled(m: PoolManager): Promise<void> {
  m.schedule(0);
  await new Promise((r) => setTimeout(r, 20));
  await (m as unknown as { running: Promise<void> | null }).running;
}

test("a create is served by a pool only when a booted member can become it", () => {
  const disk = 10240;
  expect(poolShapeOf({ image: "bb", vcpus: 1, memoryMib: 256 }, disk)).toEqual({ image: "bb", vcpus: 1, memoryMib: 256 });
  expect(poolShapeOf({}, disk)).toEqual({ image: "default", vcpus: LIMITS.defaultVcpus, memoryMib: LIMITS.defaultMemoryMib });
  expect(poolShapeOf({ image: "bb", diskSizeGib: 10 }, disk)).not.toBeNull();
  expect(poolShapeOf({ image: "bb", diskSizeGib: 20 }, disk)).toBeNull();
  expect(poolShapeOf({ image: "bb", checkpoint: "golden" }, disk)).toBeNull();
  expect(poolShapeOf({ image: "bb", packages: ["tree"] }, disk)).toBeNull();
  expect(poolShapeOf({ image: "bb", network: "none" }, disk)).toBeNull();
  expect(poolShapeOf({ image: "bb", network: "nat" }, disk)).not.toBeNull();
  expect(poolShapeOf({ image: "bb", egress: { mode: "allowlist", rules: [] } as never }, disk)).toBeNull();
  expect(poolShapeOf({ image: "bb", whitelist: ["10.0.0.0/8"] }, disk)).toBeNull();
});

test("the refill boots min members, hidden from lists and counted; a take leaves one and the next pass replaces it", async () => {
  const m = manager();
  m.set("small", { image: "bb", vcpus: 1, memoryMib: 256, min: 2, max: 3 });
  await refilled(m);
  expect(booted).toHaveLength(2);
  expect(store.list({ limit: 100 }).items).toEqual([]);
  expect(store.list({ limit: 100, pooled: true }).items.map((r) => r.pool)).toEqual(["small", "small"]);
  expect(store.count()).toBe(2);
  expect(m.list()).toMatchObject([{ name: "small", min: 2, max: 3, ready: 2, booting: 0 }]);

  expect(m.candidate({ image: "bb", vcpus: 2, memoryMib: 256 })).toBeNull();
  const c = m.candidate({ image: "bb", vcpus: 1, memoryMib: 256 })!;
  expect(c.pool).toBe("small");
  const claimed = store.claimPooled(c.member.id, "small", { name: "app", env: { A: "1" }, labels: { t: "x" }, createdAt: "2030-01-01T00:00:00.000Z" })!;
  expect(claimed).toMatchObject({ id: c.member.id, name: "app", pool: null, env: { A: "1" }, labels: { t: "x" }, createdAt: "2030-01-01T00:00:00.000Z", revision: 2 });
  // Claimed once: a second claim of the same member finds it gone from the pool.
  expect(store.claimPooled(c.member.id, "small", { name: "app2", createdAt: "2030-01-01T00:00:00.000Z" })).toBeNull();
  expect(store.list({ limit: 100 }).items.map((r) => r.name)).toEqual(["app"]);
  expect(m.list()[0]).toMatchObject({ ready: 1 });

  await refilled(m);
  expect(booted).toHaveLength(3);
  expect(m.list()[0]).toMatchObject({ ready: 2 });
  await m.close();
});

test("members already there are adopted, not duplicated; an old shape is replaced; above max is trimmed", async () => {
  const first = manager();
  first.set("small", { image: "bb", vcpus: 1, memoryMib: 256, min: 2 });
  await refilled(first);
  await first.close();
  // A new manager over the same database (a daemon restart): nothing to boot.
  const again = manager();
  await refilled(again);
  expect(booted).toHaveLength(2);
  expect(removed).toHaveLength(0);
  // A new shape: both old members go, two of the new shape boot.
  again.set("small", { image: "bb", vcpus: 1, memoryMib: 512, min: 2 });
  await refilled(again);
  expect(removed).toHaveLength(2);
  expect(store.poolMembers("small").map((r) => r.memoryMib)).toEqual([512, 512]);
  // A member that crashed is removed and replaced.
  const [crashed] = store.poolMembers("small");
  store.update(crashed!.id, { status: "crashed" });
  await refilled(again);
  expect(removed).toContain(crashed!.id);
  expect(store.poolMembers("small").filter((r) => r.status === "running")).toHaveLength(2);
  // Lower max than what is ready: trimmed.
  again.set("small", { image: "bb", vcpus: 1, memoryMib: 512, min: 1, max: 1 });
  await refilled(again);
  expect(store.poolMembers("small")).toHaveLength(1);
  await again.remove("small");
  expect(store.poolMembers()).toEqual([]);
  expect(again.list()).toEqual([]);
  await again.close();
});

test("the refill waits while users' creates are in flight (low priority)", async () => {
  busy = true;
  const m = manager();
  m.set("small", { image: "bb", vcpus: 1, memoryMib: 256, min: 1 });
  m.schedule(0);
  await new Promise((r) => setTimeout(r, 400));
  expect(booted).toHaveLength(0);
  busy = false;
  await (m as unknown as { running: Promise<void> | null }).running;
  expect(booted).toHaveLength(1);
  await m.close();
});

test("refusals name the numbers: the host's memory, the runtimes limit, min/max, an unknown image or pool", async () => {
  const m = manager();
  const host = hostMemoryMib();
  expect(() => m.set("huge", { image: "bb", vcpus: 1, memoryMib: 1024, min: Math.ceil(host / 1024) + 1, max: LIMITS.runtimesMax })).toThrow(
    new RegExp(`than this host's ${host} MiB of memory`),
  );
  expect(() => m.set("many", { image: "bb", vcpus: 1, memoryMib: 64, min: 11 })).toThrow(/beside 0 runtimes and 0 in other pools: more than this daemon's limit of 10 runtimes/);
  expect(() => m.set("bad", { image: "bb", vcpus: 1, memoryMib: 256, min: 3, max: 2 })).toThrow(/0 ≤ min ≤ max/);
  expect(() => m.set("bad", { image: "nope", vcpus: 1, memoryMib: 256, min: 1 })).toThrow(/image "nope" not found/);
  expect(() => m.set("bad name", { image: "bb", vcpus: 1, memoryMib: 256, min: 1 })).toThrow(/invalid runtime name/);
  await expect(m.remove("nope")).rejects.toThrow(/pool "nope" not found/);
  expect(m.list()).toEqual([]);
  await m.close();
});
