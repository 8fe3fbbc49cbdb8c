/**
 * Mount points of the daemon's mount namespace and the one way the engine unmounts (and moves a mount): runtime roots and disks
 * (rootfs.ts, disk.ts) and what debootstrap leaves mounted in an image being built (images/) all come off here.
 */
import { execFile } from "node:child_process";
import { mkdir, readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { RuntaError } from "../api/index.js";

const execFileAsync = promisify(execFile);

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

function stderrOf(err: unknown): string {
  return String((err as { stderr?: string }).stderr || (err as Error).message || err).trim();
}

/**
 * Unmounts those of `targets` that are mounted, in the order given (children before their parents), releasing loop
 * devices (`-d`). One umount for all saves a process start on every delete. A busy mount (a stray process still
 * holds a file) is detached lazily: the kernel frees it, and its loop device, when the last user goes.
 */
export async function unmount(targets: string[]): Promise<void> {
  const mounted = await mountPoints();
  const present = targets.filter((t) => mounted.includes(t));
  if (!present.length) return;
  try {
    await execFileAsync("umount", ["-d", ...present]);
  } catch {
    const left = await mountPoints();
    for (const t of present) {
      if (!left.includes(t)) continue;
      await execFileAsync("umount", ["-l", "-d", t]).catch((err: unknown) => {
        throw new RuntaError("internal", `cannot unmount ${t}: ${stderrOf(err)}`, { cause: err });
      });
    }
  }
}

/** Unmounts everything mounted at or below `dir`, deepest first. */
export async function unmountUnder(dir: string): Promise<void> {
  const below = (await mountPoints()).filter((t) => t === dir || t.startsWith(dir + "/"));
  await unmount(below.sort((a, b) => b.length - a.length));
}

/** Whether `mount --move` was refused here once (a shared parent mount): later moves go straight to bind + umount. */
let moveRefused = false;

/**
 * Moves the mount at `from` to `to` (a directory made here). `mount --move` is refused when a parent mount is shared
 * (systemd makes `/` shared): then the same mount is bound at `to` and `from` unmounted, which leaves the same one
 * mount of the filesystem (its loop device stays attached: the bind holds it).
 */
export async function moveMount(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  let refused = moveRefused;
  if (!refused) {
    try {
      await execFileAsync("mount", ["--move", from, to]);
      return;
    } catch {
      refused = true;
    }
  }
  try {
    await execFileAsync("mount", ["--bind", from, to]);
  } catch (err) {
    throw new RuntaError("internal", `cannot move the mount ${from} to ${to}: ${stderrOf(err)}`, { cause: err });
  }
  // The bind worked where the move did not: this host refuses moves (not a passing failure of mount itself).
  moveRefused = refused;
  try {
    await execFileAsync("umount", [from]);
  } catch (err) {
    await execFileAsync("umount", [to]).catch(() => undefined);
    throw new RuntaError("internal", `cannot move the mount ${from} to ${to}: ${stderrOf(err)}`, { cause: err });
  }
}
