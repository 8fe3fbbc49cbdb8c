/**
 * The `runtimes` table: its SQL (columns added since the first release are added to an older database at open) and
 * the one codec between a {@link RuntimeRecord} and its row (JSON columns for maps and lists; a malformed row throws,
 * and the store decides to skip it).
 */
import type Database from "better-sqlite3";
import type { IdleActivityKind, RuntimeStatus } from "../api/index.js";
import type { PortBinding } from "../api/ports-spec.js";
import type { RuntimeRecord, RuntimeVolume } from "./record.js";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS runtimes (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  status TEXT NOT NULL,
  image TEXT NOT NULL,
  vcpus REAL NOT NULL,
  memory_mib INTEGER NOT NULL,
  env TEXT NOT NULL,
  labels TEXT NOT NULL,
  hostname TEXT,
  description TEXT NOT NULL DEFAULT '',
  exec_timeout_secs INTEGER,
  lifetime_secs INTEGER,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  started_at TEXT,
  revision INTEGER NOT NULL,
  last_error TEXT,
  idle_timeout_secs INTEGER,
  last_activity_at TEXT,
  last_activity_kind TEXT,
  idempotency_key TEXT UNIQUE,
  request_hash TEXT,
  init_pid INTEGER,
  init_start_time INTEGER,
  boot_id TEXT,
  disk_mib INTEGER,
  checkpoint_id TEXT,
  volumes TEXT NOT NULL DEFAULT '[]',
  exit_code INTEGER,
  ports TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS runtimes_created ON runtimes (created_at, id);
`;

const COLUMNS: Record<keyof RuntimeRecord, string> = {
  id: "id",
  name: "name",
  status: "status",
  image: "image",
  vcpus: "vcpus",
  memoryMib: "memory_mib",
  env: "env",
  labels: "labels",
  hostname: "hostname",
  description: "description",
  execTimeoutSecs: "exec_timeout_secs",
  lifetimeSecs: "lifetime_secs",
  createdAt: "created_at",
  updatedAt: "updated_at",
  startedAt: "started_at",
  revision: "revision",
  lastError: "last_error",
  idleTimeoutSecs: "idle_timeout_secs",
  lastActivityAt: "last_activity_at",
  lastActivityKind: "last_activity_kind",
  idempotencyKey: "idempotency_key",
  requestHash: "request_hash",
  initPid: "init_pid",
  initStartTime: "init_start_time",
  bootId: "boot_id",
  diskMib: "disk_mib",
  checkpointId: "checkpoint_id",
  volumes: "volumes",
  exitCode: "exit_code",
  pool: "pool",
  ports: "ports",
};

/** Columns added after the first release, with their types: added to an older database at open. */
const ADDED_COLUMNS: Array<[string, string]> = [
  ["disk_mib", "INTEGER"],
  ["checkpoint_id", "TEXT"],
  ["hostname", "TEXT"],
  ["description", "TEXT NOT NULL DEFAULT ''"],
  ["exec_timeout_secs", "INTEGER"],
  ["lifetime_secs", "INTEGER"],
  ["volumes", "TEXT NOT NULL DEFAULT '[]'"],
  ["exit_code", "INTEGER"],
  ["last_activity_kind", "TEXT"],
  ["pool", "TEXT"],
  ["ports", "TEXT NOT NULL DEFAULT '[]'"],
];
const JSON_FIELDS = new Set<keyof RuntimeRecord>(["env", "labels", "volumes", "ports"]);

/** A row as better-sqlite3 reads and writes it, by column name. */
export type Row = Record<string, unknown>;

/** The columns of a (partial) record, JSON-encoding the map and list fields. */
export function toRow(rec: Partial<RuntimeRecord>): Row {
  const row: Row = {};
  for (const [key, value] of Object.entries(rec) as Array<[keyof RuntimeRecord, unknown]>) {
    if (!(key in COLUMNS)) continue;
    row[COLUMNS[key]] = JSON_FIELDS.has(key) ? JSON.stringify(value) : value;
  }
  return row;
}

function asStringMap(value: unknown, field: string): Record<string, string> {
  const parsed = JSON.parse(String(value)) as unknown;
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed) || Object.values(parsed).some((v) => typeof v !== "string")) {
    throw new Error(`${field} is not a JSON object of strings`);
  }
  return parsed as Record<string, string>;
}

function asPorts(value: unknown): PortBinding[] {
  const parsed = JSON.parse(String(value ?? "[]")) as unknown;
  const ok = (p: unknown): p is PortBinding => {
    const b = p as PortBinding;
    return !!b && Number.isInteger(b.port) && ["http", "https", "tcp"].includes(b.protocol) &&
      (b.hostIp === null || typeof b.hostIp === "string") && (b.hostPort === null || Number.isInteger(b.hostPort));
  };
  if (!Array.isArray(parsed) || !parsed.every(ok)) throw new Error("ports is not a JSON list of published ports");
  return parsed;
}

/** Decodes a row; throws on anything malformed (the caller decides whether to skip it). */
export function fromRow(row: Row): RuntimeRecord {
  const str = (v: unknown) => (v === null || v === undefined ? null : String(v));
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return {
    id: String(row.id),
    name: String(row.name),
    status: String(row.status) as RuntimeStatus,
    image: String(row.image),
    vcpus: Number(row.vcpus),
    memoryMib: Number(row.memory_mib),
    env: asStringMap(row.env, "env"),
    labels: asStringMap(row.labels, "labels"),
    hostname: str(row.hostname),
    description: String(row.description ?? ""),
    execTimeoutSecs: num(row.exec_timeout_secs),
    lifetimeSecs: num(row.lifetime_secs),
    createdAt: String(row.created_at),
    updatedAt: String(row.updated_at),
    startedAt: str(row.started_at),
    revision: Number(row.revision),
    lastError: str(row.last_error),
    idleTimeoutSecs: num(row.idle_timeout_secs),
    lastActivityAt: str(row.last_activity_at),
    lastActivityKind: str(row.last_activity_kind) as IdleActivityKind | null,
    idempotencyKey: str(row.idempotency_key),
    requestHash: str(row.request_hash),
    initPid: num(row.init_pid),
    initStartTime: num(row.init_start_time),
    bootId: str(row.boot_id),
    diskMib: num(row.disk_mib),
    checkpointId: str(row.checkpoint_id),
    volumes: asVolumes(row.volumes),
    exitCode: num(row.exit_code),
    pool: str(row.pool),
    ports: asPorts(row.ports),
  };
}

function asVolumes(value: unknown): RuntimeVolume[] {
  const parsed = JSON.parse(String(value ?? "[]")) as unknown;
  const ok = (v: unknown) =>
    !!v && typeof v === "object" && typeof (v as RuntimeVolume).volumeId === "string" && typeof (v as RuntimeVolume).path === "string" && typeof (v as RuntimeVolume).readOnly === "boolean";
  if (!Array.isArray(parsed) || !parsed.every(ok)) throw new Error("volumes is not a JSON array of volume mounts");
  return parsed as RuntimeVolume[];
}

/** Creates the table if needed and adds the columns an older database lacks. */
export function createRuntimesTable(db: Database.Database): void {
  db.exec(SCHEMA);
  const have = new Set((db.prepare("PRAGMA table_info(runtimes)").all() as Array<{ name: string }>).map((c) => c.name));
  for (const [col, type] of ADDED_COLUMNS) if (!have.has(col)) db.exec(`ALTER TABLE runtimes ADD COLUMN ${col} ${type}`);
}
