/**
 * Writing into a runtime's files: one file from raw bytes, or a tar stream unpacked into a directory. Every member
 * is placed through a {@link Scope} rooted at the target directory, so neither `..`/absolute member names nor
 * symlinks (the runtime's own, or ones the same archive just made) can put a byte outside the target.
 *
 * Files are written to a temporary name next to their place and renamed over it once complete, so a transfer that
 * fails (a full disk, a broken upload) leaves the old file as it was. Path-based calls that would follow a symlink at
 * the last component (chmod, utimes) are only made through an fd this process opened with O_NOFOLLOW.
 */
import { randomBytes } from "node:crypto";
import { constants as fsc } from "node:fs";
import { chmod, chown, link, lchown, lutimes, mkdir, open, rename, symlink, unlink, utimes } from "node:fs/promises";
import type { Readable } from "node:stream";
import tar from "tar-stream";
import { RuntaError, errors, forEachChunk, placeEntries, tarMemberParts, type FilesWritten } from "../../api/index.js";
import { at, type Location, type Scope, type ScopeMount } from "./scope.js";

const O_PATH = 0o10000000;
const NEW_FILE = fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW;

/** Who owns what is written: root unless the archive's owners are kept. */
export interface Owner {
  uid: number;
  gid: number;
}
const ROOT: Owner = { uid: 0, gid: 0 };

/**
 * Disk full inside the runtime (its own disk, the host's for a runtime without one, or a volume's: `mount`) becomes
 * 507 with the fix.
 */
export function diskFullInside(err: unknown, mount?: ScopeMount | null): unknown {
  const code = (err as NodeJS.ErrnoException)?.code;
  if ((code === "ENOSPC" || code === "EDQUOT") && mount) {
    return errors.exhausted(`no space left on ${mount.label}, which is full (its size is its bound); free space in it`, { volume: mount.label }, 507);
  }
  if (code === "ENOSPC" || code === "EDQUOT") {
    return errors.exhausted("no space left on the runtime's disk; free space inside it or grow it: runta resize --disk-size-gib N <runtime>", {}, 507);
  }
  return err;
}

function tmpName(): string {
  return `.runta-cp-${randomBytes(6).toString("hex")}`;
}

/** Sets mode (after the owner: chown clears set-id bits) and times of the inode `fd` names, never a symlink's target. */
async function finishInode(fd: number, mode: number, owner: Owner, mtime: Date | undefined): Promise<void> {
  const self = `/proc/self/fd/${fd}`;
  await chown(self, owner.uid, owner.gid);
  await chmod(self, mode);
  if (mtime) await utimes(self, mtime, mtime);
}

/**
 * Writes `data` as the file at `loc` (which must not be a directory): into a fresh temporary file, then renamed over
 * the old one. Returns the bytes written.
 */
export async function writeFileAt(loc: Location, data: Readable, mode: number, owner: Owner = ROOT, mtime?: Date): Promise<number> {
  if (loc.stat?.isDirectory()) throw errors.invalid(`cannot replace the directory ${JSON.stringify(loc.name)} with a file`);
  const tmp = at(loc.dirFd, tmpName());
  const fh = await open(tmp, NEW_FILE, 0o600).catch((err) => {
    throw diskFullInside(err);
  });
  let bytes = 0;
  try {
    bytes = await forEachChunk(data, async (buf) => {
      for (let off = 0; off < buf.length; ) off += (await fh.write(buf, off, buf.length - off)).bytesWritten;
    });
    await finishInode(fh.fd, mode, owner, mtime);
    await fh.close();
    await rename(tmp, loc.path);
    return bytes;
  } catch (err) {
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw diskFullInside(err, loc.mount);
  }
}

/** Writes one file at `path` (symlinks followed inside the scope; its directory must exist) from raw bytes. */
export async function writeFile(scope: Scope, path: string, data: Readable, mode = 0o644): Promise<FilesWritten> {
  const loc = await scope.locate(path, { followLast: true, forWrite: true });
  try {
    return { entries: 1, bytes: await writeFileAt(loc, data, mode) };
  } finally {
    await loc.close();
  }
}

/** Runs `fn` with an O_PATH fd of the directory at `loc` (never following a symlink there). */
async function withDir<T>(loc: Location, fn: (fd: number) => Promise<T>): Promise<T> {
  const fh = await open(loc.path, O_PATH | fsc.O_DIRECTORY | fsc.O_NOFOLLOW);
  try {
    return await fn(fh.fd);
  } finally {
    await fh.close();
  }
}

