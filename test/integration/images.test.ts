/**
 * The image store against the real filesystem and GNU tar: imports (plain, gzip), refusals that leave nothing
 * behind (existing or bad names, oversized or hostile tarballs, a full disk), removal, and the busybox test image.
 * The real debootstrap build of the default image runs only with RUNTA_TEST_BUILD_DEFAULT=1 (≈ 50 s, needs the mirror).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, lstatSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, test } from "vitest";
import { LIMITS, type ImageBuildEvent } from "../../src/api/index.js";
import { ImageStore } from "../../src/engine/images/store.js";
import { createBusyboxImage } from "../helpers/busybox-image.js";
import { runcTrustWarning } from "../../src/api/trust.js";

const tmp = mkdtempSync("/tmp/runta-test-images-");
const mounts: string[] = [];

afterAll(() => {
  for (const m of mounts) execFileSync("umount", ["-l", m]);
  rmSync(tmp, { recursive: true, force: true });
  // Leak check: no temp dir, no mount left.
  expect(existsSync(tmp)).toBe(false);
  expect(readFileSync("/proc/self/mounts", "utf8")).not.toContain(tmp);
});

/** A tar archive built by Python's tarfile, so tests can include members GNU tar would never write (`..`, absolute). */
function makeTar(members: Array<{ name: string; data?: string; dir?: boolean; mode?: number; uid?: number; symlink?: string }>): Buffer {
  const script = `
import io, json, sys, tarfile
members = json.loads(sys.stdin.read())
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
    for m in members:
        info = tarfile.TarInfo(m["name"])
        info.uid = m.get("uid", 0); info.gid = m.get("uid", 0); info.mode = m.get("mode", 0o755 if m.get("dir") else 0o644)
        if m.get("dir"):
            info.type = tarfile.DIRTYPE; t.addfile(info)
        elif m.get("symlink"):
            info.type = tarfile.SYMTYPE; info.linkname = m["symlink"]; t.addfile(info)
        else:
            data = m.get("data", "").encode(); info.size = len(data); t.addfile(info, io.BytesIO(data))
sys.stdout.buffer.write(buf.getvalue())
`;
  return execFileSync("python3", ["-c", script], { input: JSON.stringify(members), maxBuffer: 64 * 1024 * 1024 });
}

const ROOTFS = [
  { name: "bin", dir: true },
  { name: "bin/hello", data: "#!/bin/sh\necho hello\n", mode: 0o755 },
  { name: "etc", dir: true },
  { name: "etc/os-release", data: "ID=test\n" },
  { name: "home/user", dir: true, uid: 1000 },
  { name: "home/user/file", data: "mine\n", uid: 1000 },
  { name: "usr/bin/sh", symlink: "/bin/busybox" },
];

function capture() {
  const lines: string[] = [];
  const log = (m: string) => lines.push(m);
  return { lines, logger: { debug: log, info: log, warn: log, error: log } };
}

