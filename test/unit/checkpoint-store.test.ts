/** The checkpoint table and the runtime table's added columns (disk size, checkpoint) on old and new databases. */
import Database from "better-sqlite3";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, test } from "vitest";
import { CheckpointStore, type CheckpointRecord } from "../../src/store/checkpoints.js";
import { RuntimeStore } from "../../src/store/store.js";

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "runta-cpstore-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function checkpoint(over: Partial<CheckpointRecord> = {}): CheckpointRecord {
  return {
    id: "0b6c3c1e-7a53-4f0e-9d6e-1b2c3d4e5f60",
    name: "golden",
    state: "creating",
    kind: "full",
    sourceRuntime: "worker",
    sourceRuntimeId: "rt-1",
    image: "busybox",
    parentId: null,
    createdAt: new Date().toISOString(),
    sizeBytes: 0,
    error: null,
    pausedSource: true,
    ...over,
  };
}

test("a database from before disk sizes and checkpoints gets the new columns, its rows read as null", () => {
  const db = new Database(join(dir, "runta.db"));
  db.exec(`CREATE TABLE runtimes (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, status TEXT NOT NULL, image TEXT NOT NULL, vcpus REAL NOT NULL,
    memory_mib INTEGER NOT NULL, env TEXT NOT NULL, labels TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, started_at TEXT,
    revision INTEGER NOT NULL, last_error TEXT, idle_timeout_secs INTEGER, last_activity_at TEXT, idempotency_key TEXT UNIQUE, request_hash TEXT,
    init_pid INTEGER, init_start_time INTEGER, boot_id TEXT)`);
  db.prepare("INSERT INTO runtimes VALUES ('a', 'old', 'shutdown', 'busybox', 1, 64, '{}', '{}', 'x', 'x', NULL, 1, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)").run();
  db.close();
  const store = new RuntimeStore(dir);
  try {
    expect(store.get("a")).toMatchObject({ name: "old", diskMib: null, checkpointId: null });
    expect(store.update("a", { diskMib: 2048, checkpointId: "cp" })).toMatchObject({ diskMib: 2048, checkpointId: "cp" });
  } finally {
    store.close();
  }
});

test("checkpoint records go creating → ready, names are unique, and they survive a reopen", () => {
  let store = new RuntimeStore(dir);
  const cps = new CheckpointStore(store.db);
  cps.insert(checkpoint());
  expect(() => cps.insert(checkpoint({ id: "another" }))).toThrow(/already exists/);
  cps.update(checkpoint().id, { state: "ready", sizeBytes: 4096, pausedSource: false });
  store.close();
  store = new RuntimeStore(dir);
  try {
    const again = new CheckpointStore(store.db);
    expect(again.getByName("golden")).toMatchObject({ state: "ready", sizeBytes: 4096, pausedSource: false, parentId: null });
    expect(again.all()).toHaveLength(1);
    again.delete(checkpoint().id);
    expect(again.get(checkpoint().id)).toBeNull();
  } finally {
    store.close();
  }
});
