/**
 * The database's integrity at open, and its backups. SQLite replays its write-ahead log (`runta.db-wal`) up to the
 * last intact commit and silently drops the rest, so a WAL with bytes flipped or cut short loses the newest records
 * without an error: {@link checkWal} reads the log first (https://sqlite.org/fileformat.html#the_write_ahead_log) and
 * says whether frames of the current log generation fail their checksums or end mid-frame, so the daemon can say so
 * and keep a copy of the damaged log beside it; the records are then rebuilt from the runtime directories
 * (engine/recover.ts). A main database SQLite cannot read stops the daemon with {@link unreadableDatabase}, which
 * names the file and the fix: restore the newest backup, which {@link backupDatabase} takes at a consistent point
 * (SQLite's online backup) at every start and every hour, keeping the last {@link BACKUPS_KEPT}.
 */
import type Database from "better-sqlite3";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { RuntaError } from "../api/index.js";
import type { Logger } from "../log.js";

/** Backups kept under `<dataDir>/backups/`. */
export const BACKUPS_KEPT = 5;
/** How often the database is backed up while the daemon runs (and once at every start). */
const BACKUP_EVERY_MS = 60 * 60 * 1000;
const WAL_HEADER = 32;
const FRAME_HEADER = 24;

/** What a look at the write-ahead log found. */
export interface WalCheck {
  /** Intact frames of the current generation, and how many of them end a transaction. */
  frames: number;
  commits: number;
  /** Why the log is damaged (frames SQLite will drop), or null when it reads whole. */
  damage: string | null;
}

/** SQLite's WAL checksum over `buf` (a multiple of 8 bytes), continuing from `s`. */
function walChecksum(buf: Buffer, bigEndian: boolean, s: [number, number]): [number, number] {
  let [s0, s1] = s;
  for (let i = 0; i < buf.length; i += 8) {
    const x0 = bigEndian ? buf.readUInt32BE(i) : buf.readUInt32LE(i);
    const x1 = bigEndian ? buf.readUInt32BE(i + 4) : buf.readUInt32LE(i + 4);
    s0 = (s0 + x0 + s1) >>> 0;
    s1 = (s1 + x1 + s0) >>> 0;
  }
  return [s0, s1];
}

/** Reads `<db>-wal` (when there is one) and reports frames SQLite would drop as damaged. */
export function checkWal(dbPath: string): WalCheck {
  const path = `${dbPath}-wal`;
  if (!existsSync(path)) return { frames: 0, commits: 0, damage: null };
  const wal = readFileSync(path);
  if (wal.length === 0) return { frames: 0, commits: 0, damage: null };
  if (wal.length < WAL_HEADER) return { frames: 0, commits: 0, damage: `the log is ${wal.length} bytes, shorter than its header` };
  const magic = wal.readUInt32BE(0);
  if (magic !== 0x377f0682 && magic !== 0x377f0683) return { frames: 0, commits: 0, damage: "its header is not a SQLite log header" };
  const bigEndian = (magic & 1) === 1;
  const pageSize = wal.readUInt32BE(8);
  const salt1 = wal.readUInt32BE(16);
  const salt2 = wal.readUInt32BE(20);
  let sum = walChecksum(wal.subarray(0, 24), bigEndian, [0, 0]);
  if (sum[0] !== wal.readUInt32BE(24) || sum[1] !== wal.readUInt32BE(28)) {
    return { frames: 0, commits: 0, damage: "its header fails its checksum (every change since the last checkpoint is dropped)" };
  }
  const frameSize = FRAME_HEADER + pageSize;
  let frames = 0;
  let commits = 0;
  for (let off = WAL_HEADER; off < wal.length; off += frameSize) {
    if (off + frameSize > wal.length) return { frames, commits, damage: `it ends ${wal.length - off} bytes into frame ${frames + 1} (cut short)` };
    // A frame of an older generation (other salts) is left over from before a checkpoint: the end of the log, not damage.
    if (wal.readUInt32BE(off + 8) !== salt1 || wal.readUInt32BE(off + 12) !== salt2) break;
    sum = walChecksum(wal.subarray(off, off + 8), bigEndian, sum);
    sum = walChecksum(wal.subarray(off + FRAME_HEADER, off + frameSize), bigEndian, sum);
    if (sum[0] !== wal.readUInt32BE(off + 16) || sum[1] !== wal.readUInt32BE(off + 20)) {
      return { frames, commits, damage: `frame ${frames + 1} fails its checksum (it and every later frame are dropped)` };
    }
    frames++;
    if (wal.readUInt32BE(off + 4) !== 0) commits++;
  }
  return { frames, commits, damage: null };
}

/** The error for a database SQLite cannot read: the file, what SQLite said, and how to get back to a working state. */
export function unreadableDatabase(dbPath: string, dataDir: string, cause: Error): RuntaError {
  const backups = join(dataDir, "backups");
  return new RuntaError(
    "unavailable",
    `the daemon's database ${dbPath} is unreadable (${cause.message}). To restore the newest backup: ls -t ${backups}/ | head -1, then ` +
      `mv ${dbPath} ${dbPath}.damaged; rm -f ${dbPath}-wal ${dbPath}-shm; cp ${backups}/<that file> ${dbPath}; and start the daemon again ` +
      `(runtimes created after the backup are recovered from ${join(dataDir, "runtimes")} as it starts). With no backup, move the file aside the same way: ` +
      `the daemon starts with an empty database and recovers the runtimes from their directories`,
    { cause, details: { file: dbPath, backups } },
  );
}

/**
 * Copies the database to `<dataDir>/backups/runta-<time>.db` with SQLite's online backup (a consistent snapshot,
 * writes go on meanwhile) and removes all but the newest {@link BACKUPS_KEPT}. Returns the new file.
 */
export async function backupDatabase(db: Database.Database, dataDir: string): Promise<string> {
  const dir = join(dataDir, "backups");
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, `runta-${new Date().toISOString().replace(/[:.]/g, "-")}.db`);
  await db.backup(file);
  const all = (await readdir(dir)).filter((n) => /^runta-.*\.db$/.test(n)).sort();
  await Promise.all(all.slice(0, Math.max(0, all.length - BACKUPS_KEPT)).map((n) => rm(join(dir, n), { force: true })));
  return file;
}

/** The daemon's backups: one at start, then every hour until closed; a failure is logged, not fatal. */
export class DatabaseBackups {
  private timer?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly db: Database.Database,
    private readonly dataDir: string,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    await this.backUp();
    this.timer = setInterval(() => void this.backUp(), BACKUP_EVERY_MS).unref();
  }

  close(): void {
    this.closed = true;
    clearInterval(this.timer);
  }

  /** A consistent copy under `<dataDir>/backups/` ({@link backupDatabase}). */
  private async backUp(): Promise<void> {
    if (this.closed) return;
    await backupDatabase(this.db, this.dataDir).catch((err: Error) => this.logger.error("could not back up the database", { error: err.message }));
  }
}
