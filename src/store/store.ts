/**
 * Durable runtime records in SQLite (better-sqlite3, WAL) at `<dataDir>/runta.db`. Every write is committed
 * before the call returns, so a state the API reported survives a daemon crash. Reads skip (and log) a row that
 * cannot be decoded instead of failing: one corrupt record must not hide the others.
 */
import Database from "better-sqlite3";
import { copyFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { RuntaError, type IdleActivityKind, type RuntimeStatus } from "../api/index.js";
import { silentLogger, type Logger } from "../log.js";
import { checkWal, unreadableDatabase } from "./integrity.js";
import type { RecordPage, RecordPatch, RuntimeRecord } from "./record.js";
import { createRuntimesTable, fromRow, toRow, type Row } from "./runtime-rows.js";
import { RecordIndex } from "./record-index.js";

/** Encodes a list position as an opaque cursor. */
export function encodeCursor(createdAt: string, id: string): string {
  return Buffer.from(JSON.stringify([createdAt, id])).toString("base64url");
}

/** Decodes a cursor from {@link encodeCursor}; anything else is `invalid_argument`. */
export function decodeCursor(cursor: string): [string, string] {
  try {
    const value = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as unknown;
    if (Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === "string")) return value as [string, string];
  } catch {
    // fall through to the error below
  }
  throw new RuntaError("invalid_argument", "after: not a cursor this server issued; pass next_cursor from the previous page");
}

/**
 * The SQLite-backed record store. Reads come from memory ({@link RecordIndex}): this process is the table's only
 * writer, and every write is read back from SQLite into the index once committed.
 */
export class RuntimeStore {
  /** Also holds the checkpoint and volume tables (store/checkpoints.ts, store/volumes.ts). */
  readonly db: Database.Database;
  private readonly logger: Logger;
  /** Prepared statements by SQL text: preparing costs more than running on the hot paths (get, update). */
  private readonly statements = new Map<string, Database.Statement>();
  /** Every decodable record, as last committed. */
  private readonly index = new RecordIndex();

  /** Why the write-ahead log was damaged at open (its newest commits were dropped), or null. */
  readonly walDamage: string | null;
  readonly path: string;

  /**
   * Opens (creating if needed) `<dataDir>/runta.db`. A damaged write-ahead log is copied aside (`runta.db-wal.damaged-
   * <time>`) and reported in {@link walDamage}; a database SQLite cannot read throws `unavailable` naming the file
   * and the fix (store/integrity.ts).
   */
  constructor(dataDir: string, logger: Logger = silentLogger) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    this.logger = logger;
    this.path = join(dataDir, "runta.db");
    const wal = checkWal(this.path);
    this.walDamage = wal.damage;
    if (wal.damage) {
      const copy = `${this.path}-wal.damaged-${new Date().toISOString().replace(/[:.]/g, "-")}`;
      copyFileSync(`${this.path}-wal`, copy);
      logger.error("the database's write-ahead log is damaged: SQLite drops its newest changes; runtimes whose records they held are recovered from their directories", {
        file: `${this.path}-wal`,
        damage: wal.damage,
        intact_commits: wal.commits,
        copy,
      });
    }
    try {
      this.db = new Database(this.path);
      this.db.pragma("journal_mode = WAL");
      // NORMAL in WAL mode still survives a process crash (only a power loss can drop the last commits).
      this.db.pragma("synchronous = NORMAL");
      this.db.pragma("busy_timeout = 5000");
      const check = this.db.pragma("quick_check", { simple: true });
      if (check !== "ok") throw Object.assign(new Error(`quick_check: ${String(check)}`), { code: "SQLITE_CORRUPT" });
      createRuntimesTable(this.db);
      this.db.exec("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
      this.loadAll();
    } catch (err) {
      (this as { db?: Database.Database }).db?.close();
      const code = String((err as { code?: unknown }).code ?? "");
      if (/^SQLITE_(NOTADB|CORRUPT)/.test(code)) throw unreadableDatabase(this.path, dataDir, err as Error);
      throw err;
    }
  }

