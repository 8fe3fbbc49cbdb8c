/**
 * Each runtime's writable layer on its own disk (a sparse ext4 file on a loop device), against real runc: the size
 * bound (ENOSPC inside, the host untouched), data across stop/start and a remount, delete releasing the loop device
 * and the file, the pool of formatted disks mounted ahead (taken by a move, unmounted at close, adopted by the next
 * engine), runtimes from before the disks, and a host without mkfs.ext4 or loop devices.
 * The engine is opened with 64 MiB disks so filling one stays cheap.
 */
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { RuntaError } from "../../src/api/index.js";
import { mountPoints } from "../../src/engine/mounts.js";
import { RuncEngine } from "../../src/engine/runc-engine.js";
import { busyboxImage, makeEngineEnv, type EngineEnv } from "../helpers/engine-env.js";

let env: EngineEnv;
let engine: RuncEngine;
const warnings: string[] = [];
const logger = { info() {}, warn: (m: string, f?: object) => warnings.push(`${m} ${JSON.stringify(f ?? {})}`), error: (m: string, f?: object) => warnings.push(`${m} ${JSON.stringify(f ?? {})}`) };

beforeAll(async () => {
  env = await makeEngineEnv();
  await busyboxImage(env.imagesDir);
  engine = await RuncEngine.open({ ...env, logger, limits: { diskMib: 64 } });
});

afterAll(async () => {
  await engine?.close();
  await env.cleanup();
  expect(await env.leaks()).toEqual([]);
});

async function sh(rt: string, line: string): Promise<{ code: number; out: string; err: string }> {
  const r = await engine.exec(rt, { argv: ["sh", "-c", line] });
  return { code: r.exit_code, out: r.stdout.trim(), err: r.stderr.trim() };
}

const runtimeDir = (id: string) => join(env.dataDir, "runtimes", id);
const poolDir = () => join(env.dataDir, "runtimes", ".pool");
const readyDisks = () => readdirSync(poolDir()).filter((n) => n.endsWith(".img"));

async function poolFull(): Promise<void> {
  for (let i = 0; i < 200 && readyDisks().length < 2; i++) await new Promise((r) => setTimeout(r, 25));
  expect(readyDisks(), warnings.join("\n")).toHaveLength(2);
}

test("a runtime that fills its disk gets ENOSPC inside while the host keeps its space; deleting gives the space back", async () => {
  const rt = await engine.create({ name: "filler", image: "busybox", memoryMib: 64 });
  const img = join(runtimeDir(rt.id), "disk.img");
  expect(statSync(img).size).toBe(64 * 1024 * 1024);
  try {
    const dd = await sh("filler", "dd if=/dev/zero of=/big bs=1M");
    expect(dd.code).not.toBe(0);
    expect(dd.err).toMatch(/No space left on device/);
    // Bounded by the disk: the runtime's writes land in its sparse image file, which holds at most its 64 MiB of the
    // host's space. (The image's own allocation, not the host's free space, which other jobs on the machine move.)
    expect(statSync(img).blocks * 512).toBeLessThanOrEqual(64 * 1024 * 1024);
    expect((await sh("filler", "rm /big && dd if=/dev/zero of=/again bs=1M count=32 && echo ok")).out).toBe("ok");
  } finally {
    await engine.delete("filler");
  }
});

test("the upper layer is on the runtime's disk, and its data survives stop/start and a remount (as after a host reboot)", async () => {
  const rt = await engine.create({ name: "keep", image: "busybox", memoryMib: 32 });
  const dir = runtimeDir(rt.id);
  expect(await mountPoints()).toContain(join(dir, "disk"));
  expect((await sh("keep", "echo kept > /data && df -m / | tail -1")).out).toMatch(/^overlay\s+\d+/);
  expect(existsSync(join(dir, "disk", "upper", "data"))).toBe(true);
  expect(existsSync(join(dir, "upper"))).toBe(false);
  await engine.stop("keep", { graceSecs: 0 });
  await engine.start("keep");
  expect((await sh("keep", "cat /data")).out).toBe("kept");
  // A host reboot leaves nothing mounted: start mounts the disk and the overlay again.
  await engine.stop("keep", { graceSecs: 0 });
  execFileSync("umount", [join(dir, "rootfs")]);
  execFileSync("umount", ["-d", join(dir, "disk")]);
  // The loop device goes when the kernel lets go of the stopped container's mount namespace, a moment later under load.
  await expect.poll(async () => (await env.leaks()).filter((l) => l.includes(rt.id)), { timeout: 10_000, interval: 100 }).toEqual([]);
  await engine.start("keep");
  expect((await sh("keep", "cat /data")).out).toBe("kept");
  await engine.delete("keep");
});

test("delete unmounts the overlay and the disk, releases the loop device and removes the disk file", async () => {
  const rt = await engine.create({ name: "gone", image: "busybox", memoryMib: 32 });
  const leaks = (await env.leaks()).filter((l) => l.includes(rt.id));
  expect(leaks.filter((l) => l.startsWith("loop device "))).toHaveLength(1);
  expect(leaks.filter((l) => l.startsWith("mount ")).sort()).toEqual([`mount ${runtimeDir(rt.id)}/disk`, `mount ${runtimeDir(rt.id)}/rootfs`]);
  await engine.delete("gone");
  expect((await env.leaks()).filter((l) => l.includes(rt.id))).toEqual([]);
  expect(existsSync(runtimeDir(rt.id))).toBe(false);
});

