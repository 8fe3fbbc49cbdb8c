/**
 * The local side of `runta cp`: a tar stream of a path on this machine (copy in), and a tar stream unpacked into a
 * directory here (copy out). Member names are checked with the same rule the daemon applies ({@link tarMemberParts}),
 * and nothing is written through a symlink: a runtime controls what it sends, so an archive that first plants
 * `x -> /etc` and then sends `x/passwd` is refused here, as such archives are refused by the daemon.
 */
import { constants as fsc, type Stats } from "node:fs";
import { chmod, chown, lstat, lutimes, mkdir, open, readdir, readlink, rename, symlink, unlink, utimes } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Readable } from "node:stream";
import { randomBytes } from "node:crypto";
import tar from "tar-stream";
import { addEntry, forEachChunk, placeEntries, roomIn, tarMemberParts } from "../../api/tar.js";

/**
 * A tar stream of the local `path`, its top entry named `topName` (a directory recursively; symlinks stored as
 * links; sockets, FIFOs and devices left out). Errors (a file vanishing) fail the stream.
 */
export function packLocal(path: string, topName: string): Readable {
  const pack = tar.pack();
  const emit = async (full: string, name: string, st: Stats): Promise<void> => {
    const base = { name, mode: st.mode & 0o7777, mtime: st.mtime, uid: st.uid, gid: st.gid };
    if (st.isSymbolicLink()) return addEntry(pack, { ...base, type: "symlink", linkname: await readlink(full) });
    if (st.isDirectory()) {
      await addEntry(pack, { ...base, type: "directory" });
      for (const child of (await readdir(full)).sort()) await emit(join(full, child), `${name}/${child}`, await lstat(join(full, child)));
      return;
    }
    if (!st.isFile()) return;
    const fh = await open(full, fsc.O_RDONLY | fsc.O_NOFOLLOW);
    try {
      const size = (await fh.stat()).size;
      await addEntry(pack, { ...base, type: "file", size }, async (w) => {
        for (let pos = 0; pos < size; ) {
          const buf = Buffer.allocUnsafe(Math.min(256 * 1024, size - pos));
          const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
          if (bytesRead === 0) throw new Error(`${full} shrank while it was being copied`);
          pos += bytesRead;
          if (!w.write(buf.subarray(0, bytesRead))) await roomIn(w);
        }
      });
    } finally {
      await fh.close();
    }
  };
  void (async () => emit(path, topName, await lstat(path)))().then(
    () => pack.finalize(),
    (err) => pack.destroy(err),
  );
  return pack as unknown as Readable;
}

/** What an unpack wrote. */
export interface Unpacked {
  entries: number;
  bytes: number;
}

async function lstatOrNull(p: string): Promise<Stats | null> {
  return lstat(p).catch((err: NodeJS.ErrnoException) => {
    if (err.code === "ENOENT") return null;
    throw err;
  });
}

/**
 * Unpacks `archive` into the existing local directory `dest`, renaming its top entry to `rename` when given.
 * Intermediate components must be real directories (never symlinks); files are written under a temporary name and
 * renamed into place. Owners are kept only with `keepOwner` (and only root may set them).
 */
export async function unpackLocal(archive: AsyncIterable<Uint8Array>, dest: string, opts: { rename?: string; keepOwner?: boolean } = {}): Promise<Unpacked> {
  const extract = tar.extract();
  const result: Unpacked = { entries: 0, bytes: 0 };
  const dirTimes: Array<[string, Date]> = [];

  const place = async (h: tar.Headers, body: Readable): Promise<void> => {
    const parts = tarMemberParts(h.name);
    if (!parts.length) return void body.resume();
    if (opts.rename) parts[0] = opts.rename;
    let at = dest;
    for (const part of parts.slice(0, -1)) {
      at = join(at, part);
      const st = await lstatOrNull(at);
      if (!st?.isDirectory()) throw new Error(`refusing ${JSON.stringify(h.name)}: ${at} is ${st ? "not a directory (a symlink?)" : "missing"}`);
    }
    const target = join(at, parts.at(-1)!);
    const existing = await lstatOrNull(target);
    const mode = (h.mode ?? 0o644) & 0o7777;
    if (h.type === "directory") {
      body.resume();
      if (existing && !existing.isDirectory()) await unlink(target);
      if (!existing?.isDirectory()) await mkdir(target, { mode: 0o700 });
      await chmod(target, mode);
      if (opts.keepOwner) await chown(target, h.uid ?? 0, h.gid ?? 0);
      if (h.mtime) dirTimes.push([target, h.mtime]);
    } else if (h.type === "file" || h.type === "contiguous-file") {
      if (existing?.isDirectory()) throw new Error(`cannot replace the directory ${target} with a file`);
      const tmp = join(dirname(target), `.runta-cp-${randomBytes(6).toString("hex")}`);
      const fh = await open(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW, 0o600);
      try {
        result.bytes += await forEachChunk(body, async (buf) => {
          for (let off = 0; off < buf.length; ) off += (await fh.write(buf, off, buf.length - off)).bytesWritten;
        });
        if (opts.keepOwner) await fh.chown(h.uid ?? 0, h.gid ?? 0);
        await fh.chmod(mode);
        if (h.mtime) await fh.utimes(h.mtime, h.mtime);
        await fh.close();
        await rename(tmp, target);
      } catch (err) {
        await fh.close().catch(() => undefined);
        await unlink(tmp).catch(() => undefined);
        throw err;
      }
    } else if (h.type === "symlink") {
      body.resume();
      if (existing?.isDirectory()) throw new Error(`cannot replace the directory ${target} with a symlink`);
      if (existing) await unlink(target);
      await symlink(h.linkname ?? "", target);
      if (h.mtime) await lutimes(target, h.mtime, h.mtime);
    } else {
      // Hard links, devices and FIFOs: the daemon never sends them, so an archive that has them is not ours.
      body.resume();
      throw new Error(`refusing ${JSON.stringify(h.name)}: a ${h.type} is not copied out of runtimes`);
    }
    result.entries++;
  };

  const placed = placeEntries(extract, place);
  await Promise.all([
    placed,
    (async () => {
      try {
        for await (const chunk of archive) {
          // Stopped by a refused member: leaving the loop also cancels the download.
          if (extract.destroyed) return;
          if (!extract.write(Buffer.from(chunk))) await roomIn(extract);
        }
        extract.end();
      } catch (err) {
        extract.destroy(err as Error);
      }
    })(),
  ]);
  for (const [dir, mtime] of dirTimes.reverse()) await utimes(dir, mtime, mtime);
  return result;
}
