import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, test } from "vitest";
import { RuntaError } from "../../src/api/index.js";
import { VolumeStore } from "../../src/store/volumes.js";
import type { RuntimeRecord } from "../../src/store/record.js";
import { RuntimeStore, decodeCursor, encodeCursor } from "../../src/store/store.js";

let dir: string;
let store: RuntimeStore;
let warnings: Array<{ msg: string; fields?: Record<string, unknown> }>;

function record(n: number, over: Partial<RuntimeRecord> = {}): RuntimeRecord {
  const at = new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString();
  return {
    id: `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`,
    name: `rt${n}`,
    status: "running",
    image: "busybox",
    vcpus: 0.5,
    memoryMib: 64,
    env: { A: "1" },
    labels: { team: "x" },
    hostname: null,
    description: "",
    execTimeoutSecs: null,
    lifetimeSecs: null,
    createdAt: at,
    updatedAt: at,
    startedAt: null,
    revision: 1,
    lastError: null,
    idleTimeoutSecs: null,
    lastActivityAt: null,
    lastActivityKind: null,
    idempotencyKey: null,
    requestHash: null,
    initPid: null,
    initStartTime: null,
    bootId: null,
    diskMib: null,
    checkpointId: null,
    volumes: [],
    exitCode: null,
    pool: null,
    ports: [],
    ...over,
  };
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "runta-store-"));
  warnings = [];
  store = new RuntimeStore(dir, { warn: (msg, fields) => warnings.push({ msg, fields }) });
});

afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

test("round-trips a record, env values and labels included", () => {
  store.insert(record(1));
  expect(store.get(record(1).id)).toEqual(record(1));
  expect(store.getByName("rt1")?.id).toBe(record(1).id);
  expect(store.get("nope")).toBeNull();
});

test("update bumps the revision and updated_at, and survives a reopen (committed at once)", () => {
  store.insert(record(1));
  const updated = store.update(record(1).id, { status: "paused", lastError: "x" })!;
  expect(updated.revision).toBe(2);
  expect(updated.status).toBe("paused");
  expect(updated.updatedAt > record(1).updatedAt).toBe(true);
  store.close();
  store = new RuntimeStore(dir);
  expect(store.get(record(1).id)?.status).toBe("paused");
});

test("activity does not bump the revision", () => {
  store.insert(record(1));
  store.touchActivity(record(1).id, "2026-02-01T00:00:00.000Z", "ingress");
  expect(store.get(record(1).id)).toMatchObject({ revision: 1, lastActivityAt: "2026-02-01T00:00:00.000Z", lastActivityKind: "ingress" });
});

test("withIdleTimeout lists running records with an idle timeout only", () => {
  store.insert({ ...record(1), status: "running", idleTimeoutSecs: 30 });
  store.insert({ ...record(2), status: "suspended", idleTimeoutSecs: 30 });
  store.insert({ ...record(3), status: "running" });
  expect(store.withIdleTimeout().map((r) => r.id)).toEqual([record(1).id]);
});

test("a taken name or idempotency key is already_exists", () => {
  store.insert(record(1, { idempotencyKey: "k" }));
  expect(() => store.insert(record(2, { name: "rt1" }))).toThrowError(RuntaError);
  expect(() => store.insert(record(2, { name: "rt1" }))).toThrowError(/already exists/);
  expect(() => store.insert(record(3, { idempotencyKey: "k" }))).toThrowError(/Idempotency-Key/);
  expect(store.getByIdempotencyKey("k")?.id).toBe(record(1).id);
});

test("pages in (created_at, id) order with an opaque cursor, and filters by status", () => {
  for (let n = 1; n <= 5; n++) store.insert(record(n, { status: n % 2 ? "running" : "paused" }));
  const first = store.list({ limit: 2 });
  expect(first.items.map((r) => r.name)).toEqual(["rt1", "rt2"]);
  const second = store.list({ limit: 2, after: first.nextCursor! });
  expect(second.items.map((r) => r.name)).toEqual(["rt3", "rt4"]);
  const third = store.list({ limit: 2, after: second.nextCursor! });
  expect(third.items.map((r) => r.name)).toEqual(["rt5"]);
  expect(third.nextCursor).toBeNull();
  expect(store.list({ limit: 10, status: ["paused"] }).items.map((r) => r.name)).toEqual(["rt2", "rt4"]);
});