/** Entries of an images dir, hidden temp dirs included: what a failed import must not leave. */
function entries(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

describe("import", () => {
  const dir = join(tmp, "import");
  const log = capture();
  const trustWarning = runcTrustWarning("1.1.5+ds1");
  const store = new ImageStore({ imagesDir: dir, logger: log.logger, trustWarning });

  test("a plain tarball becomes an image with owners, modes and symlinks kept, and a trust warning is logged", async () => {
    const image = await store.import("plain", Readable.from([makeTar(ROOTFS)]));
    expect(image).toMatchObject({ name: "plain", source: "import", in_use_by: [] });
    expect(image.size_bytes).toBeGreaterThan(0);
    expect(Date.parse(image.created_at)).toBeGreaterThan(Date.now() - 60_000);
    const rootfs = store.rootfsPath("plain");
    expect(readFileSync(join(rootfs, "etc/os-release"), "utf8")).toBe("ID=test\n");
    expect(statSync(join(rootfs, "bin/hello")).mode & 0o777).toBe(0o755);
    expect(statSync(join(rootfs, "home/user/file")).uid).toBe(1000);
    expect(readlinkSync(join(rootfs, "usr/bin/sh"))).toBe("/bin/busybox");
    // The directories every runtime needs are there even if the tarball lacked them.
    expect(statSync(join(rootfs, "tmp")).mode & 0o7777).toBe(0o1777);
    expect(lstatSync(join(rootfs, "proc")).isDirectory()).toBe(true);
    expect(log.lines).toContain(trustWarning);
    expect((await store.list()).map((i) => i.name)).toEqual(["plain"]);
    expect(await store.get("plain")).toEqual(image);
  });

  test("a gzip tarball in many small chunks imports too", async () => {
    const gz = gzipSync(makeTar(ROOTFS));
    const chunks = Array.from({ length: Math.ceil(gz.length / 100) }, (_, i) => gz.subarray(i * 100, (i + 1) * 100));
    await store.import("gzipped", Readable.from(chunks));
    expect(readFileSync(join(store.rootfsPath("gzipped"), "bin/hello"), "utf8")).toContain("echo hello");
  });

  test("an existing name is already_exists and the image is untouched", async () => {
    await expect(store.import("plain", Readable.from([makeTar([{ name: "etc/x", data: "x" }])]))).rejects.toMatchObject({
      code: "already_exists",
    });
    expect(existsSync(join(store.rootfsPath("plain"), "etc/x"))).toBe(false);
  });

  test("an invalid name is invalid_argument before anything is read", async () => {
    await expect(store.import("../evil", Readable.from([makeTar(ROOTFS)]))).rejects.toMatchObject({ code: "invalid_argument" });
  });

  test("refusals leave nothing behind: empty stream, garbage, no root filesystem, nested directory", async () => {
    const before = entries(dir);
    await expect(store.import("empty", Readable.from([]))).rejects.toMatchObject({
      code: "invalid_argument",
      message: expect.stringMatching(/empty/),
    });
    await expect(store.import("garbage", Readable.from([Buffer.from("this is not a tarball at all".repeat(50))]))).rejects.toMatchObject({
      code: "invalid_argument",
      message: expect.stringMatching(/could not be extracted/),
    });
    await expect(store.import("nested", Readable.from([makeTar([{ name: "rootfs/etc/passwd", data: "root" }])]))).rejects.toMatchObject({
      code: "invalid_argument",
      message: expect.stringMatching(/everything is under 'rootfs\/'/),
    });
    expect(entries(dir)).toEqual(before);
  });

  test("an upload that breaks off is invalid_argument and leaves nothing", async () => {
    const before = entries(dir);
    const tar = makeTar(ROOTFS);
    async function* broken() {
      yield tar.subarray(0, 1024);
      await new Promise((r) => setTimeout(r, 20));
      throw new Error("aborted");
    }
    await expect(store.import("broken", Readable.from(broken()))).rejects.toMatchObject({
      code: "invalid_argument",
      message: expect.stringMatching(/upload ended early \(aborted\)/),
    });
    expect(entries(dir)).toEqual(before);
  });

  test("imports beyond the in-flight limit are resource_exhausted at once; a finished one frees its slot", async () => {
    const before = entries(dir);
    const tar = makeTar(ROOTFS);
    const uploads = Array.from({ length: LIMITS.imageJobsMaxConcurrent }, () => new PassThrough());
    const pending = uploads.map((u, i) => store.import(`slow${i}`, u));
    for (const u of uploads) u.write(tar.subarray(0, 512));
    await expect(store.import("one-too-many", Readable.from([tar]))).rejects.toMatchObject({
      code: "resource_exhausted",
      httpStatus: 429,
      message: expect.stringMatching(new RegExp(`^${LIMITS.imageJobsMaxConcurrent} image builds or imports are already in progress`)),
    });
    uploads[0]!.end(tar.subarray(512));
    await pending[0];
    await store.import("one-more", Readable.from([tar]));
    for (const u of uploads.slice(1)) u.destroy(new Error("aborted"));
    await Promise.allSettled(pending);
    await store.remove("slow0");
    await store.remove("one-more");
    expect(entries(dir)).toEqual(before);
  });

  test("a member escaping with .. is refused and nothing is written outside", async () => {
    const before = entries(dir);
    const tar = makeTar([...ROOTFS, { name: "../../escaped-by-test", data: "gotcha" }]);
    await expect(store.import("escape", Readable.from([tar]))).rejects.toMatchObject({ code: "invalid_argument" });
    expect(existsSync(join(dir, "escaped-by-test"))).toBe(false);
    expect(existsSync(join(tmp, "escaped-by-test"))).toBe(false);
    expect(entries(dir)).toEqual(before);
  });

  test("an absolute member lands inside the image, not on the host", async () => {
    await store.import("absolute", Readable.from([makeTar([...ROOTFS, { name: `/${tmp.slice(1)}/host-file-by-test`, data: "x" }])]));
    expect(existsSync(join(tmp, "host-file-by-test"))).toBe(false);
    expect(existsSync(join(store.rootfsPath("absolute"), tmp, "host-file-by-test"))).toBe(true);
  });

  test("a tarball over the size cap is resource_exhausted and leaves nothing", async () => {
    const small = new ImageStore({ imagesDir: dir, importMaxBytes: 4096 });
    const before = entries(dir);
    const big = makeTar([...ROOTFS, { name: "etc/big", data: "y".repeat(64 * 1024) }]);
    const chunks = Array.from({ length: Math.ceil(big.length / 1000) }, (_, i) => big.subarray(i * 1000, (i + 1) * 1000));
    await expect(small.import("toobig", Readable.from(chunks))).rejects.toMatchObject({
      code: "resource_exhausted",
      message: expect.stringMatching(/larger than the import limit/),
    });
    expect(entries(dir)).toEqual(before);
  });

  test("remove deletes the image; removing again is not_found", async () => {
    await store.remove("gzipped");
    expect(store.exists("gzipped")).toBe(false);
    expect(entries(dir).filter((e) => e.includes("gzipped"))).toEqual([]);
    await expect(store.remove("gzipped")).rejects.toMatchObject({ code: "not_found" });
  });
});

describe("a full disk", () => {
  test("is resource_exhausted with HTTP 507 and leaves nothing behind", async () => {
    const dir = join(tmp, "small-disk");
    mkdirSync(dir);
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "runta-test-tmpfs", dir]);
    mounts.push(dir);
    const store = new ImageStore({ imagesDir: dir });
    // A plain (uncompressed) tarball with a 3 MiB file on a 1 MiB disk.
    const blob = "z".repeat(3 * 1024 * 1024);
    const err = await store.import("huge", Readable.from([makeTar([...ROOTFS, { name: "etc/blob", data: blob }])])).catch((e) => e);
    expect(err).toMatchObject({ code: "resource_exhausted", httpStatus: 507 });
    expect(err.message).toMatch(/disk is full/);
    expect(entries(dir)).toEqual([]);
  });
});

