/**
 * Reading a runtime's files: what is at a path, one file's bytes, and a tar stream of a path (a directory
 * recursively). Everything is looked up through a {@link Scope}, so nothing outside the runtime's root is read, and
 * symlinks inside the tree are archived as links, never followed.
 */
import { constants as fsc, type Stats } from "node:fs";
import { lstat, open, readdir, readlink, type FileHandle } from "node:fs/promises";
import { posix } from "node:path";
import type { Readable } from "node:stream";
import tar from "tar-stream";
import { addEntry, errors, roomIn, type FileStat } from "../../api/index.js";
import { at, type Scope } from "./scope.js";

const O_PATH = 0o10000000;
/** O_NONBLOCK: opening a FIFO the runtime put in place of a file must not hang the daemon; fstat tells what it is. */
const READ_FLAGS = fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK;
/** The largest file a ustar header holds (11 octal digits). */
export const TAR_MAX_FILE_BYTES = 8 * 1024 ** 3 - 1;
const CHUNK = 256 * 1024;

function typeOf(st: Stats): FileStat["type"] {
  if (st.isFile()) return "file";
  if (st.isDirectory()) return "directory";
  if (st.isSymbolicLink()) return "symlink";
  return "other";
}

/** What is at `path` (a symlink at the end is described, not followed). */
export async function statPath(scope: Scope, path: string): Promise<FileStat> {
  const loc = await scope.locate(path);
  try {
    if (!loc.stat) throw errors.notFound(`${JSON.stringify(path)} does not exist`, { path });
    const st = loc.stat;
    return {
      path,
      type: typeOf(st),
      size: st.size,
      mode: st.mode & 0o7777,
      mtime: st.mtime.toISOString(),
      link_target: st.isSymbolicLink() ? await readlink(loc.path) : null,
    };
  } finally {
    await loc.close();
  }
}

/** Opens the regular file at `path` (symlinks followed inside the scope) for reading; the caller closes it. */
export async function openFile(scope: Scope, path: string): Promise<{ handle: FileHandle; size: number }> {
  const loc = await scope.locate(path, { followLast: true });
  try {
    if (!loc.stat) throw errors.notFound(`${JSON.stringify(path)} does not exist`, { path });
    const handle = await open(loc.path, READ_FLAGS);
    const st = await handle.stat();
    if (!st.isFile()) {
      await handle.close();
      throw errors.invalid(`${JSON.stringify(path)} is a ${typeOf(st) === "directory" ? "directory" : "special file"}, not a regular file; copy directories as a tar stream`, { path });
    }
    return { handle, size: st.size };
  } finally {
    await loc.close();
  }
}

/**
 * A tar stream of `path` inside the scope: one top entry named after the path's last component (`.` for the root)
 * and, for a directory, everything under it. Modes, owners and mtimes are kept; symlinks are stored as links;
 * sockets, FIFOs and devices are left out. A file that shrinks while it is read fails the stream (the reader sees a
 * broken archive rather than a silently wrong one). `onEnd` runs once the walk is over, however it ended.
 */
export function packPath(scope: Scope, path: string, onEnd: () => void): Readable {
  const pack = tar.pack();
  const topName = posix.basename(posix.normalize("/" + path)) || ".";
  let abandoned = false;
  pack.on("close", () => (abandoned = true));

  /** `rel`: the entry's path from the scope's root, to find the mounts (volumes) inside the tree and descend into them. */
  const emit = async (dirFd: number, name: string, archName: string, st: Stats, rel: string): Promise<void> => {
    if (abandoned) throw new Error("the reader went away");
    const base = { name: archName, mode: st.mode & 0o7777, mtime: st.mtime, uid: st.uid, gid: st.gid };
    if (st.isSymbolicLink()) {
      return addEntry(pack, { ...base, type: "symlink", linkname: await readlink(at(dirFd, name)) });
    }
    if (st.isDirectory()) {
      await addEntry(pack, { ...base, type: "directory" });
      const mount = scope.mountAt(rel);
      const dir = await open(mount ? mount.hostDir : at(dirFd, name), O_PATH | fsc.O_DIRECTORY | fsc.O_NOFOLLOW);
      try {
        for (const child of (await readdir(at(dir.fd, "."))).sort()) {
          const cst = await lstat(at(dir.fd, child)).catch(() => null);
          // Removed by the runtime since the listing: nothing to copy.
          if (cst) await emit(dir.fd, child, `${archName}/${child}`, cst, rel ? `${rel}/${child}` : child);
        }
      } finally {
        await dir.close();
      }
      return;
    }
    if (!st.isFile()) return;
    const fh = await open(at(dirFd, name), READ_FLAGS);
    try {
      const fst = await fh.stat();
      if (!fst.isFile()) return;
      if (fst.size > TAR_MAX_FILE_BYTES) throw errors.invalid(`${archName} is larger than 8 GiB, the most a tar entry holds here`);
      await addEntry(pack, { ...base, type: "file", size: fst.size }, async (w) => {
        for (let pos = 0; pos < fst.size; ) {
          // A fresh buffer each time: tar-stream keeps a reference until the reader took it.
          const buf = Buffer.allocUnsafe(Math.min(CHUNK, fst.size - pos));
          const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
          if (bytesRead === 0) throw errors.precondition(`${archName} shrank while it was being copied; copy it again`);
          pos += bytesRead;
          if (!w.write(buf.subarray(0, bytesRead))) await roomIn(w, pack);
          if (abandoned) throw new Error("the reader went away");
        }
      });
    } finally {
      await fh.close();
    }
  };

  void (async () => {
    const loc = await scope.locate(path);
    try {
      if (!loc.stat) throw errors.notFound(`${JSON.stringify(path)} does not exist`, { path });
      await emit(loc.dirFd, loc.name, topName, loc.stat, loc.rel);
    } finally {
      await loc.close();
    }
  })().then(
    () => {
      pack.finalize();
      onEnd();
    },
    (err) => {
      pack.destroy(err);
      onEnd();
    },
  );
  return pack;
}