test("records created in the same millisecond are ordered by id and never repeated across pages", () => {
  const at = "2026-01-01T00:00:00.000Z";
  for (let n = 1; n <= 3; n++) store.insert(record(n, { createdAt: at }));
  const a = store.list({ limit: 2 });
  const b = store.list({ limit: 2, after: a.nextCursor! });
  expect([...a.items, ...b.items].map((r) => r.name)).toEqual(["rt1", "rt2", "rt3"]);
});

test("a bad cursor is invalid_argument", () => {
  expect(() => store.list({ limit: 1, after: "not-a-cursor" })).toThrowError(/cursor/);
  expect(decodeCursor(encodeCursor("a", "b"))).toEqual(["a", "b"]);
});

test("a corrupt row is skipped with a warning and does not hide the others", () => {
  for (let n = 1; n <= 3; n++) store.insert(record(n));
  store.execRawForTests("UPDATE runtimes SET env = '{broken' WHERE name = 'rt2'");
  store.execRawForTests("UPDATE runtimes SET labels = '[1,2]' WHERE name = 'rt3'");
  expect(store.all().map((r) => r.name)).toEqual(["rt1"]);
  expect(store.list({ limit: 10 }).items.map((r) => r.name)).toEqual(["rt1"]);
  expect(store.getByName("rt2")).toBeNull();
  expect(warnings.length).toBeGreaterThanOrEqual(2);
  expect(warnings[0].fields?.name).toBe("rt2");
});

test("meta values persist", () => {
  expect(store.getMeta("boot_id")).toBeNull();
  store.setMeta("boot_id", "a");
  store.setMeta("boot_id", "b");
  expect(store.getMeta("boot_id")).toBe("b");
});

