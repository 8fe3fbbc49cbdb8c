/**
 * Durable warm-pool definitions, in the `pools` table of the runtime store's database. The members themselves are
 * runtime records with `pool` set (store.ts), so a daemon restart adopts them like any runtime.
 */
import type Database from "better-sqlite3";

/** One pool as stored: the shape of its runtimes and how many to keep booted. */
export interface PoolRecord {
  name: string;
  image: string;
  vcpus: number;
  memoryMib: number;
  min: number;
  max: number;
  createdAt: string;
  updatedAt: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS pools (
  name TEXT PRIMARY KEY,
  image TEXT NOT NULL,
  vcpus REAL NOT NULL,
  memory_mib INTEGER NOT NULL,
  min INTEGER NOT NULL,
  max INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
`;

type Row = Record<string, unknown>;

function fromRow(r: Row): PoolRecord {
  return {
    name: String(r.name),
    image: String(r.image),
    vcpus: Number(r.vcpus),
    memoryMib: Number(r.memory_mib),
    min: Number(r.min),
    max: Number(r.max),
    createdAt: String(r.created_at),
    updatedAt: String(r.updated_at),
  };
}

export class PoolStore {
  constructor(private readonly db: Database.Database) {
    db.exec(SCHEMA);
  }

  /** Creates or replaces a pool (its creation time is kept on replace). */
  put(p: Omit<PoolRecord, "createdAt" | "updatedAt">): PoolRecord {
    const now = new Date().toISOString();
    this.db
      .prepare(
        `INSERT INTO pools (name, image, vcpus, memory_mib, min, max, created_at, updated_at)
         VALUES (@name, @image, @vcpus, @memoryMib, @min, @max, @now, @now)
         ON CONFLICT(name) DO UPDATE SET image = @image, vcpus = @vcpus, memory_mib = @memoryMib, min = @min, max = @max, updated_at = @now`,
      )
      .run({ ...p, now });
    return this.get(p.name)!;
  }

  get(name: string): PoolRecord | null {
    const row = this.db.prepare("SELECT * FROM pools WHERE name = ?").get(name) as Row | undefined;
    return row ? fromRow(row) : null;
  }

  /** Every pool, by name. */
  list(): PoolRecord[] {
    return (this.db.prepare("SELECT * FROM pools ORDER BY name").all() as Row[]).map(fromRow);
  }

  delete(name: string): void {
    this.db.prepare("DELETE FROM pools WHERE name = ?").run(name);
  }
}
