/**
 * Restart and reconciliation of the runc engine against real runc: runtimes are detached from the engine, so
 * dropping the engine (as a daemon SIGKILL would) leaves them running and a new engine adopts them.
 */
import { rmSync } from "node:fs";
import { beforeAll, expect, test } from "vitest";
import { runtimePaths } from "../../src/engine/rootfs.js";
import type { RuncEngine } from "../../src/engine/runc-engine.js";
import { RuntimeStore } from "../../src/store/store.js";
import { engineSuite, type EngineEnv } from "../helpers/engine-env.js";

const suite = engineSuite();
const { logs } = suite;
let env: EngineEnv;
let engine: RuncEngine;
beforeAll(() => void ({ env, engine } = suite));

/** Drops the engine (as a daemon restart would) and opens a new one on the same world, with a fresh log. */
async function reopen(): Promise<void> {
  await suite.close();
  engine = await suite.open();
}

/** Edits the database directly, as a crash or a disk error might have left it. */
function withStore(fn: (s: RuntimeStore) => void): void {
  const store = new RuntimeStore(env.dataDir);
  try {
    fn(store);
  } finally {
    store.close();
  }
}

test("runtimes keep running without the engine and are adopted by the next one, paused ones too", async () => {
  await engine.create({ name: "keep", image: "busybox", memoryMib: 32 });
  await engine.create({ name: "frozen", image: "busybox", memoryMib: 32 });
  await engine.exec("keep", { argv: ["sh", "-c", "echo before > /state"] });
  await engine.pause("frozen");
  const initPid = (await engine.store.getByName("keep"))!.initPid!;

  // Dropping the engine releases only the database: nothing of the runtimes belongs to it.
  await reopen();
  expect(() => process.kill(initPid, 0)).not.toThrow();
  expect((await engine.get("keep")).status).toBe("running");
  expect((await engine.get("frozen")).status).toBe("paused");
  expect(logs.filter((l) => l.includes("adopted")).length).toBe(2);
  const r = await engine.exec("keep", { argv: ["cat", "/state"] });
  expect(r.stdout).toBe("before\n");
  expect((await engine.resume("frozen")).status).toBe("running");
  expect((await engine.list()).items.map((x) => x.name)).toEqual(["keep", "frozen"]);
});

test("an init killed behind the engine's back is noticed as crashed, and the runtime can boot again", async () => {
  await engine.create({ name: "victim", image: "busybox", memoryMib: 32 });
  await engine.exec("victim", { argv: ["sh", "-c", "echo survives > /file"] });
  process.kill((await engine.store.getByName("victim"))!.initPid!, "SIGKILL");
  await new Promise((r) => setTimeout(r, 100));
  const crashed = await engine.get("victim");
  expect(crashed.status).toBe("crashed");
  expect(crashed.last_error).toMatch(/exited unexpectedly/);
  const booted = await engine.start("victim");
  expect(booted.status).toBe("running");
  expect((await engine.exec("victim", { argv: ["cat", "/file"] })).stdout).toBe("survives\n");
});

test("a container that vanished while the engine was away is crashed at open; after a host reboot it is shutdown", async () => {
  await engine.create({ name: "gone", image: "busybox", memoryMib: 32 });
  await engine.create({ name: "rebooted", image: "busybox", memoryMib: 32 });
  const gone = engine.store.getByName("gone")!;
  const rebooted = engine.store.getByName("rebooted")!;
  await engine.close();
  for (const rec of [gone, rebooted]) process.kill(rec.initPid!, "SIGKILL");
  await new Promise((r) => setTimeout(r, 100));
  // As if "rebooted" was started during an earlier boot of the host.
  withStore((s) => s.execRawForTests("UPDATE runtimes SET boot_id = 'an-earlier-boot' WHERE id = ?", rebooted.id));
  engine = await suite.open();
  expect((await engine.get("gone")).status).toBe("crashed");
  expect((await engine.get("rebooted")).status).toBe("shutdown");
  expect((await engine.start("rebooted")).status).toBe("running");
  await engine.delete("gone");
  await engine.delete("rebooted");
});

