/**
 * Durable volume records, in the `volumes` table of the runtime store's database. A record is inserted only once its
 * disk is formatted and mounted (engine/volumes/), so a record always names a whole volume.
 */
import type Database from "better-sqlite3";
import { RuntaError } from "../api/index.js";

/** One volume as stored. */
export interface VolumeRecord {
  id: string;
  name: string;
  sizeMib: number;
  createdAt: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS volumes (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  size_mib INTEGER NOT NULL,
  created_at TEXT NOT NULL
);
`;

type Row = Record<string, unknown>;

const fromRow = (r: Row): VolumeRecord => ({ id: String(r.id), name: String(r.name), sizeMib: Number(r.size_mib), createdAt: String(r.created_at) });

/** The volume table. */
export class VolumeStore {
  constructor(private readonly db: Database.Database) {
    db.exec(SCHEMA);
  }

  /** Inserts a new record; a taken name is `already_exists`. */
  insert(rec: VolumeRecord): void {
    try {
      this.db.prepare("INSERT INTO volumes (id, name, size_mib, created_at) VALUES (@id, @name, @sizeMib, @createdAt)").run(rec);
    } catch (err) {
      if (/UNIQUE constraint failed: volumes\.name/.test(String((err as Error).message))) throw volumeNameTaken(rec.name);
      throw err;
    }
  }

  get(id: string): VolumeRecord | null {
    const row = this.db.prepare("SELECT * FROM volumes WHERE id = ?").get(id) as Row | undefined;
    return row ? fromRow(row) : null;
  }

  getByName(name: string): VolumeRecord | null {
    const row = this.db.prepare("SELECT * FROM volumes WHERE name = ?").get(name) as Row | undefined;
    return row ? fromRow(row) : null;
  }

  /** Every volume, oldest first. */
  all(): VolumeRecord[] {
    return (this.db.prepare("SELECT * FROM volumes ORDER BY created_at, id").all() as Row[]).map(fromRow);
  }

  count(): number {
    return (this.db.prepare("SELECT COUNT(*) AS n FROM volumes").get() as { n: number }).n;
  }

  /** Records a grown volume's new size (its disk already grew). */
  setSize(id: string, sizeMib: number): void {
    this.db.prepare("UPDATE volumes SET size_mib = ? WHERE id = ?").run(sizeMib, id);
  }

  delete(id: string): void {
    this.db.prepare("DELETE FROM volumes WHERE id = ?").run(id);
  }
}

/** The name another volume has, with the fix. */
export function volumeNameTaken(name: string): RuntaError {
  return new RuntaError("already_exists", `a volume named "${name}" already exists; pick another name or remove it first: runta volume rm ${name}`, {
    details: { field: "name" },
  });
}
