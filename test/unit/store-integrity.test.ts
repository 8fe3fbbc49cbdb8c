/** store/integrity.ts: the write-ahead log check on logs SQLite really wrote, damaged on purpose, and backups. */
import Database from "better-sqlite3";
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "vitest";
import { BACKUPS_KEPT, backupDatabase, checkWal } from "../../src/store/integrity.js";
import { RuntimeStore } from "../../src/store/store.js";

/** A database whose log holds `n` commits (copied while the connection is open, before any checkpoint). */
function walWith(n: number): string {
  const dir = mkdtempSync(join(tmpdir(), "wal-"));
  const db = new Database(join(dir, "live.db"));
  db.pragma("journal_mode = WAL");
  db.exec("CREATE TABLE t (x)");
  for (let i = 0; i < n; i++) db.prepare("INSERT INTO t VALUES (?)").run(`row ${i}`);
  copyFileSync(join(dir, "live.db"), join(dir, "copy.db"));
  copyFileSync(join(dir, "live.db-wal"), join(dir, "copy.db-wal"));
  db.close();
  return join(dir, "copy.db");
}

test("an intact log reads whole; no log is no damage", () => {
  const db = walWith(5);
  expect(checkWal(db)).toMatchObject({ damage: null, commits: 6 });
  expect(checkWal(join(tmpdir(), "no-such.db"))).toEqual({ frames: 0, commits: 0, damage: null });
});

test("a flipped byte in a frame, a log cut mid-frame and a damaged header are each reported", () => {
  const flipped = walWith(5);
  const buf = readFileSync(`${flipped}-wal`);
  buf[buf.length - 10]! ^= 0x01;
  writeFileSync(`${flipped}-wal`, buf);
  expect(checkWal(flipped).damage).toMatch(/^frame \d+ fails its checksum/);

  const cut = walWith(5);
  truncateSync(`${cut}-wal`, statSync(`${cut}-wal`).size - 100);
  expect(checkWal(cut).damage).toMatch(/cut short/);

  const header = walWith(1);
  const h = readFileSync(`${header}-wal`);
  h[17]! ^= 0xff;
  writeFileSync(`${header}-wal`, h);
  expect(checkWal(header).damage).toMatch(/header fails its checksum/);
});

test("a store opened on a damaged log keeps a copy of it and says why", () => {
  const db = walWith(3);
  const buf = readFileSync(`${db}-wal`);
  buf[buf.length - 10]! ^= 0x01;
  writeFileSync(`${db}-wal`, buf);
  // RuntimeStore opens <dataDir>/runta.db.
  const dataDir = mkdtempSync(join(tmpdir(), "store-"));
  copyFileSync(db, join(dataDir, "runta.db"));
  copyFileSync(`${db}-wal`, join(dataDir, "runta.db-wal"));
  const store = new RuntimeStore(dataDir);
  expect(store.walDamage).toMatch(/fails its checksum/);
  expect(readdirSync(dataDir).some((n) => n.startsWith("runta.db-wal.damaged-"))).toBe(true);
  store.close();
});

test("an unreadable database is refused naming the file and the fix", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "store-"));
  writeFileSync(join(dataDir, "runta.db"), Buffer.alloc(8192, 7));
  expect(() => new RuntimeStore(dataDir)).toThrow(new RegExp(`database ${join(dataDir, "runta.db")} is unreadable \\(file is not a database\\).*backups`));
});

test("backups are consistent copies, the newest kept", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "store-"));
  const store = new RuntimeStore(dataDir);
  store.setMeta("k", "v");
  let last = "";
  for (let i = 0; i < BACKUPS_KEPT + 2; i++) last = await backupDatabase(store.db, dataDir);
  expect(readdirSync(join(dataDir, "backups"))).toHaveLength(BACKUPS_KEPT);
  const copy = new Database(last, { readonly: true });
  expect(copy.prepare("SELECT value FROM meta WHERE key = 'k'").get()).toEqual({ value: "v" });
  copy.close();
  store.close();
});