test("one corrupt record does not stop the others from loading", async () => {
  await engine.create({ name: "corrupt", image: "busybox", memoryMib: 32 });
  const id = engine.store.getByName("corrupt")!.id;
  await engine.close();
  withStore((s) => s.execRawForTests("UPDATE runtimes SET labels = '{not json' WHERE id = ?", id));
  engine = await suite.open();
  expect(logs.some((l) => l.startsWith("warn skipping a runtime record that cannot be read") && l.includes(id))).toBe(true);
  // The others are adopted and usable; the container of the unreadable record is reported, not adopted.
  expect((await engine.get("keep")).status).toBe("running");
  expect((await engine.list()).items.map((x) => x.name)).not.toContain("corrupt");
  expect(logs.some((l) => l.includes("has no runtime record") && l.includes(id))).toBe(true);
  // An undecodable row is not a lost record: nothing tries to rebuild it from the runtime's directory.
  expect(logs.some((l) => l.includes("could not recover") && l.includes(id))).toBe(false);
  // Repair the row so the runtime can be removed through the engine again.
  await engine.close();
  withStore((s) => s.execRawForTests("UPDATE runtimes SET labels = '{}' WHERE id = ?", id));
  engine = await suite.open();
  expect((await engine.get("corrupt")).status).toBe("running");
  await engine.delete("corrupt");
});

test("a runtime whose record the database lost is recovered from its directory: running, listed, removable", async () => {
  await engine.create({ name: "lost", image: "busybox", memoryMib: 48, labels: { a: "b" } });
  const lost = engine.store.getByName("lost")!;
  await engine.close();
  withStore((s) => s.delete(lost.id));
  engine = await suite.open();
  expect(logs.filter((l) => l.includes("recovered a runtime the database had lost") && l.includes(lost.id)).length).toBe(1);
  const back = engine.store.get(lost.id)!;
  expect(back).toMatchObject({ name: "lost", status: "running", initPid: lost.initPid, memoryMib: 48, labels: { a: "b" } });
  expect(back.lastError).toMatch(/recovered at .*config\.json/);
  await engine.delete("lost");
  expect(engine.store.get(lost.id)).toBeNull();
});

test("a container with no record and no bundle to rebuild one from is reported and never adopted or duplicated", async () => {
  await engine.create({ name: "orphan", image: "busybox", memoryMib: 32 });
  const orphan = engine.store.getByName("orphan")!;
  await engine.close();
  withStore((s) => s.delete(orphan.id));
  rmSync(runtimePaths(env.dataDir, orphan.id).config);
  engine = await suite.open();
  expect(logs.filter((l) => l.includes("has no runtime record") && l.includes(orphan.id)).length).toBe(1);
  expect((await engine.list()).items.map((x) => x.id)).not.toContain(orphan.id);
  // Its name is free again, and a new runtime of that name is a different container.
  const again = await engine.create({ name: "orphan", image: "busybox", memoryMib: 32 });
  expect(again.id).not.toBe(orphan.id);
  await engine.delete("orphan");
  // The orphan is left to the operator (the helper's cleanup removes it here); it still runs.
  expect(() => process.kill(orphan.initPid!, 0)).not.toThrow();
});

test("a delete interrupted by a crash is finished at the next open", async () => {
  await engine.create({ name: "half", image: "busybox", memoryMib: 32 });
  const half = engine.store.getByName("half")!;
  await engine.close();
  withStore((s) => s.update(half.id, { status: "deleting" }));
  engine = await suite.open();
  expect(engine.store.get(half.id)).toBeNull();
  expect((await env.leaks()).filter((l) => l.includes(half.id))).toEqual([]);
});

test("clean up every runtime this file created", async () => {
  for (const name of ["keep", "frozen", "victim"]) await engine.delete(name);
  expect((await engine.list()).items).toEqual([]);
});
