/**
 * The disk of a runtime: a sparse file formatted ext4 (`<runtimeDir>/disk.img`), mounted through a loop device at
 * `<runtimeDir>/disk`, holding the overlay's upper and work dirs. Its size bounds what one runtime can write, so a
 * runtime that fills it gets ENOSPC inside while the host's disk stays free. The file is sparse and mounted with
 * `discard`, so it takes only what the runtime really holds, and deleted files give their space back to the host.
 *
 * `mount -o loop` attaches a loop device with the autoclear flag: the kernel releases it when the filesystem is
 * unmounted (even lazily, once the last user goes), so there is no loop device to track or detach by hand.
 *
 * A few disks of the default size are formatted and mounted ahead of time (disk-pool.ts) so a create only renames a
 * file and moves a mount into place; another size (`--disk-size-gib`) is formatted at create. A disk grows while
 * mounted ({@link growDisk}).
 */
import { execFile } from "node:child_process";
import { readFileSync, realpathSync, statSync } from "node:fs";
import { setPriority } from "node:os";
import { mkdir, rm, stat, statfs, truncate, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { RuntaError, errors } from "../api/index.js";
import { sleep } from "./proc.js";

const execFileAsync = promisify(execFile);

/** Fastest format measured here (≈ 18 ms for 10 GiB, ≈ 4 MiB written): no discard pass, inode tables and journal zeroed lazily. The journal stays: a runtime's files survive a host crash. */
const MKFS_ARGS = ["-q", "-F", "-m", "0", "-E", "nodiscard,lazy_itable_init=1,lazy_journal_init=1"];

function stderrOf(err: unknown): string {
  return String((err as { stderr?: string }).stderr || (err as Error).message || err).trim();
}

/**
 * Creates `path` as a sparse file of `sizeMib` MiB and formats it ext4; removes it on failure. `background` runs
 * mkfs at the lowest CPU priority, so a pool refill does not slow down the creates and execs running meanwhile.
 */
export async function formatDisk(path: string, sizeMib: number, opts: { background?: boolean } = {}): Promise<void> {
  try {
    await writeFile(path, "", { mode: 0o600 });
    await truncate(path, sizeMib * 1024 * 1024);
    const mkfs = execFileAsync("mkfs.ext4", [...MKFS_ARGS, path]);
    if (opts.background) lowerPriority(mkfs.child.pid);
    await mkfs;
  } catch (err) {
    await rm(path, { force: true });
    const e = err as NodeJS.ErrnoException;
    if (e.code === "ENOENT" && e.syscall === "spawn mkfs.ext4") {
      throw errors.unavailable("mkfs.ext4 was not found, so a runtime's disk cannot be formatted; install it with 'apt-get install e2fsprogs'", err);
    }
    // Errors of the file itself (ENOSPC on the host...) go up as they are; a failed mkfs says why.
    if (typeof e.code === "string") throw err;
    throw new RuntaError("internal", `cannot format the runtime disk ${path}: ${stderrOf(err)}`, { cause: err });
  }
}

/** Mounts the disk image at `mountPoint` through a loop device (the caller checked it is not mounted yet). */
export async function mountDisk(image: string, mountPoint: string): Promise<void> {
  await attachDisk(image, mountPoint);
  await noteIoBase(image, mountPoint);
}

/**
 * The mount of {@link mountDisk} alone, without noting the I/O counters (a pooled disk notes them when a runtime takes
 * it). `background` runs it at the lowest CPU priority, like a pooled format.
 */
export async function attachDisk(image: string, mountPoint: string, opts: { background?: boolean } = {}): Promise<void> {
  await mkdir(mountPoint, { recursive: true });
  try {
    // noinit_itable: the inode tables of a sparse file already read as zeros, so the kernel's background zeroing
    // of them (≈ 170 MB of writes per 10 GiB disk, right after each create) would only cost I/O.
    const mount = execFileAsync("mount", ["-t", "ext4", "-o", "loop,discard,nodev,nosuid,noinit_itable", image, mountPoint]);
    if (opts.background) lowerPriority(mount.child.pid);
    await mount;
  } catch (err) {
    const msg = stderrOf(err);
    if (/loop device|\/dev\/loop|loop-control/i.test(msg)) {
      throw errors.unavailable(`loop devices are unavailable, so the runtime's disk ${image} cannot be mounted (${msg}); load the loop module ('modprobe loop') or give the daemon access to /dev/loop-control`, err);
    }
    throw new RuntaError("internal", `cannot mount the runtime disk ${image}: ${msg}`, { cause: err });
  }
}

/** Notes the counters of the loop device under `mountPoint` now, what {@link diskIo} counts from. */
export async function noteIoBase(image: string, mountPoint: string): Promise<void> {
  const base = loopCounters(image, mountPoint);
  if (base) await writeFile(ioBaseFile(image), JSON.stringify(base));
}

/** Runs a started child at the lowest CPU priority, so background work does not slow the requests meanwhile. */
function lowerPriority(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    setPriority(pid, 19);
  } catch {
    // Already exited: nothing to lower.
  }
}

/** Bytes used and the size of the mounted disk at `mountPoint` (what `df` shows). */
export async function diskUsage(mountPoint: string): Promise<{ usedBytes: number; sizeBytes: number }> {
  const st = await statfs(mountPoint);
  return { usedBytes: (st.blocks - st.bfree) * st.bsize, sizeBytes: st.blocks * st.bsize };
}

