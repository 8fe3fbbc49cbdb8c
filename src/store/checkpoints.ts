/**
 * Durable checkpoint records, in the `checkpoints` table of the runtime store's database. A record is inserted as
 * `creating` before any copying starts and becomes `ready` only after its layer is complete and synced, so a daemon
 * killed in between leaves a `creating` record that the next start turns into `error` (never a half-ready one).
 */
import type Database from "better-sqlite3";
import { RuntaError, type Checkpoint } from "../api/index.js";

/** One checkpoint as stored. */
export interface CheckpointRecord {
  id: string;
  name: string;
  state: Checkpoint["state"];
  kind: Checkpoint["kind"];
  sourceRuntime: string;
  sourceRuntimeId: string;
  image: string;
  /** The checkpoint the source stood on: its layers lie under this one's. */
  parentId: string | null;
  createdAt: string;
  sizeBytes: number;
  error: string | null;
  /** Whether this checkpoint paused its source (running before): a restart after a crash resumes it. */
  pausedSource: boolean;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS checkpoints (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  state TEXT NOT NULL,
  kind TEXT NOT NULL,
  source_runtime TEXT NOT NULL,
  source_runtime_id TEXT NOT NULL,
  image TEXT NOT NULL,
  parent_id TEXT,
  created_at TEXT NOT NULL,
  size_bytes INTEGER NOT NULL,
  error TEXT,
  paused_source INTEGER NOT NULL
);
`;

type Row = Record<string, unknown>;

function fromRow(r: Row): CheckpointRecord {
  return {
    id: String(r.id),
    name: String(r.name),
    state: String(r.state) as CheckpointRecord["state"],
    kind: String(r.kind) as CheckpointRecord["kind"],
    sourceRuntime: String(r.source_runtime),
    sourceRuntimeId: String(r.source_runtime_id),
    image: String(r.image),
    parentId: r.parent_id === null || r.parent_id === undefined ? null : String(r.parent_id),
    createdAt: String(r.created_at),
    sizeBytes: Number(r.size_bytes),
    error: r.error === null || r.error === undefined ? null : String(r.error),
    pausedSource: Number(r.paused_source) === 1,
  };
}

/** The checkpoint table. */
export class CheckpointStore {
  constructor(private readonly db: Database.Database) {
    db.exec(SCHEMA);
  }

  /** Inserts a new record; a taken name is `already_exists`. */
  insert(rec: CheckpointRecord): void {
    try {
      this.db
        .prepare(
          `INSERT INTO checkpoints (id, name, state, kind, source_runtime, source_runtime_id, image, parent_id, created_at, size_bytes, error, paused_source)
           VALUES (@id, @name, @state, @kind, @sourceRuntime, @sourceRuntimeId, @image, @parentId, @createdAt, @sizeBytes, @error, @pausedSource)`,
        )
        .run({ ...rec, pausedSource: rec.pausedSource ? 1 : 0 });
    } catch (err) {
      if (/UNIQUE constraint failed: checkpoints\.name/.test(String((err as Error).message))) {
        throw new RuntaError("already_exists", `a checkpoint named "${rec.name}" already exists; pick another name or remove it first: runta checkpoint rm ${rec.name}`, {
          details: { field: "name" },
        });
      }
      throw err;
    }
  }

  /** Changes state, size, error or the paused flag. */
  update(id: string, patch: Partial<Pick<CheckpointRecord, "state" | "sizeBytes" | "error" | "pausedSource">>): void {
    const cols: Record<string, unknown> = {};
    if (patch.state !== undefined) cols.state = patch.state;
    if (patch.sizeBytes !== undefined) cols.size_bytes = patch.sizeBytes;
    if (patch.error !== undefined) cols.error = patch.error;
    if (patch.pausedSource !== undefined) cols.paused_source = patch.pausedSource ? 1 : 0;
    const sets = Object.keys(cols).map((c) => `${c} = @${c}`);
    if (!sets.length) return;
    this.db.prepare(`UPDATE checkpoints SET ${sets.join(", ")} WHERE id = @id`).run({ ...cols, id });
  }

  get(id: string): CheckpointRecord | null {
    const row = this.db.prepare("SELECT * FROM checkpoints WHERE id = ?").get(id) as Row | undefined;
    return row ? fromRow(row) : null;
  }

  getByName(name: string): CheckpointRecord | null {
    const row = this.db.prepare("SELECT * FROM checkpoints WHERE name = ?").get(name) as Row | undefined;
    return row ? fromRow(row) : null;
  }

  /** Every checkpoint, oldest first. */
  all(): CheckpointRecord[] {
    return (this.db.prepare("SELECT * FROM checkpoints ORDER BY created_at, id").all() as Row[]).map(fromRow);
  }

  delete(id: string): void {
    this.db.prepare("DELETE FROM checkpoints WHERE id = ?").run(id);
  }
}