test("a database from before the hostname column gets it on open; its records keep the name as hostname", async () => {
  store.close();
  const old = mkdtempSync(join(tmpdir(), "runta-store-old-"));
  try {
    const Database = (await import("better-sqlite3")).default;
    const db = new Database(join(old, "runta.db"));
    db.exec(`CREATE TABLE runtimes (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, status TEXT NOT NULL, image TEXT NOT NULL,
      vcpus REAL NOT NULL, memory_mib INTEGER NOT NULL, env TEXT NOT NULL, labels TEXT NOT NULL, created_at TEXT NOT NULL,
      updated_at TEXT NOT NULL, started_at TEXT, revision INTEGER NOT NULL, last_error TEXT, idle_timeout_secs INTEGER,
      last_activity_at TEXT, idempotency_key TEXT UNIQUE, request_hash TEXT, init_pid INTEGER, init_start_time INTEGER, boot_id TEXT)`);
    db.prepare("INSERT INTO runtimes (id, name, status, image, vcpus, memory_mib, env, labels, created_at, updated_at, revision) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
      .run(record(1).id, "before", "shutdown", "busybox", 1, 64, "{}", "{}", record(1).createdAt, record(1).createdAt, 1);
    db.close();
    const reopened = new RuntimeStore(old);
    expect(reopened.getByName("before")?.hostname).toBeNull();
    expect(reopened.getByName("before")?.description).toBe("");
    expect(reopened.getByName("before")?.execTimeoutSecs).toBeNull();
    expect(reopened.getByName("before")?.lifetimeSecs).toBeNull();
    reopened.update(record(1).id, { description: "kept" });
    expect(reopened.getByName("before")?.description).toBe("kept");
    reopened.insert(record(2, { hostname: "api.internal" }));
    expect(reopened.get(record(2).id)?.hostname).toBe("api.internal");
    reopened.close();
    // A second open finds the column there and changes nothing.
    const again = new RuntimeStore(old);
    expect(again.get(record(2).id)?.hostname).toBe("api.internal");
    again.close();
  } finally {
    rmSync(old, { recursive: true, force: true });
  }
  store = new RuntimeStore(dir);
});

test("a runtime's volumes round-trip; the volume table refuses a taken name", () => {
  const volumes = [{ volumeId: "v-1", path: "/work", readOnly: false }, { volumeId: "v-2", path: "/ref", readOnly: true }];
  store.insert(record(1, { volumes }));
  expect(store.get(record(1).id)?.volumes).toEqual(volumes);
  const vols = new VolumeStore(store.db);
  vols.insert({ id: "v-1", name: "data", sizeMib: 64, createdAt: "2026-01-01T00:00:00.000Z" });
  expect(vols.getByName("data")).toEqual({ id: "v-1", name: "data", sizeMib: 64, createdAt: "2026-01-01T00:00:00.000Z" });
  expect(() => vols.insert({ id: "v-3", name: "data", sizeMib: 64, createdAt: "2026-01-01T00:00:00.000Z" })).toThrow(expect.objectContaining({ code: "already_exists", message: expect.stringContaining("runta volume rm data") }));
  // A corrupt volumes column skips the record, like any other corrupt row.
  store.execRawForTests("UPDATE runtimes SET volumes = ? WHERE id = ?", '[{"path": 1}]', record(1).id);
  expect(store.get(record(1).id)).toBeNull();
});

test("reads come from memory, and always match the database: every write is read back once committed", () => {
  for (let n = 1; n <= 4; n++) store.insert(record(n));
  store.update(record(2).id, { status: "paused", labels: { team: "y" } });
  store.touchActivity(record(3).id, "2026-02-01T00:00:00.000Z", "exec");
  store.delete(record(4).id);
  store.insert(record(5, { pool: "small" }));
  store.claimPooled(record(5).id, "small", { name: "claimed", createdAt: "2025-01-01T00:00:00.000Z" });
  // A second store over the same file reads every row from SQLite.
  const fresh = new RuntimeStore(dir);
  try {
    expect(store.all()).toEqual(fresh.all());
    expect(store.all().map((r) => r.name)).toEqual(["claimed", "rt1", "rt2", "rt3"]);
    for (const rec of fresh.all()) expect(store.get(rec.id)).toEqual(rec);
    expect(store.getByName("rt4")).toBeNull();
    expect(store.getByName("claimed")?.id).toBe(record(5).id);
  } finally {
    fresh.close();
  }
});

test("a rename frees the old name at once, and a failed write changes nothing", () => {
  store.insert(record(1));
  store.insert(record(2));
  store.update(record(1).id, { name: "renamed" });
  expect(store.getByName("rt1")).toBeNull();
  expect(store.getByName("renamed")?.id).toBe(record(1).id);
  expect(() => store.update(record(2).id, { name: "renamed" })).toThrowError(/already exists/);
  expect(store.get(record(2).id)).toMatchObject({ name: "rt2", revision: 1 });
  expect(store.getByName("renamed")?.id).toBe(record(1).id);
});

test("records handed out are frozen (maps and lists too): what was derived from one stays true", () => {
  store.insert(record(1, { volumes: [{ volumeId: "v-1", path: "/w", readOnly: false }] }));
  const rec = store.get(record(1).id)!;
  expect(() => ((rec as { name: string }).name = "x")).toThrowError(TypeError);
  expect(() => (rec.labels.team = "y")).toThrowError(TypeError);
  expect(() => rec.volumes.push({ volumeId: "v-2", path: "/x", readOnly: true })).toThrowError(TypeError);
  // A write hands out a new object; the old one is unchanged.
  const after = store.update(rec.id, { labels: { team: "y" } })!;
  expect(after).not.toBe(rec);
  expect(rec.labels).toEqual({ team: "x" });
});

test("lists leave out the daemon's own runtimes (warm pool members, image build runtimes) unless asked with pooled", () => {
  store.insert(record(1));
  store.insert(record(2, { labels: { "runta.build": "default-pkgs-0123456789ab" } }));
  store.insert(record(3, { pool: "small" }));
  store.insert(record(4, { labels: { build: "x", "runta.type": "browser" } }));
  expect(store.list({ limit: 10 }).items.map((r) => r.name)).toEqual(["rt1", "rt4"]);
  expect(store.list({ limit: 10, pooled: true }).items.map((r) => r.name)).toEqual(["rt1", "rt2", "rt3", "rt4"]);
  // Paging counts only what is listed: one per page, the hidden ones never take a page's place.
  const first = store.list({ limit: 1 });
  expect(first.items.map((r) => r.name)).toEqual(["rt1"]);
  expect(store.list({ limit: 1, after: first.nextCursor! }).items.map((r) => r.name)).toEqual(["rt4"]);
  // Still reachable by name or id, as pool members are.
  expect(store.getByName("rt2")?.labels["runta.build"]).toBe("default-pkgs-0123456789ab");
});
