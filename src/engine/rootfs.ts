/**
 * The root filesystem of a runtime: an overlay of the image's rootfs (lower, never written) and the runtime's own
 * upper layer, merged at `<runtimeDir>/rootfs`, next to the bundle's config.json.
 *
 * The upper layer lives on the runtime's own disk (`disk.img`, see disk.ts) mounted at `<runtimeDir>/disk`; runtimes
 * created before the disks existed keep theirs directly in `<runtimeDir>/upper`, with no size limit.
 *
 * A runtime restored from a checkpoint has more lower dirs: the checkpoint's frozen layers (checkpoints/), top first,
 * above the image's rootfs.
 *
 * The overlay and the disk stay mounted while the runtime is shut down (a later boot reuses them as they are), and
 * are mounted again when missing, e.g. after a host reboot. Only delete unmounts them and removes the upper layer.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { RuntaError } from "../api/index.js";
import { mountDisk } from "./disk.js";
import { mountPoints, unmount } from "./mounts.js";

const execFileAsync = promisify(execFile);

/** The paths of one runtime's directory. */
export interface RuntimePaths {
  dir: string;
  /** The runtime's disk image and where it is mounted; the overlay's upper and work dirs are in it. */
  diskImage: string;
  disk: string;
  /** Upper and work dirs of a runtime from before the disks (no disk.img). */
  legacyUpper: string;
  legacyWork: string;
  rootfs: string;
  config: string;
  pidFile: string;
  execDir: string;
}

/** Layout of `<dataDir>/runtimes/<id>/`. */
export function runtimePaths(dataDir: string, id: string): RuntimePaths {
  const dir = join(dataDir, "runtimes", id);
  return {
    dir,
    diskImage: join(dir, "disk.img"),
    disk: join(dir, "disk"),
    legacyUpper: join(dir, "upper"),
    legacyWork: join(dir, "work"),
    rootfs: join(dir, "rootfs"),
    config: join(dir, "config.json"),
    pidFile: join(dir, "init.pid"),
    execDir: join(dir, "exec"),
  };
}

/** The runtime's writable layer (the overlay's upper dir): on its disk, or in its directory for a runtime from before. */
export function upperDir(paths: RuntimePaths): string {
  return existsSync(paths.diskImage) ? join(paths.disk, "upper") : paths.legacyUpper;
}

/**
 * Creates the runtime's directories and mounts its disk (when it has one) and its overlay root over `lowerDirs` (top
 * first); each step is a no-op when already mounted.
 */
export async function mountRootfs(paths: RuntimePaths, lowerDirs: string[]): Promise<void> {
  const onDisk = existsSync(paths.diskImage);
  const upper = upperDir(paths);
  const work = onDisk ? join(paths.disk, "work") : paths.legacyWork;
  for (const p of [...lowerDirs, upper, work]) {
    // overlayfs separates options with ',' and lower layers with ':'.
    if (/[,:\s]/.test(p)) throw new RuntaError("invalid_argument", `path ${p} contains ',', ':' or spaces, which overlayfs cannot mount`);
  }
  const mounted = await mountPoints();
  if (onDisk && !mounted.includes(paths.disk)) await mountDisk(paths.diskImage, paths.disk);
  await Promise.all([mkdir(upper, { recursive: true }), mkdir(work, { recursive: true }), mkdir(paths.rootfs, { recursive: true }), mkdir(paths.execDir, { recursive: true })]);
  if (mounted.includes(paths.rootfs)) return;
  try {
    await execFileAsync("mount", ["-t", "overlay", "overlay", "-o", `lowerdir=${lowerDirs.join(":")},upperdir=${upper},workdir=${work}`, paths.rootfs]);
  } catch (err) {
    const stderr = ((err as { stderr?: string }).stderr ?? String(err)).trim();
    throw new RuntaError("internal", `cannot mount the overlay root of ${paths.dir}: ${stderr}`, { cause: err });
  }
}

/**
 * Unmounts the overlay root, then the disk under it (releasing its loop device), whichever is mounted; lazily when
 * busy (see mounts.ts `unmount`).
 */
export function unmountRootfs(paths: RuntimePaths): Promise<void> {
  return unmount([paths.rootfs, paths.disk]);
}

/** Unmounts and removes everything of one runtime on disk (upper layer, bundle, exec files). */
export async function removeRuntimeDir(paths: RuntimePaths): Promise<void> {
  await unmountRootfs(paths);
  await rm(paths.dir, { recursive: true, force: true });
}
