/**
 * A runtime's API form as JSON (lists) and as an object (get): the same keys in the same order, and the JSON's cached
 * part never stale — every kind of change through the store shows at the next read, and so do the parts that change
 * without a write (idle state, activity, the names of checkpoints and volumes, usage).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, test } from "vitest";
import { RuntimeSchema, type Runtime, type RuntimeIdle } from "../../src/api/index.js";
import { publishedPort } from "../../src/api/ports-spec.js";
import { RuntimeViews } from "../../src/engine/runtime-view.js";
import { newRuntimeRecord } from "../../src/store/new-record.js";
import type { RuntimeRecord } from "../../src/store/record.js";
import { RuntimeStore } from "../../src/store/store.js";

let dir: string;
let store: RuntimeStore;
let views: RuntimeViews;
/** What the deps answer now: changed by the tests without writing the record. */
let idle: RuntimeIdle | null;
let checkpointNames: Map<string, string>;
let volumeNames: Map<string, string>;
let portCalls: number;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "runta-view-"));
  store = new RuntimeStore(dir);
  idle = null;
  checkpointNames = new Map();
  volumeNames = new Map();
  portCalls = 0;
  views = new RuntimeViews({
    checkpointName: (id) => checkpointNames.get(id) ?? null,
    volumes: (vs) => vs.map((v) => ({ volume: volumeNames.get(v.volumeId) ?? v.volumeId, volume_id: v.volumeId, path: v.path, read_only: v.readOnly })),
    idleOf: (rec) => ({ lastActivityAt: rec.lastActivityAt, idle: rec.idleTimeoutSecs === null ? null : idle }),
    ports: (rec) => {
      portCalls++;
      return rec.ports.map((b) => publishedPort(b, rec.id, { domain: "runta.localhost", port: 7480 }));
    },
  });
});

afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

function insert(fields: Partial<RuntimeRecord> = {}): RuntimeRecord {
  const rec = newRuntimeRecord({ name: "web", status: "running", image: "busybox", vcpus: 1, memoryMib: 256, diskMib: 10240, env: { A: "1" }, labels: { team: "x" }, ...fields });
  store.insert(rec);
  return store.get(rec.id)!;
}

/** The JSON a list writes, checked against the object get answers: equal, same key order, valid for the schema. */
function listed(rec: RuntimeRecord, usage?: Runtime["usage"]): Runtime {
  const parsed = JSON.parse(views.json(rec, usage)) as Runtime;
  const object = views.toRuntime(rec, usage);
  expect(parsed).toEqual(object);
  expect(Object.keys(parsed)).toEqual(Object.keys(object));
  RuntimeSchema.parse(parsed);
  return parsed;
}

test("list JSON and the get object agree, with and without the optional parts", () => {
  checkpointNames.set("cp-1", "base");
  volumeNames.set("v-1", "data");
  idle = { timeout_secs: 60, last_activity_at: null, last_activity: null, active: { execs: 1, terminals: 0, ingress: 0, egress: 0 }, awake_because: "1 exec running", suspends_at: null };
  const plain = listed(insert());
  expect(plain).toMatchObject({ name: "web", checkpoint: null, volumes: [], idle: null, env_names: ["A"], labels: { team: "x" } });
  expect(plain.usage).toBeUndefined();
  const full = insert({
    name: "full",
    checkpointId: "cp-1",
    volumes: [{ volumeId: "v-1", path: "/data", readOnly: true }],
    idleTimeoutSecs: 60,
    lastActivityAt: "2026-01-01T00:00:00.000Z",
    pool: "small",
    ports: [{ port: 8080, protocol: "http", hostIp: null, hostPort: null }],
  });
  expect(listed(full)).toMatchObject({ checkpoint: "base", volumes: [{ volume: "data", read_only: true }], idle: { timeout_secs: 60 }, pool: "small", ports: [{ port: 8080 }] });
  const usage = { memory_bytes: 1, memory_limit_bytes: 2, cpu_usage_ns: 3, pids: 1 };
  expect(listed(full, usage).usage).toEqual(usage);
  expect(listed(full, null).usage).toBeNull();
});

test("the fixed part is built once per record object and again after every write", () => {
  const rec = insert({ ports: [{ port: 8080, protocol: "http", hostIp: null, hostPort: null }] });
  views.json(rec);
  views.json(rec);
  expect(portCalls).toBe(1);
  const after = store.update(rec.id, { description: "x" })!;
  expect(JSON.parse(views.json(after)).description).toBe("x");
  expect(portCalls).toBe(2);
});

