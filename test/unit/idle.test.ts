/** The idle tracker and keeper with a fake clock, store and freezer: what counts, when a runtime suspends, how it wakes. */
import { expect, test } from "vitest";
import type { IdleActive, RuntimeStatus } from "../../src/api/index.js";
import { IdleKeeper, PERSIST_MS } from "../../src/engine/idle/keeper.js";
import { ActivityTracker, awakeBecause, NOTHING_ACTIVE } from "../../src/engine/idle/tracker.js";
import { silentLogger } from "../../src/log.js";
import type { RuntimeRecord } from "../../src/store/record.js";

const T0 = Date.parse("2026-01-01T00:00:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();

function clock() {
  let t = T0;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

test("awake_because says each live kind in words, and null when nothing is live", () => {
  expect(awakeBecause(NOTHING_ACTIVE)).toBeNull();
  expect(awakeBecause({ execs: 1, terminals: 0, ingress: 2, egress: 0 })).toBe("1 exec running, 2 ingress connections");
  expect(awakeBecause({ execs: 2, terminals: 1, ingress: 0, egress: 1 })).toBe("2 execs running (1 attached terminal), 1 outbound connection");
  expect(awakeBecause({ execs: 0, terminals: 0, ingress: 1, egress: 3 })).toBe("1 ingress connection, 3 outbound connections");
});

test("a hold is live until released; holding and releasing are both moments; release twice counts once", () => {
  const c = clock();
  const t = new ActivityTracker(c.now);
  const release = t.hold("a", "ingress");
  t.hold("a", "egress");
  expect(t.held("a")).toEqual({ ingress: 1, egress: 1 });
  c.advance(5000);
  release();
  release();
  expect(t.held("a")).toEqual({ ingress: 0, egress: 1 });
  expect(t.last("a", { at: null, kind: null, startedAt: null })).toEqual({ at: T0 + 5000, kind: "ingress" });
  expect(t.held("unknown")).toEqual({ ingress: 0, egress: 0 });
});

test("the latest of this daemon's moment, the record's and the start wins", () => {
  const c = clock();
  const t = new ActivityTracker(c.now);
  expect(t.last("a", { at: null, kind: null, startedAt: null })).toBeNull();
  expect(t.last("a", { at: iso(T0 - 1000), kind: "exec", startedAt: iso(T0 - 5000) })).toEqual({ at: T0 - 1000, kind: "exec" });
  expect(t.last("a", { at: iso(T0 - 9000), kind: "exec", startedAt: iso(T0 - 5000) })).toEqual({ at: T0 - 5000, kind: "start" });
  t.touch("a", "terminal");
  expect(t.last("a", { at: iso(T0 - 1000), kind: "exec", startedAt: null })).toEqual({ at: T0, kind: "terminal" });
});

test("suspends_at is the latest moment plus the timeout, and null while anything is live", () => {
  expect(ActivityTracker.suspendsAt(T0, 30, NOTHING_ACTIVE)).toBe(T0 + 30_000);
  expect(ActivityTracker.suspendsAt(T0, 30, { ...NOTHING_ACTIVE, egress: 1 })).toBeNull();
});

test("moments reach the store at a modest rate: once per PERSIST_MS however many there are", () => {
  const c = clock();
  const t = new ActivityTracker(c.now);
  t.touch("a", "exec");
  expect(t.unpersisted(PERSIST_MS).map((m) => m.id)).toEqual(["a"]);
  t.persisted("a", c.now());
  for (let i = 0; i < 9; i++) {
    c.advance(1000);
    t.touch("a", "exec");
    expect(t.unpersisted(PERSIST_MS)).toEqual([]);
  }
  c.advance(1000);
  t.touch("a", "exec");
  expect(t.unpersisted(PERSIST_MS)).toEqual([{ id: "a", at: T0 + PERSIST_MS, kind: "exec" }]);
  expect(t.unpersisted(0)).toHaveLength(1);
});

/** A keeper over one fake runtime, a fake store, a fake freezer and a fake exec registry. */
function keeperWith(over: Partial<RuntimeRecord> = {}) {
  const c = clock();
  const tracker = new ActivityTracker(c.now);
  const rec = {
    id: "rt1",
    name: "web",
    status: "running" as RuntimeStatus,
    idleTimeoutSecs: 30,
    startedAt: iso(T0),
    lastActivityAt: null as string | null,
    lastActivityKind: null,
    ...over,
  } as RuntimeRecord;
  const calls: string[] = [];
  const execs = { execs: 0, terminals: 0 };
  let adopted = 0;
  const update = (_id: string, patch: Partial<RuntimeRecord>) => Object.assign(rec, patch);
  const keeper = new IdleKeeper({
    tracker,
    store: {
      withIdleTimeout: () => (rec.status === "running" && rec.idleTimeoutSecs !== null ? [{ ...rec }] : []),
      get: () => ({ ...rec }),
      touchActivity: (_id, at, kind) => {
        calls.push(`persist ${at} ${kind}`);
        Object.assign(rec, { lastActivityAt: at, lastActivityKind: kind });
      },
    },
    records: {
      withLock: async (_id, fn) => fn(),
      current: async () => ({ ...rec }),
      mustUpdate: (id, patch) => update(id, patch),
      find: () => ({ ...rec }),
      checkAlive: async (r) => r,
    },
    freezer: {
      freeze: async () => void calls.push("pause"),
      thaw: async () => {
        calls.push("resume");
        await new Promise((r) => setTimeout(r, 5));
      },
    },
    execActivity: () => ({ ...execs }),
    adoptExecs: async () => void adopted++,
    logger: silentLogger,
  });
  return { keeper, rec, calls, execs, clock: c, adopted: () => adopted };
}

test("a running runtime with nothing live is suspended once its timeout has passed since its start, not before", async () => {
  const k = keeperWith();
  k.clock.advance(29_999);
  await k.keeper.sweep();
  expect(k.rec.status).toBe("running");
  expect(k.keeper.describe(k.rec).idle).toMatchObject({ timeout_secs: 30, last_activity: "start", suspends_at: iso(T0 + 30_000), awake_because: null });
  k.clock.advance(1);
  await k.keeper.sweep();
  expect(k.rec.status).toBe("suspended");
  expect(k.calls).toContain("pause");
  expect(k.keeper.describe(k.rec).idle?.suspends_at).toBeNull();
  expect(k.adopted()).toBeGreaterThan(0);
});

test("a running exec keeps it awake however long it runs, and the clock starts when it ends", async () => {
  const k = keeperWith();
  k.execs.execs = 1;
  for (let i = 0; i < 120; i++) {
    k.clock.advance(1000);
    await k.keeper.sweep();
  }
  expect(k.rec.status).toBe("running");
  const idle = k.keeper.describe(k.rec).idle!;
  expect(idle).toMatchObject({ active: { execs: 1, terminals: 0, ingress: 0, egress: 0 }, awake_because: "1 exec running", suspends_at: null, last_activity: "exec" });
  // Written to the record while busy, at the modest rate (120 s of activity: about 12 writes, not 120).
  const writes = k.calls.filter((c) => c.startsWith("persist")).length;
  expect(writes).toBeGreaterThanOrEqual(10);
  expect(writes).toBeLessThanOrEqual(13);
  k.execs.execs = 0;
  const ended = k.clock.now();
  k.clock.advance(29_000);
  await k.keeper.sweep();
  expect(k.rec.status).toBe("running");
  expect(k.keeper.describe(k.rec).idle?.suspends_at).toBe(iso(ended + 30_000));
  k.clock.advance(1000);
  await k.keeper.sweep();
  expect(k.rec.status).toBe("suspended");
});

test("ingress and egress holds keep it awake; each release restarts the clock", async () => {
  const k = keeperWith();
  const ingress = k.keeper.hold("rt1", "ingress");
  const egress = k.keeper.hold("rt1", "egress");
  k.clock.advance(60_000);
  await k.keeper.sweep();
  expect(k.rec.status).toBe("running");
  expect(k.keeper.describe(k.rec).idle?.awake_because).toBe("1 ingress connection, 1 outbound connection");
  ingress();
  k.clock.advance(60_000);
  await k.keeper.sweep();
  expect(k.rec.status).toBe("running");
  egress();
  k.clock.advance(29_000);
  await k.keeper.sweep();
  expect(k.rec.status).toBe("running");
  k.clock.advance(1_000);
  await k.keeper.sweep();
  expect(k.rec.status).toBe("suspended");
});

test("after a restart the clock runs from the persisted activity: an idle runtime is not kept awake by the restart", async () => {
  const k = keeperWith({ startedAt: iso(T0 - 3_600_000), lastActivityAt: iso(T0 - 31_000), lastActivityKind: "exec" });
  await k.keeper.sweep();
  expect(k.rec.status).toBe("suspended");
});

test("after a restart a runtime whose detached exec still runs is not suspended (execs are adopted before the judgement)", async () => {
  const k = keeperWith({ startedAt: iso(T0 - 3_600_000), lastActivityAt: iso(T0 - 3_000_000), lastActivityKind: "exec" });
  k.execs.execs = 1;
  await k.keeper.sweep();
  expect(k.rec.status).toBe("running");
  expect(k.adopted()).toBe(1);
});

test("a flood of wakes resumes a suspended runtime once; a running one needs none; a user's pause is refused with the fix", async () => {
  const k = keeperWith({ status: "suspended" });
  await Promise.all(Array.from({ length: 50 }, () => k.keeper.wake("rt1")));
  expect(k.calls.filter((c) => c === "resume")).toHaveLength(1);
  expect(k.rec.status).toBe("running");
  expect(k.keeper.describe(k.rec).idle?.last_activity).toBe("resume");
  await k.keeper.wake("rt1");
  expect(k.calls.filter((c) => c === "resume")).toHaveLength(1);
  k.rec.status = "paused";
  await expect(k.keeper.wake("rt1")).rejects.toThrow(/paused.*runta resume web/);
});

test("no idle object without a timeout; last_activity_at is still reported", () => {
  const k = keeperWith({ idleTimeoutSecs: null });
  k.keeper.touch("rt1", "exec");
  expect(k.keeper.describe(k.rec)).toEqual({ lastActivityAt: iso(T0), idle: null });
});

test("close writes the moments not yet written", () => {
  const k = keeperWith();
  k.keeper.touch("rt1", "terminal");
  k.keeper.close();
  expect(k.rec.lastActivityAt).toBe(iso(T0));
  expect(k.rec.lastActivityKind).toBe("terminal");
});

test("counts that are all zero say nothing is live", () => {
  const zero: IdleActive = { execs: 0, terminals: 0, ingress: 0, egress: 0 };
  const t = new ActivityTracker(() => T0);
  expect(t.observe("a", zero)).toBe(false);
  expect(t.observe("a", { ...zero, terminals: 1, execs: 1 })).toBe(true);
  expect(t.last("a", { at: null, kind: null, startedAt: null })?.kind).toBe("terminal");
});

test("an exec enters a running runtime, wakes a suspended one first, and is refused a paused or shut-down one with the fix", async () => {
  const k = keeperWith({ status: "suspended" });
  const entered = await k.keeper.enter("web", "exec");
  expect(entered.status).toBe("running");
  expect(k.calls.filter((c) => c === "resume")).toHaveLength(1);
  k.clock.advance(5000);
  await k.keeper.enter("web", "attach", "terminal");
  expect(k.keeper.describe(k.rec).idle?.last_activity).toBe("terminal");
  k.rec.status = "paused";
  await expect(k.keeper.enter("web", "exec")).rejects.toThrow(/paused, cannot exec.*runta resume web/);
  k.rec.status = "shutdown";
  await expect(k.keeper.enter("web", "attach")).rejects.toThrow(/shutdown, cannot attach.*runta boot web/);
});
