/**
 * The engine's LXCFS (engine/views/lxcfs.ts) when things go wrong: not installed, or killed under a running daemon.
 * Runtimes always start; without LXCFS they see the host's /proc, said once in the log.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { RuncEngine } from "../../src/engine/runc-engine.js";
import { sleep } from "../../src/engine/proc.js";
import { engineSuite } from "../helpers/engine-env.js";
import { lxcfsPids } from "../helpers/lxcfs.js";

/** MemTotal of /proc/meminfo inside a runtime, in KiB. */
async function memTotalKib(engine: RuncEngine, rt: string): Promise<number> {
  const r = await engine.exec(rt, { argv: ["awk", "/^MemTotal:/ {print $2}", "/proc/meminfo"] });
  expect(r.stderr).toBe("");
  return Number(r.stdout);
}

const hostMemTotalKib = () => Number(/^MemTotal:\s+(\d+)/m.exec(readFileSync("/proc/meminfo", "utf8"))![1]);

describe("without lxcfs", () => {
  const suite = engineSuite({ lxcfsPath: "/nonexistent/lxcfs" });
  let engine: RuncEngine;
  beforeAll(() => void ({ engine } = suite));
  afterAll(async () => {
    for (const name of ["a", "b"]) await engine?.delete(name).catch(() => undefined);
  });

  test("runtimes start and see the host's memory; the log says why, once", async () => {
    await engine.create({ name: "a", image: "busybox", memoryMib: 48 });
    await engine.create({ name: "b", image: "busybox", memoryMib: 48 });
    expect(await memTotalKib(engine, "a")).toBe(hostMemTotalKib());
    const warnings = suite.logs.filter((l) => l.startsWith("warn lxcfs unavailable"));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/\/nonexistent\/lxcfs is not installed \(apt-get install lxcfs\)/);
    expect(lxcfsPids(suite.env.dataDir)).toEqual([]);
  });
});

describe("with lxcfs", () => {
  const suite = engineSuite();
  let engine: RuncEngine;
  beforeAll(() => void ({ engine } = suite));
  afterAll(async () => {
    for (const name of ["a", "b"]) await engine?.delete(name).catch(() => undefined);
  });

  test("a killed LXCFS is replaced at the next boot; new runtimes get their views again", async () => {
    await engine.create({ name: "a", image: "busybox", memoryMib: 48 });
    expect(await memTotalKib(engine, "a")).toBe(48 * 1024);
    const [first] = lxcfsPids(suite.env.dataDir);
    process.kill(first!, "SIGKILL");
    for (let i = 0; i < 100 && lxcfsPids(suite.env.dataDir).length; i++) await sleep(10);
    await engine.create({ name: "b", image: "busybox", memoryMib: 40 });
    expect(await memTotalKib(engine, "b")).toBe(40 * 1024);
    const [second] = lxcfsPids(suite.env.dataDir);
    expect(second).not.toBe(first);
    expect(suite.logs.some((l) => /lxcfs at this data dir stopped answering/.test(l))).toBe(true);
  });

  test("a daemon that stops with no runtime running ends its LXCFS; one with runtimes leaves it to them", async () => {
    await suite.close();
    expect(lxcfsPids(suite.env.dataDir)).toHaveLength(1);
    engine = await suite.open();
    await engine.delete("a");
    await engine.delete("b");
    await suite.close();
    expect(lxcfsPids(suite.env.dataDir)).toEqual([]);
    engine = await suite.open();
  });
});
