/**
 * Mount points of the daemon's mount namespace and the one way the engine unmounts: runtime roots and disks
 * (rootfs.ts, disk.ts) and what debootstrap leaves mounted in an image being built (images/) all come off here.
 */
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
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
