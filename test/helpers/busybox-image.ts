/**
 * The tiny `busybox` image tests run on: the host's static busybox, made in a second instead of debootstrap's minute.
 * Test-only: the daemon never makes it.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { chmod, copyFile, mkdir, rename, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { errors } from "../../src/api/index.js";
import { HOSTS_FILE, diskUsage, ensureBaseDirs, removeTree, type ImageMeta } from "../../src/engine/images/files.js";
import { checkName } from "../../src/engine/images/store.js";

const execFileAsync = promisify(execFile);

/**
 * Creates (once; idempotent) a tiny image from the host's static busybox for fast tests: `/bin/busybox` plus a
 * symlink per applet in `/bin`, `/etc/passwd`, `/etc/group`, and the usual empty directories.
 */
export async function createBusyboxImage(imagesDir: string, name = "busybox"): Promise<void> {
  checkName(name);
  const final = join(imagesDir, name);
  if (existsSync(join(final, "image.json")) && existsSync(join(final, "rootfs", "bin", "busybox"))) return;
  const busybox = "/usr/bin/busybox";
  if (!existsSync(busybox)) {
    throw errors.precondition(`${busybox} was not found; install it with 'apt-get install busybox-static'`);
  }
  await mkdir(imagesDir, { recursive: true, mode: 0o700 });
  const tmp = join(imagesDir, `.tmp-${name}-${process.pid}-${randomBytes(4).toString("hex")}`);
  try {
    const rootfs = join(tmp, "rootfs");
    await mkdir(join(rootfs, "bin"), { recursive: true, mode: 0o755 });
    await copyFile(busybox, join(rootfs, "bin", "busybox"));
    await chmod(join(rootfs, "bin", "busybox"), 0o755);
    const { stdout } = await execFileAsync(busybox, ["--list"]);
    for (const applet of stdout.split("\n").map((s) => s.trim())) {
      if (!applet || applet === "busybox" || applet.includes("/")) continue;
      await symlink("busybox", join(rootfs, "bin", applet));
    }
    await mkdir(join(rootfs, "etc"), { mode: 0o755 });
    await writeFile(join(rootfs, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
    await writeFile(join(rootfs, "etc", "group"), "root:x:0:\nnogroup:x:65534:\n");
    await writeFile(join(rootfs, "etc", "hosts"), HOSTS_FILE);
    await ensureBaseDirs(rootfs);
    // Programs that look for /usr/bin/env, /usr/bin/sh etc. find them through the usual merged-/usr links.
    await mkdir(join(rootfs, "usr"), { mode: 0o755 });
    await symlink("../bin", join(rootfs, "usr", "bin"));
    await symlink("bin", join(rootfs, "sbin"));
    const meta: ImageMeta = {
      name,
      created_at: new Date().toISOString(),
      source: `busybox from ${busybox}`,
      size_bytes: await diskUsage(rootfs),
    };
    await writeFile(join(tmp, "image.json"), JSON.stringify(meta, null, 2) + "\n");
    await chmod(tmp, 0o755);
    try {
      await rename(tmp, final);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // Another process created it at the same time: theirs is as good as ours.
      if (code !== "ENOTEMPTY" && code !== "EEXIST") throw err;
    }
  } finally {
    if (existsSync(tmp)) await removeTree(tmp);
  }
}
