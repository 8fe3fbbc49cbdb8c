/**
 * Path resolution confined to a directory (a runtime's root, or a target directory inside it), the way
 * openat2(RESOLVE_IN_ROOT) does it, which node does not offer.
 *
 * Each component is looked up in a directory the resolver holds open, through `/proc/self/fd/<fd>/<name>`: the kernel
 * follows the fd's magic link to exactly that directory (never re-resolving a path string), then looks up one plain
 * name in it. Directories are opened O_PATH|O_NOFOLLOW|O_DIRECTORY, so a component that turned into a symlink between
 * the look-up and the open fails instead of being followed. Symlinks are read and resolved here, by hand: an absolute
 * target restarts at the scope's root and `..` pops a directory this resolver opened, never above the root. So a
 * runtime's `/etc/shadow -> /etc/shadow` or `x -> ../../..` stays inside the runtime, even while processes in the
 * runtime race to swap directories for symlinks.
 *
 * Why not the alternatives: checking a path string with lstat and then using it races with the runtime (TOCTOU); a
 * chroot or the runtime's mount namespace would run a tar binary (the runtime's own, or the host's after chroot) with
 * host root privileges next to files the runtime controls; `runc exec tar` needs a running runtime and a tar in it.
 */
import { constants as fsc, type Stats } from "node:fs";
import { lstat, mkdir, open, readlink, type FileHandle } from "node:fs/promises";
import { errors } from "../../api/index.js";

/** O_PATH (Linux): an fd that names a directory without opening it for reading; node's constants lack it. */
const O_PATH = 0o10000000;
const DIR_FLAGS = O_PATH | fsc.O_DIRECTORY | fsc.O_NOFOLLOW;
/** Symlinks followed in one resolution before giving up, as the kernel's ELOOP limit. */
const MAX_LINKS = 40;

/** `name` inside the directory open as `fd`, as a path the kernel resolves through that fd. */
export function at(fd: number, name: string): string {
  return `/proc/self/fd/${fd}/${name}`;
}

/** The components of a path, `.` and empty ones dropped (`..` kept: the resolver handles it). */
export function pathParts(path: string): string[] {
  return path.split("/").filter((p) => p !== "" && p !== ".");
}

/**
 * A directory of the host mounted inside the scope (a runtime's volume): resolution crosses into it at `path`, as
 * the kernel does at a mount point, and `..` at its top comes back out.
 */
export interface ScopeMount {
  /** Where, relative to the scope's root, normalised (`work`, `srv/data`). */
  path: string;
  hostDir: string;
  readOnly: boolean;
  /** How it is named in messages (`volume "data"`). */
  label: string;
}

/** Where a path ends: the directory that holds its last component (open as `dirFd`) and that component's name. */
export interface Location {
  dirFd: number;
  /** `.` when the path is the scope's root itself (or a directory reached by `..`/a symlink at the end). */
  name: string;
  /** lstat of the last component, null when it does not exist. */
  stat: Stats | null;
  /** The kernel path of the last component (through `dirFd`). */
  readonly path: string;
  /** The path, resolved, relative to the scope's root (`""` for the root itself). */
  rel: string;
  /** The mount `dirFd` lies in (null: the scope's own tree). */
  mount: ScopeMount | null;
  /** Closes `dirFd` (a no-op when it is the scope's root). */
  close(): Promise<void>;
}

/** Options of {@link Scope.locate}. */
export interface LocateOptions {
  /** Follow a symlink at the last component too (default false: the link itself is the answer). */
  followLast?: boolean;
  /** Create missing intermediate directories with this mode (owned by root); default: a missing one is `not_found`. */
  mkdirMode?: number;
  /** The caller will write there: a location in a read-only mount is refused (the host side of a mount is writable). */
  forWrite?: boolean;
}

function isErrno(err: unknown, ...codes: string[]): boolean {
  return codes.includes((err as NodeJS.ErrnoException)?.code ?? "");
}

/** A directory held open, from which paths are resolved without ever leaving it. */
export class Scope {
  private constructor(
    private readonly root: FileHandle,
    /** How the scope's root is named in messages (e.g. the path inside the runtime). */
    readonly label: string,
    /** Mounts below the root, and the one the root itself lies in. */
    private readonly mounts: readonly ScopeMount[] = [],
    private readonly within: ScopeMount | null = null,
  ) {}

  /** Opens `hostDir` as a scope (itself not a symlink), with host directories mounted inside it. */
  static async open(hostDir: string, label = "/", mounts: readonly ScopeMount[] = []): Promise<Scope> {
    return new Scope(await open(hostDir, DIR_FLAGS), label, mounts);
  }

  /** The mount at `rel` (relative to the root, normalised), if one is there. */
  mountAt(rel: string): ScopeMount | undefined {
    return this.mounts.find((m) => m.path === rel);
  }

  private refuseReadOnly(mount: ScopeMount | null, parts: string[]): void {
    if (mount?.readOnly) {
      throw errors.precondition(`${JSON.stringify(this.shown(parts))} is on ${mount.label}, which this runtime mounts read-only; copy into a runtime that mounts it read-write`, {
        path: this.shown(parts),
      });
    }
  }

  get fd(): number {
    return this.root.fd;
  }