/** Puts a symlink or hard link at `loc` under a temporary name first, then renames it over what was there. */
async function placeLink(loc: Location, make: (tmp: string) => Promise<void>, owner: Owner, mtime: Date | undefined): Promise<void> {
  if (loc.stat?.isDirectory()) throw errors.invalid(`cannot replace the directory ${JSON.stringify(loc.name)} with a link`);
  const tmp = at(loc.dirFd, tmpName());
  await make(tmp);
  try {
    await lchown(tmp, owner.uid, owner.gid);
    if (mtime) await lutimes(tmp, mtime, mtime);
    await rename(tmp, loc.path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/** Drains an entry's body (a directory or link has none, but a malformed archive might). */
function drain(stream: Readable): Promise<void> {
  return new Promise((resolve) => {
    stream.on("end", resolve);
    stream.resume();
  });
}

/**
 * Unpacks the tar stream `archive` into the scope's root (the target directory). Members must have relative names
 * without `..`; files, directories, symlinks and hard links (to a member inside the target) are accepted, anything
 * else refuses the archive. Missing parent directories are created (0755, root). Owners are root unless
 * `keepOwner`. A bad member stops the unpack with `invalid_argument` naming it; members before it stay written.
 */
export async function unpackInto(target: Scope, archive: Readable, opts: { keepOwner?: boolean } = {}): Promise<FilesWritten> {
  const extract = tar.extract();
  const dirTimes: Array<{ parts: string[]; mtime: Date }> = [];
  let entries = 0;
  let bytes = 0;

  const place = async (h: tar.Headers, body: Readable): Promise<void> => {
    let parts: string[];
    try {
      parts = tarMemberParts(h.name);
    } catch (err) {
      throw errors.invalid((err as Error).message, { member: h.name });
    }
    if (!parts.length) return drain(body); // "./": the target itself, which exists.
    const owner = opts.keepOwner ? { uid: h.uid ?? 0, gid: h.gid ?? 0 } : ROOT;
    const mode = (h.mode ?? 0o644) & 0o7777;
    const loc = await target.locate(parts.join("/"), { mkdirMode: 0o755, forWrite: true });
    try {
      switch (h.type) {
        case "file":
        case "contiguous-file":
          bytes += await writeFileAt(loc, body, mode, owner, h.mtime);
          break;
        case "directory":
          await drain(body);
          if (loc.stat && !loc.stat.isDirectory()) await unlink(loc.path);
          if (!loc.stat?.isDirectory()) await mkdir(loc.path, { mode: 0o700 });
          await withDir(loc, (fd) => finishInode(fd, mode, owner, undefined));
          // Set once every member is in: writing into a directory changes its mtime.
          if (h.mtime) dirTimes.push({ parts, mtime: h.mtime });
          break;
        case "symlink":
          await drain(body);
          await placeLink(loc, (tmp) => symlink(h.linkname ?? "", tmp), owner, h.mtime);
          break;
        case "link": {
          await drain(body);
          let targetParts: string[];
          try {
            targetParts = tarMemberParts(h.linkname ?? "");
          } catch (err) {
            throw errors.invalid(`hard link ${h.name}: ${(err as Error).message}`, { member: h.name });
          }
          const src = await target.locate(targetParts.join("/"));
          try {
            if (!src.stat || src.stat.isDirectory()) throw errors.invalid(`hard link ${h.name} points to ${h.linkname}, which is not a file in the archive's target`, { member: h.name });
            await placeLink(loc, (tmp) => link(src.path, tmp), owner, undefined);
          } finally {
            await src.close();
          }
          break;
        }
        default:
          throw errors.invalid(`tar member ${JSON.stringify(h.name)} is a ${h.type}; only files, directories and links are copied into runtimes`, { member: h.name });
      }
      entries++;
    } catch (err) {
      throw diskFullInside(err, loc.mount);
    } finally {
      await loc.close();
    }
  };

  const done = new Promise<void>((resolve, reject) => {
    // Not pipeline(): on failure it would destroy the source, which may be an HTTP request still owed an answer.
    archive.on("error", (err) => extract.destroy(err));
    archive.on("close", () => {
      if (!archive.readableEnded) extract.destroy(new Error("the upload broke off before the archive ended"));
    });
    placeEntries(extract, place).then(resolve, reject);
  });
  try {
    archive.pipe(extract);
    await done;
    for (const { parts, mtime } of dirTimes.reverse()) {
      const loc = await target.locate(parts.join("/"));
      try {
        if (loc.stat?.isDirectory()) await withDir(loc, (fd) => utimes(`/proc/self/fd/${fd}`, mtime, mtime));
      } finally {
        await loc.close();
      }
    }
  } catch (err) {
    archive.unpipe(extract);
    if (err instanceof RuntaError) throw err;
    const full = diskFullInside(err);
    if (full !== err) throw full;
    if ((err as NodeJS.ErrnoException).code) throw err;
    // tar-stream's own complaints (bad header, truncated data) are the archive's fault.
    throw errors.invalid(`the tar stream is not a valid archive: ${(err as Error).message}`);
  }
  return { entries, bytes };
}
