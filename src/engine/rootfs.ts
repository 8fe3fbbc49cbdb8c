/**
 * The root filesystem of a runtime: an overlay of the image's rootfs (lower, never written) and the runtime's own
 * upper layer, merged at `<runtimeDir>/rootfs`, next to the bundle's config.json.
 *
 * The overlay stays mounted while the runtime is shut down (a later boot reuses it as is), and is mounted again
 * when it is missing, e.g. after a host reboot. Only delete unmounts it and removes the upper layer.
 */
import { execFile } from "node:child_process";
import { mkdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { RuntaError } from "../api/index.js";

const execFileAsync = promisify(execFile);

/** The paths of one runtime's directory. */
export interface RuntimePaths {
  dir: string;
  upper: string;
  work: string;
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
    upper: join(dir, "upper"),
    work: join(dir, "work"),
    rootfs: join(dir, "rootfs"),
    config: join(dir, "config.json"),
    pidFile: join(dir, "init.pid"),
    execDir: join(dir, "exec"),
  };
}

/** Undoes the octal escapes mountinfo uses for spaces and other special characters in paths. */
function unescapeMountPath(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Mount points currently in the daemon's mount namespace. */
export async function mountPoints(): Promise<string[]> {
  const text = await readFile("/proc/self/mountinfo", "utf8");
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => unescapeMountPath(line.split(" ")[4]));
}

/** Whether `path` is a mount point. */
export async function isMounted(path: string): Promise<boolean> {
  return (await mountPoints()).includes(path);
}

/** Creates the runtime's directories and mounts its overlay root (a no-op when already mounted). */
export async function mountRootfs(paths: RuntimePaths, lowerDir: string): Promise<void> {
  for (const p of [lowerDir, paths.upper, paths.work]) {
    // overlayfs separates options with ',' and lower layers with ':'.
    if (/[,:\s]/.test(p)) throw new RuntaError("invalid_argument", `path ${p} contains ',', ':' or spaces, which overlayfs cannot mount`);
  }
  await Promise.all([mkdir(paths.upper, { recursive: true }), mkdir(paths.work, { recursive: true }), mkdir(paths.rootfs, { recursive: true }), mkdir(paths.execDir, { recursive: true })]);
  if (await isMounted(paths.rootfs)) return;
  try {
    await execFileAsync("mount", ["-t", "overlay", "overlay", "-o", `lowerdir=${lowerDir},upperdir=${paths.upper},workdir=${paths.work}`, paths.rootfs]);
  } catch (err) {
    const stderr = ((err as { stderr?: string }).stderr ?? String(err)).trim();
    throw new RuntaError("internal", `cannot mount the overlay root of ${paths.dir}: ${stderr}`, { cause: err });
  }
}

/** Unmounts the overlay root if it is mounted. */
export async function unmountRootfs(paths: RuntimePaths): Promise<void> {
  if (!(await isMounted(paths.rootfs))) return;
  try {
    await execFileAsync("umount", [paths.rootfs]);
  } catch (err) {
    // Busy (a stray process still holds a file): detach it now, the kernel frees it when the last user goes.
    await execFileAsync("umount", ["-l", paths.rootfs]).catch(() => {
      throw new RuntaError("internal", `cannot unmount ${paths.rootfs}: ${String((err as { stderr?: string }).stderr ?? err).trim()}`);
    });
  }
}

/** Unmounts and removes everything of one runtime on disk (upper layer, bundle, exec files). */
export async function removeRuntimeDir(paths: RuntimePaths): Promise<void> {
  await unmountRootfs(paths);
  await rm(paths.dir, { recursive: true, force: true });
}