  /** Inserts a new record; a taken name or idempotency key is `already_exists`. */
  insert(rec: RuntimeRecord): void {
    const row = toRow(rec);
    const cols = Object.keys(row);
    try {
      this.stmt(`INSERT INTO runtimes (${cols.join(", ")}) VALUES (${cols.map((c) => "@" + c).join(", ")})`).run(row);
      this.reload(rec.id);
    } catch (err) {
      const msg = String((err as Error).message);
      if (/UNIQUE constraint failed: runtimes\.name/.test(msg)) throw nameTaken(rec.name);
      if (/UNIQUE constraint failed: runtimes\.idempotency_key/.test(msg)) {
        throw new RuntaError("already_exists", "this Idempotency-Key was already used for another request", { details: { field: "Idempotency-Key" } });
      }
      throw err;
    }
  }

  /** Applies a patch, bumps the revision and returns the new record (null if the id is gone). */
  update(id: string, patch: RecordPatch): RuntimeRecord | null {
    const row = toRow(patch);
    const sets = Object.keys(row).map((c) => `${c} = @${c}`);
    sets.push("revision = revision + 1", "updated_at = @updated_at");
    try {
      this.stmt(`UPDATE runtimes SET ${sets.join(", ")} WHERE id = @id`).run({ ...row, updated_at: new Date().toISOString(), id });
    } catch (err) {
      if (patch.name !== undefined && /UNIQUE constraint failed: runtimes\.name/.test(String((err as Error).message))) throw nameTaken(patch.name);
      throw err;
    }
    return this.reload(id);
  }

  /** Records the latest activity without bumping the revision: activity is not a change of the runtime itself. */
  touchActivity(id: string, at: string, kind: IdleActivityKind | null): void {
    this.stmt("UPDATE runtimes SET last_activity_at = ?, last_activity_kind = ? WHERE id = ?").run(at, kind, id);
    this.reload(id);
  }

  /** One record by id, or null (also when the row is corrupt; a warning is logged). */
  get(id: string): RuntimeRecord | null {
    return this.index.get(id);
  }

  /** Whether a row with this id exists, decodable or not. */
  has(id: string): boolean {
    return this.stmt("SELECT 1 FROM runtimes WHERE id = ?").get(id) !== undefined;
  }

  /** One record by name, or null. */
  getByName(name: string): RuntimeRecord | null {
    return this.index.getByName(name);
  }

  /** The record created with an idempotency key, or null. */
  getByIdempotencyKey(key: string): RuntimeRecord | null {
    return this.index.filter((rec) => rec.idempotencyKey === key)[0] ?? null;
  }

  /** Running, paused or suspended records with a lifetime (what the lifetime sweep looks at every second). */
  withLifetime(): RuntimeRecord[] {
    return this.index.filter((rec) => rec.lifetimeSecs !== null && (rec.status === "running" || rec.status === "paused" || rec.status === "suspended"));
  }

  /** Running records with an idle timeout (what the idle keeper looks at every second). */
  withIdleTimeout(): RuntimeRecord[] {
    return this.index.filter((rec) => rec.idleTimeoutSecs !== null && rec.status === "running");
  }

  /** Every decodable record, oldest first. */
  all(): RuntimeRecord[] {
    return this.index.filter(() => true);
  }

  /** How many records there are, decodable or not (every row holds a runtime's resources). */
  count(): number {
    return (this.stmt("SELECT COUNT(*) AS n FROM runtimes").get() as { n: number }).n;
  }

  /** A page ordered by (created_at, id), optionally filtered by status. */
  list(opts: { status?: RuntimeStatus[]; limit: number; after?: string; pooled?: boolean }): RecordPage {
    // Warm pool members are not users' runtimes: listed only when asked for (runta ps --pooled).
    const after = opts.after ? decodeCursor(opts.after) : undefined;
    const { items, more } = this.index.page({ ...opts, after: after && { createdAt: after[0], id: after[1] } });
    const last = items[items.length - 1];
    return { items, nextCursor: more && last ? encodeCursor(last.createdAt, last.id) : null };
  }