describe("busybox test image", () => {
  test("has busybox, applet links, passwd, and is idempotent", async () => {
    const dir = join(tmp, "bb");
    await createBusyboxImage(dir);
    const store = new ImageStore({ imagesDir: dir });
    const rootfs = store.rootfsPath("busybox");
    for (const applet of ["sh", "ls", "cat", "sleep", "echo", "dd", "head", "stty"]) {
      expect(readlinkSync(join(rootfs, "bin", applet))).toBe("busybox");
    }
    expect(readFileSync(join(rootfs, "etc/passwd"), "utf8")).toMatch(/^root:x:0:0:/);
    expect(statSync(join(rootfs, "tmp")).mode & 0o7777).toBe(0o1777);
    expect(execFileSync(join(rootfs, "bin", "busybox"), ["echo", "works"], { encoding: "utf8" })).toBe("works\n");
    const first = await store.get("busybox");
    await createBusyboxImage(dir);
    expect(await store.get("busybox")).toEqual(first);
    expect(entries(dir)).toEqual(["busybox"]);
  });
});

describe.runIf(process.env.RUNTA_TEST_BUILD_DEFAULT === "1")("the default image (real debootstrap)", () => {
  test(
    "builds with progress; a concurrent request joins; a second build is a no-op; the rootfs runs python3",
    async () => {
      const dir = join(tmp, "default");
      const store = new ImageStore({ imagesDir: dir });
      const events: ImageBuildEvent[] = [];
      const joined: ImageBuildEvent[] = [];
      const first = store.build("default", (ev) => events.push(ev));
      await new Promise((r) => setTimeout(r, 2000));
      const second = store.build("default", (ev) => joined.push(ev));
      const [a, b] = await Promise.all([first, second]);
      expect(b).toEqual(a);
      expect(joined.length).toBeGreaterThan(1);
      const progress = events.filter((e): e is Extract<ImageBuildEvent, { type: "progress" }> => e.type === "progress");
      expect(progress.some((e) => /^downloading python3/.test(e.message))).toBe(true);
      expect(progress.at(-1)).toMatchObject({ percent: 100, message: expect.stringMatching(/built image 'default' in [\d.]+ s/) });
      const rootfs = store.rootfsPath("default");
      expect(readFileSync(join(rootfs, "etc/hostname"), "utf8")).toBe("runtime\n");
      expect(readdirSync(join(rootfs, "var/cache/apt/archives")).filter((f) => f.endsWith(".deb"))).toEqual([]);
      expect(execFileSync("chroot", [rootfs, "python3", "-c", "print(6*7)"], { encoding: "utf8" })).toBe("42\n");
      const again: ImageBuildEvent[] = [];
      expect(await store.build("default", (ev) => again.push(ev))).toEqual(a);
      expect(again).toEqual([expect.objectContaining({ message: expect.stringMatching(/already built/) })]);
      expect(entries(dir)).toEqual(["default"]);
    },
    300_000,
  );
});
