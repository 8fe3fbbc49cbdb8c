/**
 * Volumes without runc: the mount-path rule (api/mount-path.ts) and the create body's schema, the bind mounts in the
 * OCI spec, and `cp`'s resolution across mounts (files/scope.ts) on temp directories — crossing into a mount, `..` and
 * symlinks coming back out, read-only refused, trees packed and unpacked across a mount point.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import tar from "tar-stream";
import { afterEach, beforeEach, expect, test } from "vitest";
import Database from "better-sqlite3";
import { CreateRuntimeRequestSchema, CreateVolumeRequestSchema, ResizeVolumeRequestSchema, checkMountPath } from "../../src/api/index.js";
import { silentLogger } from "../../src/log.js";
import { VolumeStore } from "../../src/store/volumes.js";
import { VolumeManager } from "../../src/engine/volumes/manager.js";
import { Scope, packPath, statPath, unpackInto, writeFile } from "../../src/engine/files/index.js";
import { buildRuntimeSpec } from "../../src/engine/spec.js";

test("mount paths: absolute, normalised, never over /, /proc, /sys, /dev or runta's own files", () => {
  expect(checkMountPath("/work")).toEqual({ path: "/work" });
  expect(checkMountPath("//data/./x/")).toEqual({ path: "/data/x" });
  expect(checkMountPath("/devices")).toEqual({ path: "/devices" });
  expect(checkMountPath("/procfs/x")).toEqual({ path: "/procfs/x" });
  for (const [path, problem] of [
    ["work", /absolute/],
    ["/", /is \/,/],
    ["//", /is \/,/],
    ["/proc", /is \/proc,/],
    ["/sys/fs", /under \/sys/],
    ["/dev/shm", /under \/dev/],
    ["/.runta", /is \/\.runta/],
    ["/a/../proc", /'\.\.'/],
    ["/a\nb", /control/],
    ["/" + "x".repeat(1100), /at most 1024/],
  ] as const) {
    const got = checkMountPath(path);
    expect(got, path).toHaveProperty("problem");
    expect((got as { problem: string }).problem, path).toMatch(problem);
  }
});

test("the create body takes volumes: paths normalised, duplicates and bad paths refused at their index", () => {
  const ok = CreateRuntimeRequestSchema.parse({ volumes: [{ volume: "data", path: "/work/" }, { volume: "ref", path: "/ref", read_only: true }] });
  expect(ok.volumes).toEqual([{ volume: "data", path: "/work" }, { volume: "ref", path: "/ref", read_only: true }]);
  const dup = CreateRuntimeRequestSchema.safeParse({ volumes: [{ volume: "a", path: "/w" }, { volume: "b", path: "//w" }] });
  expect(dup.success).toBe(false);
  expect(JSON.stringify(dup.error?.issues)).toMatch(/given twice/);
  const sys = CreateRuntimeRequestSchema.safeParse({ volumes: [{ volume: "a", path: "/sys" }] });
  expect(sys.error?.issues[0]).toMatchObject({ path: ["volumes", 0, "path"], message: expect.stringContaining("/sys") });
  expect(CreateRuntimeRequestSchema.safeParse({ volumes: [{ volume: "a", path: "/w", mode: "rw" }] }).success).toBe(false);
  expect(CreateVolumeRequestSchema.safeParse({ name: "data", size_mib: 8 }).error?.issues[0]?.message).toMatch(/between 16 and/);
  expect(CreateVolumeRequestSchema.safeParse({ name: "../x" }).success).toBe(false);
});

test("a resize body is size_mib within the create bounds, nothing else", () => {
  expect(ResizeVolumeRequestSchema.parse({ size_mib: 4096 })).toEqual({ size_mib: 4096 });
  expect(ResizeVolumeRequestSchema.safeParse({ size_mib: 8 }).error?.issues[0]?.message).toMatch(/between 16 and 1048576/);
  expect(ResizeVolumeRequestSchema.safeParse({ size_mib: 2 * 1048576 }).success).toBe(false);
  expect(ResizeVolumeRequestSchema.safeParse({ size_mib: 1.5 }).success).toBe(false);
  expect(ResizeVolumeRequestSchema.safeParse({}).success).toBe(false);
  expect(ResizeVolumeRequestSchema.safeParse({ size_mib: 64, name: "x" }).success).toBe(false);
});

test("resize refuses a smaller size (naming the least it takes) and an unknown volume before touching any disk; the same size is a no-op", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "runta-volresize-"));
  try {
    const store = new VolumeStore(new Database(":memory:"));
    store.insert({ id: "11111111-1111-4111-8111-111111111111", name: "data", sizeMib: 2048, createdAt: "2026-01-01T00:00:00.000Z" });
    const mgr = new VolumeManager(store, { dataDir, logger: silentLogger, runtimes: () => [] });
    await expect(mgr.resize("data", 1024)).rejects.toMatchObject({ code: "invalid_argument", httpStatus: 422, message: expect.stringMatching(/2048 MiB; volumes only grow.*at least 2048 MiB/), details: { field: "size_mib", min: 2048 } });
    await expect(mgr.resize("nope", 4096)).rejects.toMatchObject({ code: "not_found", message: expect.stringContaining("runta volume ls") });
    // Same size: answered from the record, no disk needed (this volume has none).
    expect(await mgr.resize("data", 2048)).toMatchObject({ name: "data", size_bytes: 2048 * 2 ** 20, used_bytes: null });
    store.setSize("11111111-1111-4111-8111-111111111111", 4096);
    expect(store.getByName("data")?.sizeMib).toBe(4096);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test("the spec binds each volume at its path, read-only when asked, after the system mounts", () => {
  const spec = buildRuntimeSpec({
    id: "11111111-1111-4111-8111-111111111111",
    hostname: "web",
    rootfsPath: "/r",
    vcpus: 1,
    memoryMib: 64,
    cgroupParent: "runta",
    volumes: [
      { source: "/data/volumes/a/fs/data", destination: "/work", readOnly: false },
      { source: "/data/volumes/b/fs/data", destination: "/ref", readOnly: true },
    ],
  }) as { mounts: Array<{ destination: string; type: string; source: string; options: string[] }> };
  const binds = spec.mounts.slice(-2);
  expect(binds).toEqual([
    { destination: "/work", type: "bind", source: "/data/volumes/a/fs/data", options: ["bind", "rw", "nosuid", "nodev"] },
    { destination: "/ref", type: "bind", source: "/data/volumes/b/fs/data", options: ["bind", "ro", "nosuid", "nodev"] },
  ]);
});

let base: string;
let root: string;
let vol: string;
let roVol: string;
let scope: Scope;

beforeEach(async () => {
  base = mkdtempSync(join(tmpdir(), "runta-vol-"));
  root = join(base, "root");
  vol = join(base, "vol");
  roVol = join(base, "ro");
  for (const d of [join(root, "etc"), join(root, "work"), join(root, "srv", "ref"), vol, roVol]) mkdirSync(d, { recursive: true });
  writeFileSync(join(root, "etc", "passwd"), "root's");
  writeFileSync(join(root, "work", "hidden"), "under the mount point");
  writeFileSync(join(vol, "v.txt"), "in the volume");
  writeFileSync(join(roVol, "r.txt"), "read only");
  scope = await Scope.open(root, "/", [
    { path: "work", hostDir: vol, readOnly: false, label: 'volume "data"' },
    { path: "srv/ref", hostDir: roVol, readOnly: true, label: 'volume "ref"' },
  ]);
});

afterEach(async () => {
  await scope.close();
  rmSync(base, { recursive: true, force: true });
});

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

test("paths under a mount reach the volume; .. and absolute symlinks come back out into the root", async () => {
  expect((await statPath(scope, "/work/v.txt")).size).toBe("in the volume".length);
  await expect(statPath(scope, "/work/hidden")).rejects.toMatchObject({ code: "not_found" });
  symlinkSync("../etc", join(vol, "up"));
  symlinkSync("/etc/passwd", join(vol, "abs"));
  symlinkSync("/work", join(root, "link"));
  expect((await statPath(scope, "/work/up/passwd")).size).toBe("root's".length);
  expect((await statPath(scope, "/work/../etc/passwd")).size).toBe("root's".length);
  const loc = await scope.locate("/work/abs", { followLast: true });
  expect(readFileSync(loc.path, "utf8")).toBe("root's");
  expect(loc.mount).toBeNull();
  await loc.close();
  const through = await scope.locate("/link/v.txt", { followLast: true });
  expect(through.mount?.label).toBe('volume "data"');
  expect(readFileSync(through.path, "utf8")).toBe("in the volume");
  await through.close();
});

test("writes land in a read-write volume and are refused in a read-only one, files and trees alike", async () => {
  await writeFile(scope, "/work/new.txt", Readable.from([Buffer.from("new")]));
  expect(readFileSync(join(vol, "new.txt"), "utf8")).toBe("new");
  await expect(writeFile(scope, "/srv/ref/x", Readable.from([Buffer.from("x")]))).rejects.toMatchObject({ code: "failed_precondition", message: expect.stringContaining('volume "ref"') });
  const pack = tar.pack();
  pack.entry({ name: "work/a/b.txt" }, "tree");
  pack.entry({ name: "srv/ref/sub/c.txt" }, "refused");
  pack.finalize();
  await expect(unpackInto(scope, pack as unknown as Readable)).rejects.toMatchObject({ code: "failed_precondition" });
  expect(readFileSync(join(vol, "a", "b.txt"), "utf8")).toBe("tree");
  expect(existsSync(join(roVol, "sub"))).toBe(false);
  // A sub-scope (the unpack target) inside a read-only mount is read-only too; one above a mount carries it.
  const ro = await scope.sub("/srv/ref");
  await expect(writeFile(ro, "/y", Readable.from([Buffer.from("y")]))).rejects.toMatchObject({ code: "failed_precondition" });
  await ro.close();
  const srv = await scope.sub("/srv");
  await expect(writeFile(srv, "/ref/z", Readable.from([Buffer.from("z")]))).rejects.toMatchObject({ code: "failed_precondition" });
  await writeFile(srv, "/own", Readable.from([Buffer.from("own")]));
  expect(readFileSync(join(root, "srv", "own"), "utf8")).toBe("own");
  await srv.close();
});

test("a tree packed from above a mount point holds the volume's files, not what the root has under it", async () => {
  const names: string[] = [];
  const extract = tar.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on("entry", (h, body, next) => {
      names.push(h.name);
      body.on("end", next);
      body.resume();
    });
    extract.on("finish", resolve);
    extract.on("error", reject);
  });
  extract.end(await collect(packPath(scope, "/", () => undefined)));
  await done;
  expect(names).toEqual(expect.arrayContaining(["./work/v.txt", "./srv/ref/r.txt", "./etc/passwd"]));
  expect(names).not.toContain("./work/hidden");
});
