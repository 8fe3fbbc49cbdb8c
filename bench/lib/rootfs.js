/**
 * The tiny root filesystem every system under test runs: static busybox with its applet links plus catatonit, so
 * the floor (raw runc), runta and the peers all start the same init in the same files. Also packed as a tarball
 * for `runta image import`, `docker import` and `podman import`.
 */
import { copyFileSync, chmodSync, mkdirSync, symlinkSync, writeFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { run } from "./proc.js";

export const BUSYBOX = "/usr/bin/busybox";
export const CATATONIT = "/usr/bin/catatonit";

/**
 * Builds `<dir>/rootfs` and `<dir>/rootfs.tar`.
 * @param {string} dir a private temp directory
 * @returns {Promise<{rootfs:string, tarball:string}>}
 */
export async function buildRootfs(dir) {
  for (const bin of [BUSYBOX, CATATONIT]) {
    if (!existsSync(bin)) throw new Error(`${bin} is missing: apt-get install busybox-static catatonit`);
  }
  const rootfs = join(dir, "rootfs");
  for (const d of ["bin", "sbin", "usr/bin", "usr/sbin", "dev", "proc", "sys", "tmp", "etc", "root", "run", "var/tmp"]) {
    mkdirSync(join(rootfs, d), { recursive: true });
  }
  chmodSync(join(rootfs, "tmp"), 0o1777);
  copyFileSync(BUSYBOX, join(rootfs, "bin/busybox"));
  chmodSync(join(rootfs, "bin/busybox"), 0o755);
  copyFileSync(CATATONIT, join(rootfs, "sbin/catatonit"));
  chmodSync(join(rootfs, "sbin/catatonit"), 0o755);
  const { stdout } = await run(BUSYBOX, ["--list-full"], { keepStdout: true });
  for (const applet of stdout.toString().split("\n").filter(Boolean)) {
    const link = join(rootfs, applet);
    if (applet === "bin/busybox" || existsSync(link)) continue;
    mkdirSync(join(link, ".."), { recursive: true });
    symlinkSync("/bin/busybox", link);
  }
  writeFileSync(join(rootfs, "etc/passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n");
  writeFileSync(join(rootfs, "etc/group"), "root:x:0:\nnogroup:x:65534:\n");
  writeFileSync(join(rootfs, "etc/hostname"), "bench\n");
  const tarball = join(dir, "rootfs.tar");
  await run("tar", ["-C", rootfs, "--numeric-owner", "-cf", tarball, "."]);
  return { rootfs, tarball };
}