test("creates take pre-formatted disks from the pool, which refills in the background; an emptied pool falls back to mkfs", async () => {
  await poolFull();
  const pooled = readyDisks();
  await engine.create({ name: "p1", image: "busybox", memoryMib: 32 });
  expect(pooled.filter((n) => existsSync(join(poolDir(), n)))).toHaveLength(1);
  await poolFull();
  // Pooled files removed behind the engine's back: the next create formats its own disk.
  for (const n of readyDisks()) rmSync(join(poolDir(), n));
  const rt = await engine.create({ name: "p2", image: "busybox", memoryMib: 32 });
  expect(statSync(join(runtimeDir(rt.id), "disk.img")).size).toBe(64 * 1024 * 1024);
  expect((await sh("p2", "echo ok > /f && cat /f")).out).toBe("ok");
  await poolFull();
  await engine.delete("p1");
  await engine.delete("p2");
  expect(warnings).toEqual([]);
});

test("pooled disks are mounted ahead and a create moves one into place: empty, its loop device on the runtime's file; close unmounts the pool, the next engine adopts it", async () => {
  await poolFull();
  const mounted = (await mountPoints()).filter((m) => m.startsWith(poolDir() + "/"));
  expect(mounted.sort()).toEqual(readyDisks().map((n) => join(poolDir(), n.replace(/\.img$/, ".mnt"))).sort());
  const pooled = readyDisks();
  const rt = await engine.create({ name: "moved", image: "busybox", memoryMib: 32 });
  const dir = runtimeDir(rt.id);
  const taken = pooled.find((n) => !existsSync(join(poolDir(), n)))!;
  expect(taken).toBeDefined();
  // The pool's mount is gone from the pool and is the runtime's disk now; the loop device names the runtime's file.
  const mounts = await mountPoints();
  expect(mounts).not.toContain(join(poolDir(), taken.replace(/\.img$/, ".mnt")));
  expect(mounts).toContain(join(dir, "disk"));
  const loops = (await env.leaks()).filter((l) => l.startsWith("loop device ") && l.includes(rt.id));
  expect(loops).toHaveLength(1);
  expect(loops[0]).toMatch(new RegExp(`${join(dir, "disk.img")}$`));
  // Clean as a fresh disk: the filesystem's own lost+found and the overlay's dirs, nothing else.
  expect(readdirSync(join(dir, "disk")).sort()).toEqual(["lost+found", "upper", "work"]);
  // and in the upper layer only what every boot puts there (the init, the egress CA, the /etc files).
  expect(readdirSync(join(dir, "disk", "upper")).filter((n) => ![".runta", "etc", "usr"].includes(n))).toEqual([]);
  // The I/O counters count from the take, on the runtime's own loop device.
  expect((await sh("moved", "dd if=/dev/zero of=/w bs=1M count=4 conv=fsync 2>/dev/null && echo ok")).out).toBe("ok");
  await engine.delete("moved");
  expect((await env.leaks()).filter((l) => l.includes(rt.id))).toEqual([]);
  // Close: the pool's mounts go, its files stay; the next engine mounts them again instead of formatting new ones.
  await poolFull();
  const files = readyDisks().sort();
  await engine.close();
  expect((await mountPoints()).filter((m) => m.startsWith(poolDir() + "/"))).toEqual([]);
  expect((await env.leaks()).filter((l) => l.includes("/.pool/"))).toEqual([]);
  engine = await RuncEngine.open({ ...env, logger, limits: { diskMib: 64 } });
  for (let i = 0; i < 200 && (await mountPoints()).filter((m) => m.startsWith(poolDir() + "/")).length < 2; i++) await new Promise((r) => setTimeout(r, 25));
  expect(readyDisks().sort()).toEqual(files);
  expect((await mountPoints()).filter((m) => m.startsWith(poolDir() + "/"))).toHaveLength(2);
  expect(warnings).toEqual([]);
});

test("a crash leaves the pool's disks mounted: the next engine unmounts them and mounts its files again, once each", async () => {
  await poolFull();
  const files = readyDisks().sort();
  await engine.close();
  // What a daemon killed mid-way leaves: its pooled disks mounted where it mounted them.
  for (const n of files) {
    mkdirSync(join(poolDir(), n.replace(/\.img$/, ".mnt")));
    execFileSync("mount", ["-t", "ext4", "-o", "loop", join(poolDir(), n), join(poolDir(), n.replace(/\.img$/, ".mnt"))]);
  }
  engine = await RuncEngine.open({ ...env, logger, limits: { diskMib: 64 } });
  for (let i = 0; i < 200 && (await mountPoints()).filter((m) => m.startsWith(poolDir() + "/")).length < 2; i++) await new Promise((r) => setTimeout(r, 25));
  expect(readyDisks().sort()).toEqual(files);
  expect((await mountPoints()).filter((m) => m.startsWith(poolDir() + "/")), warnings.join("\n")).toHaveLength(2);
  expect((await env.leaks()).filter((l) => l.startsWith("loop device ") && l.includes("/.pool/"))).toHaveLength(2);
  const rt = await engine.create({ name: "after-crash", image: "busybox", memoryMib: 32 });
  expect((await sh("after-crash", "echo ok > /f && cat /f")).out).toBe("ok");
  await engine.delete("after-crash");
  expect((await env.leaks()).filter((l) => l.includes(rt.id))).toEqual([]);
  expect(warnings).toEqual([]);
});

