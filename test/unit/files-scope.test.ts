/**
 * Files resolved inside a root (src/engine/files) on plain temp directories: symlink and tar escapes stay inside,
 * a tree with modes and a symlink survives pack → unpack byte for byte, writes are atomic.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import tar from "tar-stream";
import { afterEach, beforeEach, expect, test } from "vitest";
import { Scope, packPath, statPath, unpackInto, writeFile, openFile } from "../../src/engine/files/index.js";

let base: string;
let root: string;
let outside: string;
let scope: Scope;

beforeEach(async () => {
  base = mkdtempSync(join(tmpdir(), "runta-files-"));
  root = join(base, "root");
  outside = join(base, "outside");
  mkdirSync(join(root, "etc"), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(outside, "secret"), "host secret");
  writeFileSync(join(root, "etc", "secret"), "runtime secret");
  scope = await Scope.open(root);
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

function archive(entries: Array<tar.Headers & { body?: string }>): Readable {
  const pack = tar.pack();
  for (const { body, ...h } of entries) pack.entry(h, body ?? "");
  pack.finalize();
  return pack as unknown as Readable;
}

test("symlinks with absolute and ../ targets resolve inside the root, never on the host", async () => {
  symlinkSync(join(outside, "secret"), join(root, "abs")); // host path: inside the root it does not exist
  symlinkSync("../../../../../../outside/secret", join(root, "up"));
  symlinkSync("/etc", join(root, "etclink"));
  await expect(statPath(scope, "/abs/x")).rejects.toMatchObject({ code: "not_found" });
  const { handle } = await openFile(scope, "/etclink/secret");
  expect((await handle.readFile()).toString()).toBe("runtime secret");
  await handle.close();
  await expect(openFile(scope, "/up")).rejects.toMatchObject({ code: "not_found" });
  // Writing through the links lands inside the root.
  await writeFile(scope, "/etclink/secret", Readable.from([Buffer.from("written")]));
  await expect(writeFile(scope, "/abs", Readable.from([Buffer.from("x")]))).rejects.toMatchObject({ code: "not_found" });
  expect(readFileSync(join(root, "etc", "secret"), "utf8")).toBe("written");
  expect(readFileSync(join(outside, "secret"), "utf8")).toBe("host secret");
  // The link at the end of a stat is described, not followed.
  expect(await statPath(scope, "/etclink")).toMatchObject({ type: "symlink", link_target: "/etc" });
});

test("tar members with .. or absolute names are refused and nothing lands outside the target", async () => {
  for (const name of ["../outside/pwned", "a/../../outside/pwned", "/tmp/pwned"]) {
    await expect(unpackInto(scope, archive([{ name, type: "file", body: "x" }]))).rejects.toMatchObject({ code: "invalid_argument" });
  }
  expect(existsSync(join(outside, "pwned"))).toBe(false);
  expect(existsSync(join(base, "pwned"))).toBe(false);
});

test("a symlink an archive makes cannot carry later members out of the target", async () => {
  const target = await scope.sub("/etc");
  try {
    await unpackInto(
      target,
      archive([
        { name: "link", type: "symlink", linkname: outside },
        { name: "link/pwned", type: "file", body: "x" },
        { name: "up", type: "symlink", linkname: "../../../.." },
        { name: "up/pwned2", type: "file", body: "y" },
      ]),
    );
  } finally {
    await target.close();
  }
  expect(existsSync(join(outside, "pwned"))).toBe(false);
  expect(existsSync(join(base, "pwned2"))).toBe(false);
  // Both resolved with the target as their root.
  expect(readFileSync(join(root, "etc", outside.slice(1), "pwned"), "utf8")).toBe("x");
  expect(readFileSync(join(root, "etc", "pwned2"), "utf8")).toBe("y");
});

test("a tree with modes, mtimes and a symlink survives pack and unpack", async () => {
  const src = join(root, "tree");
  mkdirSync(join(src, "sub", "deep"), { recursive: true });
  writeFileSync(join(src, "run.sh"), "#!/bin/sh\necho hi\n");
  chmodSync(join(src, "run.sh"), 0o751);
  writeFileSync(join(src, "sub", "private"), Buffer.alloc(300_000, 7));
  chmodSync(join(src, "sub", "private"), 0o600);
  chmodSync(join(src, "sub", "deep"), 0o700);
  symlinkSync("../run.sh", join(src, "sub", "link"));
  const tarball = await collect(packPath(scope, "/tree", () => undefined));
  mkdirSync(join(root, "copy"));
  const dest = await scope.sub("/copy");
  try {
    expect(await unpackInto(dest, Readable.from([tarball]))).toMatchObject({ entries: 6 });
  } finally {
    await dest.close();
  }
  const copy = join(root, "copy", "tree");
  expect(readFileSync(join(copy, "run.sh"), "utf8")).toBe("#!/bin/sh\necho hi\n");
  expect(statSync(join(copy, "run.sh")).mode & 0o7777).toBe(0o751);
  expect(statSync(join(copy, "sub", "private")).mode & 0o7777).toBe(0o600);
  expect(readFileSync(join(copy, "sub", "private")).equals(Buffer.alloc(300_000, 7))).toBe(true);
  expect(statSync(join(copy, "sub", "deep")).mode & 0o7777).toBe(0o700);
  expect(readlinkSync(join(copy, "sub", "link"))).toBe("../run.sh");
  expect(Math.floor(statSync(join(copy, "sub")).mtimeMs / 1000)).toBe(Math.floor(statSync(join(src, "sub")).mtimeMs / 1000));
  expect(lstatSync(join(copy, "run.sh")).uid).toBe(0);
});

test("a failed write leaves the old file and no temporary file behind", async () => {
  writeFileSync(join(root, "etc", "keep"), "old");
  const broken = new Readable({
    read() {
      this.push(Buffer.from("partial"));
      this.destroy(new Error("upload broke off"));
    },
  });
  await expect(writeFile(scope, "/etc/keep", broken)).rejects.toThrow(/upload broke off/);
  expect(readFileSync(join(root, "etc", "keep"), "utf8")).toBe("old");
  expect(readdirSync(join(root, "etc")).filter((n) => n.startsWith(".runta-cp-"))).toEqual([]);
});

test("a full disk fails the unpack with 507 and leaves no partial file (tar-stream entries end while a write is pending)", async () => {
  const small = join(base, "small");
  mkdirSync(small);
  execFileSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", small]);
  const full = await Scope.open(small);
  try {
    const tarball = await collect(archive([{ name: "big", type: "file", body: "x".repeat(4 << 20) }]));
    await expect(unpackInto(full, Readable.from([tarball]))).rejects.toMatchObject({ code: "resource_exhausted", httpStatus: 507 });
    await expect(writeFile(full, "/raw", Readable.from([Buffer.alloc(4 << 20)]))).rejects.toMatchObject({ code: "resource_exhausted" });
    expect(readdirSync(small)).toEqual([]);
  } finally {
    await full.close();
    execFileSync("umount", [small]);
  }
});
