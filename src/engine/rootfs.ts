/**
 * The root filesystem of a runtime: an overlay of the image's rootfs (lower, never written) and the runtime's own
 * upper layer, merged at `<runtimeDir>/rootfs`, next to the bundle's config.json.
 *
 * The upper layer lives on the runtime's own disk (`disk.img`, see disk.ts) mounted at `<runtimeDir>/disk`; runtimes
 * created before the disks existed keep theirs directly in `<runtimeDir>/upper`, with no size limit.
 *
 * The overlay and the disk stay mounted while the runtime is shut down (a later boot reuses them as they are), and
 * are mounted again when missing, e.g. after a host reboot. Only delete unmounts them and removes the upper layer.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { copyFile, lstat, mkdir, readFile, readlink, rm, stat, symlink } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { promisify } from "node:util";
import { RuntaError } from "../api/index.js";
import { mountDisk } from "./disk.js";
import { mountPoints, unmount } from "./mounts.js";
import { INIT_PATH_IN_RUNTIME } from "./spec.js";

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

/**
 * Creates the runtime's directories and mounts its disk (when it has one) and its overlay root; each step is a no-op
 * when already mounted.
 */
export async function mountRootfs(paths: RuntimePaths, lowerDir: string): Promise<void> {
  const onDisk = existsSync(paths.diskImage);
  const upper = onDisk ? join(paths.disk, "upper") : paths.legacyUpper;
  const work = onDisk ? join(paths.disk, "work") : paths.legacyWork;
  const mounted = await mountPoints();
  if (onDisk && !mounted.includes(paths.disk)) await mountDisk(paths.diskImage, paths.disk);
  await Promise.all([mkdir(upper, { recursive: true }), mkdir(work, { recursive: true }), mkdir(paths.rootfs, { recursive: true }), mkdir(paths.execDir, { recursive: true })]);
  if (mounted.includes(paths.rootfs)) return;
  // The overlay's options are visible inside the runtime (/proc/self/mountinfo): name the layers by paths relative to
  // the runtime's directory, the image through a symlink there, so no host path shows. overlayfs resolves them at
  // mount time; this also keeps ',' and ':' in host paths out of its option string.
  const link = join(paths.dir, "lower");
  if ((await readlink(link).catch(() => null)) !== lowerDir) {
    await rm(link, { force: true });
    await symlink(lowerDir, link);
  }
  try {
    await execFileAsync("mount", ["-t", "overlay", "overlay", "-o", `lowerdir=lower,upperdir=${relative(paths.dir, upper)},workdir=${relative(paths.dir, work)}`, paths.rootfs], {
      cwd: paths.dir,
    });
  } catch (err) {
    const stderr = ((err as { stderr?: string }).stderr ?? String(err)).trim();
    throw new RuntaError("internal", `cannot mount the overlay root of ${paths.dir}: ${stderr}`, { cause: err });
  }
}

/**
 * Puts the host's init (catatonit) at {@link INIT_PATH_IN_RUNTIME} in the runtime's own root, at every boot, so it
 * is a file of the runtime's disk rather than a bind mount of a host file: a bind mount would show the host's root
 * device and size in `df` inside. A copy already there and identical is left alone (no write on the boot path).
 * The container is not running while this runs, so nothing inside can race it; whatever the runtime left at
 * `/.runta` (a symlink pointing into the host's tree, a file) is removed first, never followed.
 */
export async function installInit(rootfs: string, initPath: string): Promise<void> {
  const target = join(rootfs, INIT_PATH_IN_RUNTIME);
  const dir = dirname(target);
  const dirStat = await lstat(dir).catch(() => null);
  if (dirStat && !dirStat.isDirectory()) await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const current = await lstat(target).catch(() => null);
  if (current?.isFile() && current.mode === (await stat(initPath)).mode) {
    const [have, want] = await Promise.all([readFile(target), readFile(initPath)]);
    if (have.equals(want)) return;
  }
  if (current) await rm(target, { recursive: true, force: true });
  // COPYFILE_EXCL: the path was just cleared; never write through anything that appeared there.
  await copyFile(initPath, target, 1);
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
