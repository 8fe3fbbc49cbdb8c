/**
 * The tarball importer: a root-filesystem tar archive (plain, gzip or xz; e.g. `docker export` output) streamed into
 * an image's rootfs by GNU tar, with a size cap, a full disk told apart from a bad archive, and a check that what
 * came out is a root filesystem at all.
 */
import { spawn } from "node:child_process";
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import { errors } from "../../api/index.js";
import { ensureBaseDirs, formatMib, nearlyFull, noSpace } from "./files.js";

/** Extracts the tarball into `rootfs` (an empty directory) and checks that it is a root filesystem. */
export async function importRootfs(stream: NodeJS.ReadableStream, rootfs: string, maxBytes: number): Promise<void> {
  await extractTarball(stream, rootfs, maxBytes);
  await checkLooksLikeRootfs(rootfs);
  await ensureBaseDirs(rootfs);
}

/**
 * Extracts a tarball stream into `dest` with GNU tar. The format is sniffed from the first bytes (gzip, xz, or
 * plain) because tar cannot detect compression on a pipe. Ownership and modes are kept as numeric ids (tar's
 * default as root), which a root filesystem needs; tar itself strips leading `/` and skips `..` members.
 */
async function extractTarball(stream: NodeJS.ReadableStream, dest: string, maxBytes: number): Promise<void> {
  const iterator = (stream as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]();
  const first = await nextChunk(iterator);
  if (!first) throw errors.invalid("the image tarball is empty; send a root-filesystem tar archive (e.g. 'docker export' output)");
  const args = ["-x", "--numeric-owner", "-C", dest, "-f", "-"];
  if (first[0] === 0x1f && first[1] === 0x8b) args.unshift("-z");
  else if (first.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) args.unshift("-J");
  const tar = spawn("tar", args, { stdio: ["pipe", "ignore", "pipe"] });
  let stderr = "";
  tar.stderr.on("data", (d: Buffer) => {
    if (stderr.length < 64 * 1024) stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve, reject) => {
    tar.once("error", reject);
    tar.once("close", (code) => resolve(code));
  });
  // tar closing its stdin early (bad archive, full disk) surfaces as EPIPE on write; its exit status tells why.
  tar.stdin.on("error", () => {});
  let total = 0;
  let tooBig = false;
  try {
    for (let chunk: Buffer | undefined = first; chunk; chunk = await nextChunk(iterator)) {
      total += chunk.length;
      if (total > maxBytes) {
        tooBig = true;
        break;
      }
      if (tar.exitCode !== null || tar.stdin.destroyed) break;
      if (!tar.stdin.write(chunk)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            tar.stdin.off("drain", done);
            tar.stdin.off("close", done);
            resolve();
          };
          tar.stdin.on("drain", done);
          tar.stdin.on("close", done);
        });
      }
    }
  } catch (err) {
    // The upload broke off: stop tar before the caller deletes the directory it writes into.
    tar.kill("SIGKILL");
    await exited.catch(() => undefined);
    throw errors.invalid(`the image upload ended early (${(err as Error).message}); send the whole tarball again`);
  } finally {
    if (tooBig) tar.kill("SIGKILL");
    tar.stdin.end();
  }
  const code = await exited;
  if (tooBig) {
    await iterator.return?.();
    throw errors.exhausted(
      `the image tarball is larger than the import limit of ${formatMib(maxBytes)}; trim the root filesystem first`,
      { limit_bytes: maxBytes },
      413,
    );
  }
  if (code !== 0) {
    if (/No space left on device|Wrote only \d+ of \d+ bytes/i.test(stderr) || (await nearlyFull(dest))) {
      throw noSpace("importing the image");
    }
    const msg = stderr.trim().split("\n").slice(-3).join("; ");
    throw errors.invalid(`the image tarball could not be extracted (tar exit ${code}): ${msg || "no message"}; send a plain or gzip tar archive of a root filesystem`);
  }
}

async function nextChunk(it: AsyncIterator<Buffer | string>): Promise<Buffer | undefined> {
  for (;;) {
    const r = await it.next();
    if (r.done) return undefined;
    const chunk = typeof r.value === "string" ? Buffer.from(r.value) : r.value;
    if (chunk.length > 0) return chunk;
  }
}

/** Refuses archives that are not a root filesystem, with the usual mistake (everything under one top directory) explained. */
async function checkLooksLikeRootfs(rootfs: string): Promise<void> {
  const entries = await readdir(rootfs);
  if (entries.some((e) => e === "bin" || e === "usr" || e === "etc")) return;
  const hint =
    entries.length === 1 && (await stat(join(rootfs, entries[0]))).isDirectory()
      ? `everything is under '${entries[0]}/'; create the archive from inside the root directory (tar -C <dir> -c .)`
      : "send the archive of a whole root filesystem (e.g. 'docker export <container>')";
  throw errors.invalid(`the tarball has no /bin, /usr or /etc, so it is not a root filesystem: ${hint}`);
}

