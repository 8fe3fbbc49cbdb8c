/**
 * What every image root filesystem shares, whoever made it (the debootstrap builder, the tarball importer, the
 * test helper's busybox image): the base directories and /etc/hosts a runtime needs, its size on disk, how a full
 * disk is reported, and how a half-made image is deleted.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, rm, statfs } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { errors, type RuntaError } from "../../api/index.js";
import { unmountUnder } from "../mounts.js";

const execFileAsync = promisify(execFile);

/**
 * What `image.json` holds. `build_ms` is how long a build or import took. A derived image (packages over a parent)
 * names its `parent` and `packages`; its `rootfs` dir is then one layer over the parent's, not a whole tree.
 */
export interface ImageMeta {
  name: string;
  created_at: string;
  source: string;
  size_bytes: number;
  build_ms?: number;
  parent?: string;
  packages?: string[];
  python_version?: string | null;
}

/** /etc/hosts of every image: the runtime's own loopback names. */
export const HOSTS_FILE = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";

/** Directories every runtime needs, with the modes programs expect. */
export async function ensureBaseDirs(rootfs: string): Promise<void> {
  for (const [dir, mode] of [["proc", 0o555], ["sys", 0o555], ["dev", 0o755], ["root", 0o700], ["tmp", 0o1777], ["etc", 0o755]] as const) {
    const path = join(rootfs, dir);
    if (!existsSync(path)) await mkdir(path, { mode });
    // mkdir's mode is filtered by the umask; the sticky world-writable /tmp must be exact.
    if (dir === "tmp") await chmod(path, 0o1777);
  }
}

/**
 * Whether the filesystem holding `dir` is (nearly) full: GNU tar often reports a full disk only as a short write
 * ("Wrote only 4608 of 10240 bytes"), so a failed extraction also looks at the free space left.
 */
export async function nearlyFull(dir: string): Promise<boolean> {
  try {
    const fs = await statfs(dir);
    return fs.bfree * fs.bsize < 1024 * 1024 || fs.ffree === 0;
  } catch {
    return false;
  }
}

/** Bytes used on disk by a directory tree (du, staying on one filesystem). */
export async function diskUsage(dir: string): Promise<number> {
  const { stdout } = await execFileAsync("du", ["-s", "-x", "-B1", dir]);
  return Number(stdout.split(/\s/)[0]) || 0;
}

/** Deletes a tree after unmounting anything inside it, so an rm can never recurse into a live /proc or /sys. */
export async function removeTree(dir: string): Promise<void> {
  await unmountUnder(dir);
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
}

/** The error of a full disk while building or importing. */
export function noSpace(what: string): RuntaError {
  return errors.exhausted(`the disk is full while ${what}; free some space (e.g. remove unused images or runtimes) and retry`, undefined, 507);
}

/** Bytes as MiB or GiB for messages. */
export function formatMib(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GiB` : `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}
