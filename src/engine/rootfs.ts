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
import { chmod, lstat, mkdir, readFile, readlink, rm, stat, symlink, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
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
  /** Where the init's reaper writes its exit status when it ends (Runc.run). */
  initStatus: string;
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
    initStatus: join(dir, "init.status"),
    execDir: join(dir, "exec"),
  };
}

/** The runtime's writable layer (the overlay's upper dir): on its disk, or in its directory for a runtime from before. */
export function upperDir(paths: RuntimePaths): string {
  return existsSync(paths.diskImage) ? join(paths.disk, "upper") : paths.legacyUpper;
}

/**
 * Creates the runtime's directories and mounts its disk (when it has one) and its overlay root over `lowerDirs` (top
 * first: a restored runtime's checkpoint layers, then the image); each step is a no-op when already mounted.
 */
export async function mountRootfs(paths: RuntimePaths, lowerDirs: string[]): Promise<void> {
  const onDisk = existsSync(paths.diskImage);
  const upper = upperDir(paths);
  const work = onDisk ? join(paths.disk, "work") : paths.legacyWork;
  const mounted = await mountPoints();
  if (onDisk && !mounted.includes(paths.disk)) await mountDisk(paths.diskImage, paths.disk);
  await Promise.all([mkdir(upper, { recursive: true }), mkdir(work, { recursive: true }), mkdir(paths.rootfs, { recursive: true }), mkdir(paths.execDir, { recursive: true })]);
  if (mounted.includes(paths.rootfs)) return;
  // The overlay's options are visible inside the runtime (/proc/self/mountinfo): name the layers by paths relative to
  // the runtime's directory, the image through a symlink there, so no host path shows. overlayfs resolves them at
  // mount time; this also keeps ',' and ':' in host paths out of its option string. One link per layer: `lower`,
  // then `lower1`, `lower2`… for the layers of a checkpoint chain.
  const names = lowerDirs.map((_, i) => (i === 0 ? "lower" : `lower${i}`));
  for (const [i, target] of lowerDirs.entries()) {
    const link = join(paths.dir, names[i]!);
    if ((await readlink(link).catch(() => null)) === target) continue;
    await rm(link, { force: true });
    await symlink(target, link);
  }
  try {
    await execFileAsync("mount", ["-t", "overlay", "overlay", "-o", `lowerdir=${names.join(":")},upperdir=${relative(paths.dir, upper)},workdir=${relative(paths.dir, work)}`, paths.rootfs], {
      cwd: paths.dir,
    });
  } catch (err) {
    const stderr = ((err as { stderr?: string }).stderr ?? String(err)).trim();
    throw new RuntaError("internal", `cannot mount the overlay root of ${paths.dir}: ${stderr}`, { cause: err });
  }
}

/**
 * Writes a file of the daemon's into the runtime's own root (the merged overlay, so it lands in the runtime's layer)
 * at `path`, unless an identical one is there already (no write on the boot path then). Used instead of bind mounts
 * of host files, which would show the host's device and size in `df` inside. The container is not running while this
 * runs, so nothing inside can race it; whatever the runtime left on the way (a symlink pointing into the host's tree,
 * a file where a directory belongs) is removed, never followed.
 */
export async function writeIntoRoot(rootfs: string, path: string, data: string | Buffer, mode: number): Promise<void> {
  const parts = path.split("/").filter(Boolean);
  let dir = rootfs;
  for (const part of parts.slice(0, -1)) {
    dir = join(dir, part);
    const st = await lstat(dir).catch(() => null);
    if (st?.isDirectory()) continue;
    if (st) await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { mode: 0o755 });
  }
  const target = join(dir, parts[parts.length - 1]!);
  const want = typeof data === "string" ? Buffer.from(data) : data;
  const current = await lstat(target).catch(() => null);
  if (current?.isFile() && (current.mode & 0o7777) === mode && current.size === want.length && (await readFile(target)).equals(want)) return;
  if (current) await rm(target, { recursive: true, force: true });
  // "wx": O_CREAT|O_EXCL, which never follows a symlink that appeared in between.
  await writeFile(target, want, { mode, flag: "wx" });
  await chmod(target, mode); // the umask filtered writeFile's mode
}

/** Puts the host's init (catatonit, or the exec agent at its own path) in the runtime's root, at every boot. */
export async function installInit(rootfs: string, initPath: string, pathInRuntime = INIT_PATH_IN_RUNTIME): Promise<void> {
  const init = await readFile(initPath);
  await writeIntoRoot(rootfs, pathInRuntime, init, (await stat(initPath)).mode & 0o7777);
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
  // An exec admitted just before the removal may still be writing its files into the runtime's exec/ directory (it
  // then fails, refused with the runtime's state): a removal that meets a new file (ENOTEMPTY) walks the tree again.
  await rm(paths.dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 });
}
