/**
 * mounts.ts moveMount against real mounts: a plain `mount --move` under a private parent, and the bind + umount it
 * falls back to under a shared parent (systemd makes `/` shared, where the kernel refuses to move a mount), with a
 * loop-mounted ext4 as the disk pool moves them: one mount at the destination, none at the source, and the loop
 * device released when that one is unmounted. Everything lives under a temp dir (its own bind mount for the shared
 * case) and is unmounted at the end.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { formatDisk, loopDeviceOf } from "../../src/engine/disk.js";
import { mountPoints, moveMount, unmount, unmountUnder } from "../../src/engine/mounts.js";

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "runta-mounts-"));
});

afterAll(async () => {
  await unmountUnder(dir);
  await rm(dir, { recursive: true, force: true });
});

/** Formats and loop-mounts a small disk at `<parent>/from`, as the disk pool does ahead of a create. */
async function mountedDisk(parent: string): Promise<{ image: string; from: string; to: string }> {
  const image = join(parent, "disk.img");
  const from = join(parent, "from");
  mkdirSync(from, { recursive: true });
  await formatDisk(image, 16);
  execFileSync("mount", ["-t", "ext4", "-o", "loop", image, from]);
  execFileSync("touch", [join(from, "marker")]);
  return { image, from, to: join(parent, "to") };
}

async function expectMoved(d: { image: string; from: string; to: string }): Promise<void> {
  const mounts = await mountPoints();
  expect(mounts).toContain(d.to);
  expect(mounts).not.toContain(d.from);
  expect(execFileSync("ls", [d.to]).toString()).toContain("marker");
  // Still one loop device on the file, released with the last mount.
  expect(await loopDeviceOf(d.image)).not.toBeNull();
  await unmount([d.to]);
  for (let i = 0; i < 40 && (await loopDeviceOf(d.image)); i++) await new Promise((r) => setTimeout(r, 25));
  expect(await loopDeviceOf(d.image)).toBeNull();
}

/** A directory of its own bind mount with the given propagation, as a parent mount of the pool's disks. */
function parentMount(name: string, propagation: "private" | "shared"): string {
  const parent = join(dir, name);
  mkdirSync(parent);
  execFileSync("mount", ["--bind", parent, parent]);
  execFileSync("mount", [`--make-${propagation}`, parent]);
  return parent;
}

test("a mount under a private parent is moved", async () => {
  const d = await mountedDisk(parentMount("private", "private"));
  await moveMount(d.from, d.to);
  await expectMoved(d);
});

test("under a shared parent, where the kernel refuses the move, the mount is bound at the destination and unmounted at the source", async () => {
  const parent = parentMount("shared", "shared");
  const d = await mountedDisk(parent);
  mkdirSync(join(parent, "probe"));
  expect(() => execFileSync("mount", ["--move", d.from, join(parent, "probe")], { stdio: "ignore" })).toThrow();
  await moveMount(d.from, d.to);
  await expectMoved(d);
});

test("moving what is not mounted fails with both paths named and leaves nothing mounted", async () => {
  const from = join(dir, "nothing");
  mkdirSync(from);
  await expect(moveMount(from, join(dir, "nowhere"))).rejects.toThrow(/cannot move the mount .*nothing to .*nowhere/);
  expect((await mountPoints()).filter((m) => m.startsWith(join(dir, "no")))).toEqual([]);
});
