// Drives real runc (root only): the floor must leave nothing behind — no container, mount, cgroup or directory.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { buildRootfs } from "../lib/rootfs.js";
import { RuncFloor, isAlive } from "../lib/floor.js";
import { ECHO_ARGV, ptyEcho } from "../lib/tty.js";

const root = process.getuid?.() === 0;

describe.skipIf(!root)("RuncFloor", () => {
  /** @type {string} */
  let dir;
  /** @type {RuncFloor} */
  let floor;

  beforeAll(async () => {
    dir = mkdtempSync("/tmp/runta-bench-test-");
    const { rootfs } = await buildRootfs(dir);
    floor = new RuncFloor({ workDir: dir, lowerDir: rootfs });
    await floor.setup();
  });

  afterAll(async () => {
    const leaks = await floor.teardown();
    rmSync(dir, { recursive: true, force: true });
    expect(leaks).toEqual([]);
    expect(existsSync(floor.runcRoot)).toBe(false);
    expect(readFileSync("/proc/self/mounts", "utf8")).not.toContain(dir);
    expect(existsSync(`/sys/fs/cgroup/memory/${floor.cgroupParent}`)).toBe(false);
  });

  test("runs the whole lifecycle on one container, with the writes surviving shutdown and boot", async () => {
    const h = await floor.create("life");
    expect(isAlive(h.pid)).toBe(true);
    expect(await floor.exec(h, ["sh", "-c", "echo kept > /root/f"])).toBe(0);
    expect(await floor.exec(h, ["sh", "-c", "head -c 1048576 /dev/zero | tr '\\0' a"])).toBe(1024 * 1024);
    await floor.pause(h);
    expect(readFileSync(`/sys/fs/cgroup/freezer/${floor.cgroupParent}/life/freezer.state`, "utf8").trim()).toBe("FROZEN");
    await floor.resume(h);
    await floor.resize(h, 512);
    expect(Number(readFileSync(`/sys/fs/cgroup/memory/${floor.cgroupParent}/life/memory.limit_in_bytes`, "utf8"))).toBe(512 * 1024 * 1024);
    const pid = h.pid;
    await floor.shutdown(h);
    expect(isAlive(pid)).toBe(false);
    expect(await floor.list()).toBe(0);
    await floor.boot(h);
    expect(await floor.exec(h, ["cat", "/root/f"])).toBe("kept\n".length);
    expect(await floor.list()).toBe(1);
    await floor.rm(h);
    expect(existsSync(h.dir)).toBe(false);
  });

  test("echoes keystrokes through runc exec -t", async () => {
    const h = await floor.create("tty");
    const samples = await ptyEcho(floor.ttyCommand(h, ECHO_ARGV), 3);
    expect(samples).toHaveLength(3);
    await floor.rm(h);
  });

  test("teardown removes containers that were left running", async () => {
    await floor.create("left-1");
    await floor.create("left-2");
    expect(await floor.list()).toBe(2);
  });
});

describe.skipIf(!root)("removeCgroupParent", () => {
  test("also removes a parent that runc nested under this process's own cgroup (relative cgroupsPath)", async () => {
    const { removeCgroupParent } = await import("../lib/floor.js");
    const { mkdirSync } = await import("node:fs");
    const own = readFileSync("/proc/self/cgroup", "utf8").split("\n").find((l) => l.split(":")[1] === "memory")?.split(":")[2] ?? "/";
    const parent = `runta-bench-test-${process.pid}`;
    const nested = `/sys/fs/cgroup/memory${own === "/" ? "" : own}/${parent}/child`;
    mkdirSync(nested, { recursive: true });
    expect(removeCgroupParent(parent)).toEqual([]);
    expect(existsSync(nested)).toBe(false);
    expect(existsSync(`/sys/fs/cgroup/memory${own === "/" ? "" : own}/${parent}`)).toBe(false);
  });
});