test("a runtime from before the disks (upper layer directly in its directory) still starts, keeps its data and is deleted cleanly", async () => {
  const rt = await engine.create({ name: "legacy", image: "busybox", memoryMib: 32 });
  const dir = runtimeDir(rt.id);
  expect((await sh("legacy", "echo old > /data")).code).toBe(0);
  await engine.stop("legacy", { graceSecs: 0 });
  // Turn it into the layout of before: upper and work in the runtime's directory, no disk.
  execFileSync("umount", [join(dir, "rootfs")]);
  cpSync(join(dir, "disk", "upper"), join(dir, "upper"), { recursive: true });
  mkdirSync(join(dir, "work"));
  execFileSync("umount", ["-d", join(dir, "disk")]);
  rmSync(join(dir, "disk"), { recursive: true });
  rmSync(join(dir, "disk.img"));
  await engine.start("legacy");
  expect((await sh("legacy", "cat /data && echo new > /data2 && cat /data2")).out).toBe("old\nnew");
  expect(existsSync(join(dir, "upper", "data2"))).toBe(true);
  expect(existsSync(join(dir, "disk.img"))).toBe(false);
  expect(await mountPoints()).not.toContain(join(dir, "disk"));
  expect((await env.leaks()).filter((l) => l.includes(rt.id) && l.startsWith("loop device "))).toEqual([]);
  await engine.delete("legacy");
  expect((await env.leaks()).filter((l) => l.includes(rt.id))).toEqual([]);
});

test("without mkfs.ext4 a create is unavailable with the fix and leaves nothing behind", async () => {
  await poolFull();
  for (const n of readyDisks()) rmSync(join(poolDir(), n));
  const path = process.env.PATH;
  const entriesBefore = readdirSync(join(env.dataDir, "runtimes")).filter((n) => !n.endsWith(".log"));
  const leaksBefore = await env.runtimeLeaks(); // the engine's own LXCFS and network, while it is open
  let err: unknown;
  try {
    process.env.PATH = "/nonexistent";
    err = await engine.create({ name: "nomkfs", image: "busybox", memoryMib: 32 }).then(
      () => null,
      (e: unknown) => e,
    );
  } finally {
    process.env.PATH = path;
  }
  expect(err).toBeInstanceOf(RuntaError);
  expect((err as RuntaError).code).toBe("unavailable");
  expect((err as RuntaError).message).toMatch(/mkfs\.ext4 was not found.*apt-get install e2fsprogs/);
  expect(readdirSync(join(env.dataDir, "runtimes")).filter((n) => !n.endsWith(".log"))).toEqual(entriesBefore);
  expect(await env.runtimeLeaks()).toEqual(leaksBefore);
  expect((await engine.list()).items).toEqual([]);
  // mkfs.ext4 back: creates work again and the pool fills up.
  await engine.create({ name: "after", image: "busybox", memoryMib: 32 });
  await poolFull();
  await engine.delete("after");
});

test("without loop devices a create is unavailable with the fix and leaves nothing behind", async () => {
  await poolFull();
  // A mount that fails the way util-linux does when no loop device can be set up.
  const fakeBin = join(env.dataDir, "fake-bin");
  mkdirSync(fakeBin);
  writeFileSync(join(fakeBin, "mount"), '#!/bin/sh\necho "mount: $6: failed to setup loop device for $5." >&2\nexit 32\n', { mode: 0o755 });
  const path = process.env.PATH;
  const entriesBefore = readdirSync(join(env.dataDir, "runtimes")).filter((n) => !n.endsWith(".log"));
  const leaksBefore = await env.runtimeLeaks(); // the engine's own LXCFS and network, while it is open
  let err: unknown;
  try {
    process.env.PATH = `${fakeBin}:${path}`;
    err = await engine.create({ name: "noloop", image: "busybox", memoryMib: 32 }).then(
      () => null,
      (e: unknown) => e,
    );
  } finally {
    process.env.PATH = path;
  }
  expect(err).toBeInstanceOf(RuntaError);
  expect((err as RuntaError).code).toBe("unavailable");
  expect((err as RuntaError).message).toMatch(/loop devices are unavailable.*failed to setup loop device.*modprobe loop/);
  expect(readdirSync(join(env.dataDir, "runtimes")).filter((n) => !n.endsWith(".log"))).toEqual(entriesBefore);
  expect(await env.runtimeLeaks()).toEqual(leaksBefore);
  expect((await engine.list()).items).toEqual([]);
  rmSync(fakeBin, { recursive: true });
});