/** Bytes read and written so far by the loop device under `mountPoint`, if `image` is what it holds (else null). */
function loopCounters(image: string, mountPoint: string): { dev: string; readBytes: number; writeBytes: number } | null {
  try {
    const st = statSync(mountPoint, { bigint: true }).dev;
    // Linux's dev_t: major in bits 8-19 and 32+, minor in bits 0-7 and 20+.
    const dev = `${((st >> 8n) & 0xfffn) | ((st >> 32n) & ~0xfffn)}:${(st & 0xffn) | ((st >> 12n) & ~0xffn)}`;
    // Not mounted, the mount point sits on whatever holds the data dir: that device's counters are not the runtime's.
    // losetup records the canonical path of the file it attached.
    if (readFileSync(`/sys/dev/block/${dev}/loop/backing_file`, "utf8").trim() !== realpathSync(image)) return null;
    const f = readFileSync(`/sys/dev/block/${dev}/stat`, "utf8").trim().split(/\s+/).map(Number);
    return { dev, readBytes: f[2]! * 512, writeBytes: f[6]! * 512 };
  } catch {
    return null;
  }
}

/** Where {@link mountDisk} notes the loop device's counters at mount: a detached loop device keeps its counts. */
const ioBaseFile = (image: string) => join(dirname(image), "disk-io-base.json");

/**
 * Bytes read from and written to the disk mounted at `mountPoint` since it was mounted: its loop device's /sys stat
 * (sectors of 512 bytes) less what that device had counted at mount (for its earlier users). Null when unknown: not
 * mounted, or mounted by a daemon that noted no counters. The loop device and not the runtime's blkio cgroup: writes
 * through the overlay reach it from the kernel's loop worker, outside that cgroup. Read synchronously, like the
 * cgroup usage (a few µs: see RuntimeCgroup.usage).
 */
export function diskIo(image: string, mountPoint: string): { readBytes: number; writeBytes: number } | null {
  const now = loopCounters(image, mountPoint);
  if (!now) return null;
  try {
    const base = JSON.parse(readFileSync(ioBaseFile(image), "utf8")) as { dev: string; readBytes: number; writeBytes: number };
    return base.dev === now.dev ? { readBytes: now.readBytes - base.readBytes, writeBytes: now.writeBytes - base.writeBytes } : null;
  } catch {
    return null;
  }
}

/** The loop device holding `image`, or null when none does (it is not mounted, not even lazily). */
export async function loopDeviceOf(image: string): Promise<string | null> {
  const { stdout } = await execFileAsync("losetup", ["-j", image, "-n", "-O", "NAME"]);
  return stdout.split("\n")[0]?.trim() || null;
}

/**
 * Waits (up to `timeoutMs`) for no loop device to hold `image` any more: after an unmount, a container that just
 * stopped may still hold the mount for a moment (the kernel frees its mount namespace asynchronously), and a copy in
 * progress for longer. False when one still does: the disk must not be resized or mounted again then.
 */
export async function loopReleased(image: string, timeoutMs = 5000): Promise<boolean> {
  for (let waited = 0; await loopDeviceOf(image); waited += 100) {
    if (waited >= timeoutMs) return false;
    await sleep(100);
  }
  return true;
}

/**
 * Grows a runtime's disk image to `sizeMib`; the sparse file is extended (nothing is written). Mounted (the runtime
 * runs): the loop device is told its new capacity and ext4 grown online, which needs CAP_SYS_RESOURCE; without it
 * the answer says to shut the runtime down first. Not mounted: checked and grown offline (the caller unmounted it).
 */
export async function growDisk(image: string, sizeMib: number, what: GrowTarget = RUNTIME_DISK): Promise<void> {
  const device = await loopDeviceOf(image);
  const before = (await stat(image)).size;
  try {
    await truncate(image, sizeMib * 1024 * 1024);
    if (device) {
      await execFileAsync("losetup", ["-c", device]);
      await execFileAsync("resize2fs", [device]);
    } else {
      // resize2fs insists on a freshly checked filesystem when offline; -p repairs only what is safe to.
      await execFileAsync("e2fsck", ["-f", "-p", image]);
      await execFileAsync("resize2fs", [image]);
    }
  } catch (err) {
    // The filesystem did not grow: give the file (and the loop device) their old size back, so the size the file
    // shows stays the size the runtime has.
    await truncate(image, before).catch(() => undefined);
    if (device) await execFileAsync("losetup", ["-c", device]).catch(() => undefined);
    const msg = stderrOf(err);
    if (device && /Permission denied to resize/i.test(msg)) {
      throw errors.precondition(`growing ${what.mounted} needs CAP_SYS_RESOURCE (ext4 online resize), which this daemon does not have; ${what.fix}`, { field: what.field });
    }
    throw new RuntaError("internal", `cannot grow ${what.noun} ${image}: ${msg}`, { cause: err });
  }
}

/** Whose disk {@link growDisk} grows, for its errors: a runtime's, or a volume's (volumes/manager.ts). */
export interface GrowTarget {
  /** "the runtime disk" */
  noun: string;
  /** The disk while mounted: "the disk of a running runtime". */
  mounted: string;
  /** How to grow it without CAP_SYS_RESOURCE. */
  fix: string;
  /** The request field the size came in. */
  field: string;
}

const RUNTIME_DISK: GrowTarget = {
  noun: "the runtime disk",
  mounted: "the disk of a running runtime",
  fix: "shut the runtime down, grow it, then boot it",
  field: "disk_size_gib",
};