  async close(): Promise<void> {
    await this.root.close();
  }

  private shown(parts: string[]): string {
    return (this.label.replace(/\/$/, "") + "/" + parts.join("/")).replace(/^\/\//, "/");
  }

  /**
   * A new scope at the directory `path` names inside this one (symlinks followed, confined to this scope). Missing,
   * or not a directory, is `not_found` / `invalid_argument`.
   */
  async sub(path: string, label = path): Promise<Scope> {
    const loc = await this.locate(path, { followLast: true });
    try {
      if (!loc.stat) throw errors.notFound(`directory ${JSON.stringify(label)} does not exist`, { path: label });
      if (!loc.stat.isDirectory()) throw errors.invalid(`${JSON.stringify(label)} is not a directory`, { path: label });
      // The mounts below the new root, relative to it; the root itself lies in the mount its directory is in.
      const prefix = loc.rel ? loc.rel + "/" : "";
      const below = this.mounts.filter((m) => m.path.startsWith(prefix) && m.path !== loc.rel).map((m) => ({ ...m, path: m.path.slice(prefix.length) }));
      return new Scope(await open(loc.path, DIR_FLAGS), label, below, loc.mount);
    } finally {
      await loc.close();
    }
  }

  /**
   * Resolves `path` (relative to the scope's root; a leading `/` means the same) component by component, following
   * symlinks inside the scope. A missing intermediate component is `not_found` (or created with `mkdirMode`), a
   * non-directory one `invalid_argument`. The caller closes the returned location.
   */
  async locate(path: string, opts: LocateOptions = {}): Promise<Location> {
    const todo = pathParts(path);
    const stack: FileHandle[] = [];
    /** The mount each directory of `stack` lies in. */
    const inMount: Array<ScopeMount | null> = [];
    const walked: string[] = [];
    let links = 0;
    const top = () => stack.at(-1)?.fd ?? this.root.fd;
    const mountNow = () => (inMount.length ? inMount.at(-1)! : this.within);
    const done = (name: string, stat: Stats | null): Location => {
      const mount = mountNow();
      if (opts.forWrite) this.refuseReadOnly(mount, name === "." ? walked : [...walked, name]);
      const rel = (name === "." ? walked : [...walked, name]).join("/");
      const owned = stack.pop();
      inMount.pop();
      const dirFd = owned?.fd ?? this.root.fd;
      return { dirFd, name, stat, path: at(dirFd, name), rel, mount, close: async () => void (await owned?.close()) };
    };
    try {
      for (;;) {
        const name = todo.shift();
        if (name === undefined) {
          // Ended on a directory we hold (the root, or reached through `..` or a symlink): describe it as itself.
          return done(".", await lstat(at(top(), ".")));
        }
        if (name === "..") {
          await stack.pop()?.close();
          inMount.pop();
          walked.pop();
          continue;
        }
        const last = todo.length === 0;
        const mount = this.mountAt([...walked, name].join("/"));
        if (mount) {
          // A mount point: what the tree has there is hidden, as in the runtime; go on inside the mounted directory.
          stack.push(await open(mount.hostDir, DIR_FLAGS));
          inMount.push(mount);
          walked.push(name);
          if (last) return done(".", await lstat(at(top(), ".")));
          continue;
        }
        const full = at(top(), name);
        let st = await lstat(full).catch((err) => {
          if (isErrno(err, "ENOENT")) return null;
          throw err;
        });
        if (!st) {
          if (last) return done(name, null);
          if (opts.mkdirMode === undefined) throw errors.notFound(`${JSON.stringify(this.shown([...walked, name]))} does not exist`, { path: this.shown([...walked, name]) });
          this.refuseReadOnly(mountNow(), [...walked, name]);
          await mkdir(full, { mode: opts.mkdirMode }).catch((err) => {
            if (!isErrno(err, "EEXIST")) throw err;
          });
          st = await lstat(full);
        }
        if (st.isSymbolicLink() && (!last || opts.followLast)) {
          if (++links > MAX_LINKS) throw errors.invalid(`too many levels of symbolic links at ${JSON.stringify(this.shown([...walked, name]))}`);
          const target = await readlink(full);
          if (target.startsWith("/")) {
            // An absolute target starts again at the scope's root, never at the host's.
            while (stack.length) await stack.pop()!.close();
            inMount.length = 0;
            walked.length = 0;
          }
          todo.unshift(...pathParts(target));
          continue;
        }
        if (last) return done(name, st);
        if (!st.isDirectory()) throw errors.invalid(`${JSON.stringify(this.shown([...walked, name]))} is not a directory`, { path: this.shown([...walked, name]) });
        try {
          stack.push(await open(full, DIR_FLAGS));
          inMount.push(mountNow());
        } catch (err) {
          // Swapped for a symlink (or removed) since the lstat: refuse rather than follow.
          if (isErrno(err, "ELOOP", "ENOTDIR", "ENOENT")) throw errors.precondition(`${JSON.stringify(this.shown([...walked, name]))} changed while being resolved; try again`);
          throw err;
        }
        walked.push(name);
      }
    } finally {
      // Everything but the directory handed to the caller.
      for (const fh of stack) await fh.close();
    }
  }
}