  /**
   * Hands a ready warm-pool member to a create: it leaves its pool and takes the create's identity (name, env, labels,
   * …) and creation time, as if created now. Null when the member is gone or already taken (another create was first).
   */
  claimPooled(id: string, pool: string, patch: RecordPatch & { createdAt: string }): RuntimeRecord | null {
    const { createdAt, ...rest } = patch;
    const row = toRow(rest);
    const sets = Object.keys(row).map((c) => `${c} = @${c}`);
    // Revision 2, as a fresh create ends (inserted at 1, running at 2).
    sets.push("pool = NULL", "created_at = @created_at", "updated_at = @created_at", "revision = 2");
    let changed: number;
    try {
      changed = this.stmt(`UPDATE runtimes SET ${sets.join(", ")} WHERE id = @id AND pool = @pool AND status = 'running'`).run({ ...row, created_at: createdAt, id, pool }).changes;
    } catch (err) {
      if (rest.name !== undefined && /UNIQUE constraint failed: runtimes\.name/.test(String((err as Error).message))) throw nameTaken(rest.name);
      if (/UNIQUE constraint failed: runtimes\.idempotency_key/.test(String((err as Error).message))) {
        throw new RuntaError("already_exists", "this Idempotency-Key was already used for another request", { details: { field: "Idempotency-Key" } });
      }
      throw err;
    }
    return changed ? this.reload(id) : null;
  }

  /** The members of warm pools (all pools, or one), oldest first. */
  poolMembers(pool?: string): RuntimeRecord[] {
    return this.index.filter((rec) => rec.pool !== null && (pool === undefined || rec.pool === pool));
  }

  /** Removes a record. */
  delete(id: string): void {
    this.stmt("DELETE FROM runtimes WHERE id = ?").run(id);
    this.index.remove(id);
  }

  /** Reads a value of the small key/value table (e.g. the boot id of the last daemon start). */
  getMeta(key: string): string | null {
    const row = this.stmt("SELECT value FROM meta WHERE key = ?").get(key) as { value: string } | undefined;
    return row?.value ?? null;
  }

  /** Writes a value of the key/value table. */
  setMeta(key: string, value: string): void {
    this.stmt("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(key, value);
  }

  /** Runs raw SQL; only for tests that need to damage a row on purpose. */
  execRawForTests(sql: string, ...params: unknown[]): void {
    this.db.prepare(sql).run(...params);
    this.loadAll();
  }

  /** Closes the database. */
  close(): void {
    this.db.close();
  }

  private stmt(sql: string): Database.Statement {
    let st = this.statements.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.statements.set(sql, st);
    }
    return st;
  }

  /** Reads every row into the index; one that cannot be decoded is logged and left out. */
  private loadAll(): void {
    const rows = this.stmt("SELECT * FROM runtimes").all() as Row[];
    this.index.reset(rows.map((r) => this.decode(r)).filter((r): r is RuntimeRecord => r !== null));
  }

  /** Reads a row just written back into the index (a row that cannot be decoded leaves it: a warning is logged). */
  private reload(id: string): RuntimeRecord | null {
    const rec = this.decode(this.stmt("SELECT * FROM runtimes WHERE id = ?").get(id) as Row | undefined);
    if (rec) return this.index.put(rec);
    this.index.remove(id);
    return null;
  }

  private decode(row: Row | undefined): RuntimeRecord | null {
    if (!row) return null;
    try {
      return fromRow(row);
    } catch (err) {
      this.logger.warn("skipping a runtime record that cannot be read", { id: String(row.id), name: String(row.name), error: (err as Error).message });
      return null;
    }
  }
}

/** The name another runtime has (insert and rename): the fix in the message. */
function nameTaken(name: string): RuntaError {
  return new RuntaError("already_exists", `a runtime named "${name}" already exists; pick another name or remove it first: runta rm ${name}`, {
    details: { field: "name" },
  });
}