test("every kind of change through the store shows in the next list", () => {
  let rec = insert();
  const changes: Array<[string, () => RuntimeRecord, (rt: Runtime) => void]> = [
    ["state", () => store.update(rec.id, { status: "paused" })!, (rt) => expect(rt).toMatchObject({ status: "paused", pause_reason: "user" })],
    ["suspend", () => store.update(rec.id, { status: "suspended" })!, (rt) => expect(rt).toMatchObject({ status: "suspended", pause_reason: "idle" })],
    ["crash", () => store.update(rec.id, { status: "crashed", exitCode: 137, lastError: "died" })!, (rt) => expect(rt).toMatchObject({ status: "crashed", exit_code: 137, last_error: "died" })],
    ["labels", () => store.update(rec.id, { labels: { team: "y", tier: "db" } })!, (rt) => expect(rt.labels).toEqual({ team: "y", tier: "db" })],
    ["resize", () => store.update(rec.id, { vcpus: 2, memoryMib: 512, diskMib: 20480 })!, (rt) => expect(rt.resources.requests).toEqual({ vcpus: 2, memory_mib: 512, disk_size_gib: 20 })],
    ["rename", () => store.update(rec.id, { name: "api" })!, (rt) => expect(rt).toMatchObject({ name: "api", hostname: "api" })],
    ["description", () => store.update(rec.id, { description: "front" })!, (rt) => expect(rt.description).toBe("front")],
    ["idle timeout", () => store.update(rec.id, { idleTimeoutSecs: 300 })!, (rt) => expect(rt.idle_timeout_secs).toBe(300)],
    ["ports", () => store.update(rec.id, { ports: [{ port: 9000, protocol: "tcp", hostIp: "127.0.0.1", hostPort: 19000 }] })!, (rt) => expect(rt.ports).toMatchObject([{ port: 9000, host_port: 19000 }])],
    ["env", () => store.update(rec.id, { env: { A: "2", B: "3" } })!, (rt) => expect(rt.env_names).toEqual(["A", "B"])],
    ["boot with a lifetime", () => store.update(rec.id, { status: "running", startedAt: "2026-01-01T00:00:00.000Z", lifetimeSecs: 60 })!, (rt) => expect(rt.shutdown_at).toBe("2026-01-01T00:01:00.000Z")],
    // Activity is written without a new revision: the record object is new all the same.
    ["activity", () => (store.touchActivity(rec.id, "2026-03-01T00:00:00.000Z", "exec"), store.get(rec.id)!), (rt) => expect(rt.last_activity_at).toBe("2026-03-01T00:00:00.000Z")],
  ];
  for (const [what, change, check] of changes) {
    const before = views.json(rec);
    rec = change();
    const after = listed(rec);
    expect(JSON.stringify(after), what).not.toBe(before);
    check(after);
  }
  // The env digest follows the values, not only the names.
  const digest = listed(rec).env_digest;
  rec = store.update(rec.id, { env: { A: "9", B: "3" } })!;
  expect(listed(rec).env_digest).not.toBe(digest);
});

test("a warm pool's member claimed by a create shows its new identity, though its revision is the same", () => {
  const member = insert({ name: "pool-member", pool: "small", revision: 2 });
  expect(listed(member).pool).toBe("small");
  const claimed = store.claimPooled(member.id, "small", { name: "app", labels: { t: "x" }, createdAt: new Date().toISOString() })!;
  expect(claimed.revision).toBe(2);
  const rt = listed(claimed);
  expect(rt).toMatchObject({ name: "app", labels: { t: "x" } });
  expect(rt.pool).toBeUndefined();
});

test("what changes without a write shows at every read: idle state, checkpoint and volume names", () => {
  const rec = insert({ idleTimeoutSecs: 60, checkpointId: "cp-1", volumes: [{ volumeId: "v-1", path: "/data", readOnly: false }] });
  expect(listed(rec)).toMatchObject({ checkpoint: "cp-1", volumes: [{ volume: "v-1" }], idle: null });
  idle = { timeout_secs: 60, last_activity_at: null, last_activity: null, active: { execs: 0, terminals: 0, ingress: 2, egress: 0 }, awake_because: "2 ingress connections", suspends_at: null };
  checkpointNames.set("cp-1", "base");
  volumeNames.set("v-1", "data");
  expect(listed(rec)).toMatchObject({ checkpoint: "base", volumes: [{ volume: "data" }], idle: { active: { ingress: 2 } } });
  idle = { ...idle, active: { execs: 0, terminals: 0, ingress: 0, egress: 0 }, awake_because: null, suspends_at: "2026-01-01T00:01:00.000Z" };
  expect(listed(rec).idle).toMatchObject({ awake_because: null, suspends_at: "2026-01-01T00:01:00.000Z" });
});
