/**
 * A checkpoint's filesystem: a frozen copy of a runtime's writable layer (the overlay's upper dir) at
 * `<dataDir>/checkpoints/<id>/layer`, read-only from then on. A runtime restored from it mounts it as an overlayfs
 * lower dir above the layers it was itself built on (its parent checkpoints, then the image), under a fresh writable
 * layer of its own, so a restore mounts, never copies: it costs what a create costs, whatever the checkpoint's size.
 *
 * The copy keeps what overlayfs stores in an upper dir: whiteouts (0:0 character devices) and opaque or redirected
 * directories (trusted.overlay.* xattrs), which mean the same in a lower dir, so deletions stay deleted in a fork.
 * It is made under `layer.tmp`, synced, then renamed to `layer`: a `layer` dir is always complete.
 */
import { execFile } from "node:child_process";
import { mkdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { RuntaError } from "../../api/index.js";

const execFileAsync = promisify(execFile);

/** Where checkpoint `id` keeps its files. */
export function checkpointDir(dataDir: string, id: string): string {
  return join(dataDir, "checkpoints", id);
}

/** The frozen layer of checkpoint `id`. */
export function layerDir(dataDir: string, id: string): string {
  return join(checkpointDir(dataDir, id), "layer");
}

function stderrOf(err: unknown): string {
  return String((err as { stderr?: string }).stderr || (err as Error).message || err).trim();
}

/**
 * Copies `upperDir` into checkpoint `id`'s layer (sparse files stay sparse, owners, modes, times, xattrs and device
 * nodes kept) and returns the layer's disk use in bytes. The source must not change meanwhile (its runtime paused or
 * stopped). Leaves nothing behind on failure.
 */
export async function freezeLayer(dataDir: string, id: string, upperDir: string): Promise<number> {
  const dir = checkpointDir(dataDir, id);
  const tmp = join(dir, "layer.tmp");
  await rm(tmp, { recursive: true, force: true });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  try {
    await copyLayer(upperDir, tmp);
    await rename(tmp, layerDir(dataDir, id));
    return await diskUse(layerDir(dataDir, id));
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    const msg = stderrOf(err);
    if (/No space left on device/i.test(msg)) {
      throw new RuntaError("resource_exhausted", `no space left on the host's disk holding ${dataDir} to store the checkpoint; free some space or remove checkpoints`, { httpStatus: 507 });
    }
    throw new RuntaError("internal", `cannot copy the runtime's files into the checkpoint: ${msg}`, { cause: err });
  }
}

/**
 * Copies an overlay upper dir to `dest` (which must not exist) as a read-only layer: sparse files stay sparse; owners,
 * modes, times, xattrs and device nodes are kept (`cp -a` keeps trusted.* xattrs when run as root, as the daemon is,
 * which whiteouts and opaque dirs need); synced before it returns. Checkpoints and derived images both freeze layers so.
 */
export async function copyLayer(upperDir: string, dest: string): Promise<void> {
  await execFileAsync("cp", ["-a", "--sparse=always", "--no-target-directory", upperDir, dest], { maxBuffer: 1024 * 1024 });
  await execFileAsync("sync", ["-f", dest]);
}

/** Disk use of a directory tree in bytes (blocks really allocated, so sparse files count what they hold). */
export async function diskUse(dir: string): Promise<number> {
  const { stdout } = await execFileAsync("du", ["-s", "-B1", dir]);
  return Number(stdout.split(/\s/)[0]);
}

/** Removes checkpoint `id`'s files. */
export async function removeCheckpointFiles(dataDir: string, id: string): Promise<void> {
  await rm(checkpointDir(dataDir, id), { recursive: true, force: true });
}
