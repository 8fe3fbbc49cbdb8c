/**
 * A damaged database on a daemon with its own data dir: bytes flipped in, or truncation of, the write-ahead log make
 * SQLite drop the newest records silently; the daemon says so, keeps a copy of the damaged log, and rebuilds the lost
 * records from the runtime directories (their runtimes still run: listed, adopted, removable). A main database SQLite
 * cannot read stops the daemon with a message naming the file and the fix, and the backup it names restores it.
 */
import { copyFileSync, existsSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "vitest";
import { daemonSuite } from "../helpers/daemon-suite.js";

const d = daemonSuite().daemon;

const wal = () => join(d.dataDir, "runta.db-wal");
const names = async () => (await d.client().runtimes.list()).map((r) => r.name).sort();

/** Creates runtimes, then kills the daemon (its log is not checkpointed) and damages the log with `damage`. */
async function loseNewest(prefix: string, damage: (path: string) => void) {
  const runta = d.client();
  const a = await runta.runtimes.create(`${prefix}-a`, { image: "busybox", memoryMiB: 64, labels: { team: "x" }, description: "kept" });
  const b = await runta.runtimes.create(`${prefix}-b`, { image: "busybox", memoryMiB: 96 });
  await d.kill();
  expect(statSync(wal()).size).toBeGreaterThan(0);
  damage(wal());
  await d.restart();
  return [a, b];
}

test("bytes flipped in the WAL: the lost records come back from their runtime directories, running and removable", async () => {
  const [a, b] = await loseNewest("flip", (path) => {
    const buf = readFileSync(path);
    // The header's own checksum fails: SQLite ignores the whole log (every change since the last checkpoint).
    for (let i = 16; i < 24; i++) buf[i]! ^= 0xff;
    writeFileSync(path, buf);
  });
  expect(d.logs()).toContain("write-ahead log is damaged");
  expect(readdirSync(d.dataDir).some((n) => n.startsWith("runta.db-wal.damaged-"))).toBe(true);
  expect(await names()).toEqual(expect.arrayContaining(["flip-a", "flip-b"]));
  const ra = (await d.client().runtimes.get(a!.id)).record;
  expect(ra).toMatchObject({ name: "flip-a", status: "running", image: "busybox", labels: { team: "x" }, description: "kept", resources: { requests: { memory_mib: 64 } } });
  expect(ra.last_error).toMatch(/recovered at .* the daemon's database had lost this runtime's record/);
  expect((await d.client().runtimes.get(b!.id)).record).toMatchObject({ status: "running", resources: { requests: { memory_mib: 96 } } });
  const out = await d.client().runtimes.exec(a!.id, ["echo", "alive"]);
  expect(out.stdoutText).toBe("alive\n");
  await d.client().runtimes.delete(b!.id);
  expect(await names()).not.toContain("flip-b");
});

test("a WAL cut short: the records past the cut are recovered too", async () => {
  // Half way, in the middle of a frame (32-byte header, frames of 24 + 4096 bytes).
  const [a] = await loseNewest("cut", (path) => truncateSync(path, 32 + Math.floor((statSync(path).size - 32) / 2 / 4120) * 4120 + 1000));
  expect(d.logs()).toContain("cut short");
  expect(await names()).toEqual(expect.arrayContaining(["cut-a", "cut-b"]));
  expect((await d.client().runtimes.get(a!.id)).record).toMatchObject({ status: "running", labels: { team: "x" } });
});

test("an unreadable main database stops the daemon naming the file and the fix; the backup it names restores it", async () => {
  const runta = d.client();
  await runta.runtimes.create("before-backup", { image: "busybox", memoryMiB: 64 });
  await d.restart(); // a start takes a backup
  const backups = join(d.dataDir, "backups");
  const newest = readdirSync(backups).sort().at(-1)!;
  expect(newest).toMatch(/^runta-.*\.db$/);
  await d.stop();
  const db = join(d.dataDir, "runta.db");
  writeFileSync(db, Buffer.alloc(64 * 1024, 0x5a));
  rmSync(`${db}-wal`, { force: true });
  rmSync(`${db}-shm`, { force: true });
  const failed = await d.restart().then(
    () => null,
    (err: Error) => err.message,
  );
  expect(failed).toContain(`the daemon's database ${db} is unreadable`);
  expect(failed).toContain(backups);
  expect(failed).toContain("mv ");
  // The fix, as the message gives it.
  copyFileSync(db, `${db}.damaged`);
  copyFileSync(join(backups, newest), db);
  await d.restart();
  expect(await names()).toEqual(expect.arrayContaining(["before-backup", "flip-a", "cut-a", "cut-b"]));
  expect(existsSync(`${db}.damaged`)).toBe(true);
});
