/**
 * Root-filesystem images: `<imagesDir>/<name>/rootfs` plus `<imagesDir>/<name>/image.json` (created_at, source, size).
 *
 * Every image is assembled in a hidden temp dir next to its final place (`.tmp-<name>-<pid>-<random>`) and renamed
 * into place at the end; `image.json` is written before the rename, so an image is either complete or absent and a
 * crashed build or import leaves nothing that `list` would show (stale temp dirs of dead processes are swept later).
 */
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { chmod, copyFile, mkdir, readFile, readdir, rename, rm, stat, statfs, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { ImageNameSchema, LIMITS, RuntaError, errors, type Image, type ImageBuildEvent } from "../api/index.js";
import { debianMirror } from "./host.js";
import { pidAlive } from "./proc.js";
import type { Logger } from "../log.js";

const execFileAsync = promisify(execFile);

/** The only image `build` knows how to make. */
export const DEFAULT_IMAGE = "default";
/** Debian release and packages of the default image. */
export const DEFAULT_IMAGE_SUITE = "bookworm";
export const DEFAULT_IMAGE_PACKAGES = ["python3", "ca-certificates", "procps", "bash"] as const;

/** What `image.json` holds. `build_ms` is how long a build or import took. */
interface ImageMeta {
  name: string;
  created_at: string;
  source: string;
  size_bytes: number;
  build_ms?: number;
}

interface BuildJob {
  promise: Promise<Image>;
  listeners: Set<(ev: ImageBuildEvent) => void>;
}

/** Images on disk under one directory. */
export class ImageStore {
  private readonly imagesDir: string;
  private readonly logger?: Logger;
  private readonly importMaxBytes: number;
  private readonly trustWarning: string | null;
  /** Builds in progress by name: a second request joins the first and gets its remaining events. */
  private readonly builds = new Map<string, BuildJob>();
  /** Names with a build or import in progress (so two imports of one name cannot race). */
  private readonly busy = new Set<string>();

  /**
   * `importMaxBytes` caps an import's (compressed) tarball; default {@link LIMITS.imageImportMaxBytes}.
   * `trustWarning` is logged on every import (from `runcTrustWarning` of the host's runc); default none.
   */
  constructor(opts: { imagesDir: string; logger?: Logger; importMaxBytes?: number; trustWarning?: string | null }) {
    this.imagesDir = opts.imagesDir;
    this.trustWarning = opts.trustWarning ?? null;
    this.logger = opts.logger;
    this.importMaxBytes = opts.importMaxBytes ?? LIMITS.imageImportMaxBytes;
  }

  /** Marks `name` busy for a new build or import, unless {@link LIMITS.imageJobsMaxConcurrent} jobs already run. */
  private startJob(name: string): void {
    const max = LIMITS.imageJobsMaxConcurrent;
    if (this.busy.size >= max) {
      throw errors.exhausted(`${max} image builds or imports are already in progress, the limit; retry when one has finished`, { limit: max });
    }
    this.busy.add(name);
  }

  /** Whether a complete image of this name exists. Invalid names simply do not exist. */
  exists(name: string): boolean {
    if (!ImageNameSchema.safeParse(name).success) return false;
    return existsSync(join(this.imagesDir, name, "image.json")) && existsSync(join(this.imagesDir, name, "rootfs"));
  }

  /** The rootfs directory of an image; `not_found` with the fix if the image does not exist. */
  rootfsPath(name: string): string {
    checkName(name);
    if (!this.exists(name)) throw notFoundError(name);
    return join(this.imagesDir, name, "rootfs");
  }

  /** Every complete image, by name. `in_use_by` is left empty: the engine fills it. Unreadable metadata is skipped with a warning. */
  async list(): Promise<Image[]> {
    let names: string[];
    try {
      names = await readdir(this.imagesDir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw err;
    }
    const images: Image[] = [];
    for (const name of names.sort()) {
      if (name.startsWith(".") || !ImageNameSchema.safeParse(name).success) continue;
      const meta = await this.readMeta(name);
      if (meta) images.push(toImage(meta));
    }
    return images;
  }

  /** One image's record; `not_found` if absent. */
  async get(name: string): Promise<Image> {
    checkName(name);
    const meta = this.exists(name) ? await this.readMeta(name) : undefined;
    if (!meta) throw notFoundError(name);
    return toImage(meta);
  }

  /**
   * Builds the default image (Debian bookworm minbase + python3, ca-certificates, procps, bash) with debootstrap from
   * the host's Debian mirror, reporting progress as it goes. An existing image is returned as is unless `force`.
   * A second call while a build runs joins it. Only {@link DEFAULT_IMAGE} is buildable; other images are imported.
   */
  async build(name: string, onEvent: (ev: ImageBuildEvent) => void, opts: { force?: boolean } = {}): Promise<Image> {
    checkName(name);
    if (name !== DEFAULT_IMAGE) {
      throw errors.invalid(`only the '${DEFAULT_IMAGE}' image can be built; import other images from a root-filesystem tarball`, {
        field: "name",
      });
    }
    const running = this.builds.get(name);
    if (running) {
      running.listeners.add(onEvent);
      onEvent({ type: "progress", message: `joining the build of '${name}' already in progress` });
      try {
        return await running.promise;
      } finally {
        running.listeners.delete(onEvent);
      }
    }
    if (this.exists(name) && !opts.force) {
      const image = await this.get(name);
      onEvent({ type: "progress", message: `image '${name}' is already built (${image.created_at}); use force to rebuild`, percent: 100 });
      return image;
    }
    if (this.busy.has(name)) throw errors.precondition(`an import of '${name}' is in progress; wait for it to finish`);

    const job: BuildJob = { promise: undefined as unknown as Promise<Image>, listeners: new Set([onEvent]) };
    const emit = (ev: ImageBuildEvent) => {
      for (const l of job.listeners) {
        try {
          l(ev);
        } catch (err) {
          // A listener that throws (e.g. a closed HTTP response) must not break the build for the others.
          this.logger?.warn("image build listener failed", { error: String(err) });
        }
      }
    };
    this.startJob(name);
    job.promise = this.buildDefault(name, emit, opts.force === true).finally(() => {
      this.builds.delete(name);
      this.busy.delete(name);
    });
    this.builds.set(name, job);
    try {
      return await job.promise;
    } finally {
      job.listeners.delete(onEvent);
    }
  }

  /**
   * Imports a root-filesystem tarball (plain, gzip or xz; e.g. `docker export` output) as image `name`, extracted by
   * GNU tar with numeric owners kept (tar refuses absolute paths and `..` escapes by itself). Refuses an existing name,
   * an invalid name, a stream over {@link LIMITS.imageImportMaxBytes}; a full disk is `resource_exhausted` (507).
   * Nothing is left behind on failure.
   */
  async import(name: string, stream: NodeJS.ReadableStream): Promise<Image> {
    checkName(name);
    if (this.exists(name)) throw errors.exists(`image '${name}' already exists; remove it first or pick another name`, { name });
    if (this.busy.has(name)) throw errors.exists(`image '${name}' is being built or imported right now; pick another name`, { name });
    this.startJob(name);
    if (this.trustWarning) this.logger?.warn(this.trustWarning, { image: name });
    const started = Date.now();
    let tmp: string | undefined;
    try {
      tmp = await this.makeTemp(name);
      const rootfs = join(tmp, "rootfs");
      await mkdir(rootfs, { mode: 0o755 });
      await extractTarball(stream, rootfs, this.importMaxBytes);
      await checkLooksLikeRootfs(rootfs);
      await ensureBaseDirs(rootfs);
      const meta: ImageMeta = {
        name,
        created_at: new Date().toISOString(),
        source: "import",
        size_bytes: await diskUsage(rootfs),
        build_ms: Date.now() - started,
      };
      await this.commit(tmp, name, meta, false);
      tmp = undefined;
      this.logger?.info("image imported", { image: name, size_bytes: meta.size_bytes, ms: meta.build_ms });
      return toImage(meta);
    } catch (err) {
      throw toDiskError(err, `importing image '${name}'`);
    } finally {
      this.busy.delete(name);
      if (tmp) await removeTree(tmp);
    }
  }

  /** Removes an image (the engine checks that no runtime uses it first). `not_found` if absent. */
  async remove(name: string): Promise<void> {
    checkName(name);
    if (this.busy.has(name)) throw errors.precondition(`image '${name}' is being built or imported; wait for it to finish`);
    if (!existsSync(join(this.imagesDir, name))) throw notFoundError(name);
    // Rename first so the image vanishes at once even if deleting its files takes a while or fails half-way.
    const doomed = join(this.imagesDir, `.rm-${name}-${process.pid}-${randomBytes(4).toString("hex")}`);
    await rename(join(this.imagesDir, name), doomed);
    await removeTree(doomed);
    this.logger?.info("image removed", { image: name });
  }

  private async buildDefault(name: string, emit: (ev: ImageBuildEvent) => void, force: boolean): Promise<Image> {
    const started = Date.now();
    const mirror = debianMirror();
    let tmp: string | undefined;
    try {
      await ensureDebootstrap();
      tmp = await this.makeTemp(name);
      const rootfs = join(tmp, "rootfs");
      emit({ type: "progress", message: `building image '${name}': debootstrap ${DEFAULT_IMAGE_SUITE} (minbase + ${DEFAULT_IMAGE_PACKAGES.join(", ")}) from ${mirror}`, percent: 0 });
      await runDebootstrap(rootfs, mirror, emit);
      emit({ type: "progress", message: "cleaning apt caches and host-specific files", percent: 96 });
      await finishDefaultRootfs(rootfs);
      const size = await diskUsage(rootfs);
      const buildMs = Date.now() - started;
      const meta: ImageMeta = {
        name,
        created_at: new Date().toISOString(),
        source: `debootstrap ${DEFAULT_IMAGE_SUITE} minbase + ${DEFAULT_IMAGE_PACKAGES.join(",")} from ${mirror}`,
        size_bytes: size,
        build_ms: buildMs,
      };
      await this.commit(tmp, name, meta, force);
      tmp = undefined;
      emit({ type: "progress", message: `built image '${name}' in ${(buildMs / 1000).toFixed(1)} s (${formatMib(size)})`, percent: 100 });
      this.logger?.info("image built", { image: name, ms: buildMs, size_bytes: size, mirror });
      return toImage(meta);
    } catch (err) {
      const e = toDiskError(err, `building image '${name}'`);
      this.logger?.error("image build failed", { image: name, error: e.message });
      throw e;
    } finally {
      if (tmp) await removeTree(tmp);
    }
  }

  /** Creates a fresh temp dir for `name` next to the images, after sweeping leftovers of dead processes. */
  private async makeTemp(name: string): Promise<string> {
    await mkdir(this.imagesDir, { recursive: true, mode: 0o700 });
    await this.sweepStale();
    const dir = join(this.imagesDir, `.tmp-${name}-${process.pid}-${randomBytes(4).toString("hex")}`);
    await mkdir(dir, { mode: 0o700 });
    return dir;
  }

  /** Removes temp and half-removed dirs left by processes that died (a crashed build), never those of live ones. */
  private async sweepStale(): Promise<void> {
    for (const entry of await readdir(this.imagesDir)) {
      const m = /^\.(?:tmp|rm|old)-.+-(\d+)-[0-9a-f]{8}$/.exec(entry);
      if (!m || Number(m[1]) === process.pid || pidAlive(Number(m[1]))) continue;
      this.logger?.warn("removing leftovers of an interrupted image operation", { dir: entry });
      await removeTree(join(this.imagesDir, entry));
    }
  }

  /** Writes the metadata and renames the temp dir into place (replacing an older image only when `replace`). */
  private async commit(tmp: string, name: string, meta: ImageMeta, replace: boolean): Promise<void> {
    await writeFile(join(tmp, "image.json"), JSON.stringify(meta, null, 2) + "\n", { mode: 0o644 });
    await chmod(tmp, 0o755);
    const final = join(this.imagesDir, name);
    if (replace && existsSync(final)) {
      const old = join(this.imagesDir, `.old-${name}-${process.pid}-${randomBytes(4).toString("hex")}`);
      await rename(final, old);
      await rename(tmp, final);
      await removeTree(old);
      return;
    }
    try {
      await rename(tmp, final);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOTEMPTY" || code === "EEXIST") throw errors.exists(`image '${name}' already exists; remove it first or pick another name`, { name });
      throw err;
    }
  }

  private async readMeta(name: string): Promise<ImageMeta | undefined> {
    const file = join(this.imagesDir, name, "image.json");
    try {
      const meta = JSON.parse(await readFile(file, "utf8")) as ImageMeta;
      if (typeof meta.created_at !== "string" || typeof meta.size_bytes !== "number") throw new Error("missing fields");
      return { ...meta, name };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") {
        this.logger?.warn("skipping image with unreadable metadata", { image: name, file, error: String(err) });
      }
      return undefined;
    }
  }
}

/**
 * Creates (once; idempotent) a tiny image from the host's static busybox for fast tests: `/bin/busybox` plus a
 * symlink per applet in `/bin`, `/etc/passwd`, `/etc/group`, and the usual empty directories.
 */
export async function createBusyboxImage(imagesDir: string, name = "busybox"): Promise<void> {
  checkName(name);
  const final = join(imagesDir, name);
  if (existsSync(join(final, "image.json")) && existsSync(join(final, "rootfs", "bin", "busybox"))) return;
  const busybox = "/usr/bin/busybox";
  if (!existsSync(busybox)) {
    throw errors.precondition(`${busybox} was not found; install it with 'apt-get install busybox-static'`);
  }
  await mkdir(imagesDir, { recursive: true, mode: 0o700 });
  const tmp = join(imagesDir, `.tmp-${name}-${process.pid}-${randomBytes(4).toString("hex")}`);
  try {
    const rootfs = join(tmp, "rootfs");
    await mkdir(join(rootfs, "bin"), { recursive: true, mode: 0o755 });
    await copyFile(busybox, join(rootfs, "bin", "busybox"));
    await chmod(join(rootfs, "bin", "busybox"), 0o755);
    const { stdout } = await execFileAsync(busybox, ["--list"]);
    for (const applet of stdout.split("\n").map((s) => s.trim())) {
      if (!applet || applet === "busybox" || applet.includes("/")) continue;
      await symlink("busybox", join(rootfs, "bin", applet));
    }
    await mkdir(join(rootfs, "etc"), { mode: 0o755 });
    await writeFile(join(rootfs, "etc", "passwd"), "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n");
    await writeFile(join(rootfs, "etc", "group"), "root:x:0:\nnogroup:x:65534:\n");
    await writeFile(join(rootfs, "etc", "hosts"), HOSTS_FILE);
    await ensureBaseDirs(rootfs);
    // Programs that look for /usr/bin/env, /usr/bin/sh etc. find them through the usual merged-/usr links.
    await mkdir(join(rootfs, "usr"), { mode: 0o755 });
    await symlink("../bin", join(rootfs, "usr", "bin"));
    await symlink("bin", join(rootfs, "sbin"));
    const meta: ImageMeta = {
      name,
      created_at: new Date().toISOString(),
      source: `busybox from ${busybox}`,
      size_bytes: await diskUsage(rootfs),
    };
    await writeFile(join(tmp, "image.json"), JSON.stringify(meta, null, 2) + "\n");
    await chmod(tmp, 0o755);
    try {
      await rename(tmp, final);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // Another process created it at the same time: theirs is as good as ours.
      if (code !== "ENOTEMPTY" && code !== "EEXIST") throw err;
    }
  } finally {
    if (existsSync(tmp)) await removeTree(tmp);
  }
}

/**
 * Turns debootstrap's output lines into progress events with a rough, never decreasing percent.
 * debootstrap does not print its package count up front, so the download phase is measured against an expected
 * count (≈ 115 packages for the default image); later phases count against the packages actually downloaded.
 */
export class DebootstrapProgress {
  private retrieved = 0;
  private extracted = 0;
  private unpacked = 0;
  private configured = 0;
  private last = 0;
  /** Error (`E:`) lines seen, for the failure message. */
  readonly errorLines: string[] = [];

  constructor(private readonly expectedPackages = 115) {}

  /** The event for one output line, or undefined for lines not worth reporting. */
  feed(rawLine: string): { message: string; percent: number } | undefined {
    const line = rawLine.trim();
    if (!line) return undefined;
    const [tag, rest] = [line.slice(0, 2), line.slice(2).trim()];
    if (tag === "E:") {
      this.errorLines.push(rest);
      return this.event(`error: ${rest}`);
    }
    if (tag === "W:") return this.event(`warning: ${rest}`);
    if (tag !== "I:") return undefined;
    let m: RegExpExecArray | null;
    if ((m = /^Retrieving (\S+)(?:\s+(\S+))?$/.exec(rest))) {
      if (m[1] === "InRelease" || m[1] === "Release" || m[1] === "Packages") return this.event(`downloading the ${m[1]} index`);
      this.retrieved++;
      return this.event(`downloading ${m[1]}${m[2] ? ` ${m[2]}` : ""} (${this.retrieved})`);
    }
    if (/^Validating /.test(rest)) return undefined;
    if ((m = /^Extracting (\S+?)\.\.\.$/.exec(rest))) {
      this.extracted++;
      return this.event(`extracting ${m[1]}`);
    }
    // Phase lines ("Unpacking required packages...") have spaces, so these only match one package each.
    if ((m = /^Unpacking (\S+?)\.\.\.$/.exec(rest))) {
      this.unpacked++;
      return this.event(`unpacking ${m[1]}`);
    }
    if ((m = /^Configuring (\S+?)\.\.\.$/.exec(rest))) {
      this.configured++;
      return this.event(`configuring ${m[1]}`);
    }
    if (/^Base system installed successfully/.test(rest)) {
      this.last = Math.max(this.last, 95);
      return this.event("base system installed");
    }
    return this.event(rest.replace(/\.\.\.$/, ""));
  }

  /** The current estimate, 0-95 (the last 5 % are runta's own finishing steps). */
  percent(): number {
    const downloading = this.extracted + this.unpacked + this.configured === 0;
    const total = Math.max(1, downloading ? Math.max(this.expectedPackages, this.retrieved) : this.retrieved);
    // Rough weights of the phases in wall time: download 30 %, extract 10 %, unpack 25 %, configure 30 %.
    const raw =
      30 * Math.min(1, this.retrieved / total) +
      10 * Math.min(1, this.extracted / total) +
      25 * Math.min(1, this.unpacked / total) +
      30 * Math.min(1, this.configured / total);
    this.last = Math.max(this.last, Math.min(95, Math.floor(raw)));
    return this.last;
  }

  private event(message: string): { message: string; percent: number } {
    return { message, percent: this.percent() };
  }
}

const HOSTS_FILE = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";

async function ensureDebootstrap(): Promise<void> {
  for (const p of ["/usr/sbin/debootstrap", "/sbin/debootstrap", "/usr/bin/debootstrap"]) if (existsSync(p)) return;
  throw errors.precondition("debootstrap was not found; install it with 'apt-get install debootstrap' and retry");
}

/** Runs debootstrap into `rootfs`, turning its output into progress events; its own error lines make the failure message. */
async function runDebootstrap(rootfs: string, mirror: string, emit: (ev: ImageBuildEvent) => void): Promise<void> {
  const args = [
    "--variant=minbase",
    `--include=${DEFAULT_IMAGE_PACKAGES.join(",")}`,
    DEFAULT_IMAGE_SUITE,
    rootfs,
    mirror,
  ];
  const child = spawn("debootstrap", args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LANG: "C.UTF-8", DEBIAN_FRONTEND: "noninteractive" },
  });
  const progress = new DebootstrapProgress();
  const tail: string[] = [];
  const onLine = (line: string) => {
    tail.push(line);
    if (tail.length > 20) tail.shift();
    const ev = progress.feed(line);
    if (ev) emit({ type: "progress", ...ev });
  };
  createInterface({ input: child.stdout }).on("line", onLine);
  createInterface({ input: child.stderr }).on("line", onLine);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (c, s) => resolve([c, s]));
  });
  if (code === 0) return;
  // debootstrap mounts /proc and /sys into the target while it works; a failure can leave them behind.
  await unmountUnder(rootfs);
  const why = progress.errorLines.length > 0 ? progress.errorLines.join("; ") : tail.filter(Boolean).slice(-5).join(" | ");
  if (/No space left on device/i.test(tail.join("\n")) || (await nearlyFull(rootfs))) throw noSpace("building the default image");
  throw new RuntaError(
    "unavailable",
    `debootstrap failed (${signal ? `signal ${signal}` : `exit ${code}`}) while building the default image from ${mirror}: ${why}. ` +
      "Check that the mirror is reachable (apt sources in /etc/apt) and retry",
  );
}

/** Makes a fresh debootstrap independent of the build host and small: caches out, host name and DNS out. */
async function finishDefaultRootfs(rootfs: string): Promise<void> {
  await unmountUnder(rootfs);
  await emptyDir(join(rootfs, "var", "cache", "apt", "archives"), (f) => f.endsWith(".deb"));
  await emptyDir(join(rootfs, "var", "cache", "apt"), (f) => f.endsWith(".bin"));
  await emptyDir(join(rootfs, "var", "lib", "apt", "lists"), (f) => f !== "partial" && f !== "lock");
  await rm(join(rootfs, "debootstrap"), { recursive: true, force: true });
  // debootstrap copies the build host's name and DNS servers in; neither belongs in an image shared by runtimes.
  await writeFile(join(rootfs, "etc", "hostname"), "runtime\n");
  await rm(join(rootfs, "etc", "resolv.conf"), { force: true });
  await writeFile(join(rootfs, "etc", "resolv.conf"), "# runta: runtimes have no outside network yet; the engine replaces this file when they do\n");
  await writeFile(join(rootfs, "etc", "hosts"), HOSTS_FILE);
  await ensureBaseDirs(rootfs);
}

/** Directories every runtime needs, with the modes programs expect. */
async function ensureBaseDirs(rootfs: string): Promise<void> {
  for (const [dir, mode] of [["proc", 0o555], ["sys", 0o555], ["dev", 0o755], ["root", 0o700], ["tmp", 0o1777], ["etc", 0o755]] as const) {
    const path = join(rootfs, dir);
    if (!existsSync(path)) await mkdir(path, { mode });
    // mkdir's mode is filtered by the umask; the sticky world-writable /tmp must be exact.
    if (dir === "tmp") await chmod(path, 0o1777);
  }
}

async function emptyDir(dir: string, keep: (file: string) => boolean): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return;
  }
  for (const f of entries) if (keep(f)) await rm(join(dir, f), { recursive: true, force: true });
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

/**
 * Whether the filesystem holding `dir` is (nearly) full: GNU tar often reports a full disk only as a short write
 * ("Wrote only 4608 of 10240 bytes"), so a failed extraction also looks at the free space left.
 */
async function nearlyFull(dir: string): Promise<boolean> {
  try {
    const fs = await statfs(dir);
    return fs.bfree * fs.bsize < 1024 * 1024 || fs.ffree === 0;
  } catch {
    return false;
  }
}

/** Bytes used on disk by a directory tree (du, staying on one filesystem). */
async function diskUsage(dir: string): Promise<number> {
  const { stdout } = await execFileAsync("du", ["-s", "-x", "-B1", dir]);
  return Number(stdout.split(/\s/)[0]) || 0;
}

/** Unmounts anything mounted at or below `dir` (deepest first), lazily so a busy mount cannot block the cleanup. */
async function unmountUnder(dir: string): Promise<void> {
  let mounts: string;
  try {
    mounts = readFileSync("/proc/self/mounts", "utf8");
  } catch {
    return;
  }
  const targets = mounts
    .split("\n")
    .map((l) => l.split(" ")[1])
    .filter((t): t is string => !!t)
    .map((t) => t.replace(/\\040/g, " "))
    .filter((t) => t === dir || t.startsWith(dir + "/"))
    .sort((a, b) => b.length - a.length);
  for (const t of targets) {
    try {
      await execFileAsync("umount", ["-l", t]);
    } catch {
      // Already gone: nothing to do.
    }
  }
}

/** Deletes a tree after unmounting anything inside it, so an rm can never recurse into a live /proc or /sys. */
async function removeTree(dir: string): Promise<void> {
  await unmountUnder(dir);
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
}

function checkName(name: string): void {
  const r = ImageNameSchema.safeParse(name);
  if (!r.success) {
    const shown = JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}…` : name);
    throw errors.invalid(`invalid image name ${shown}: ${r.error.issues[0]?.message ?? "bad name"}`, { field: "name" });
  }
}

function notFoundError(name: string): RuntaError {
  const fix = name === DEFAULT_IMAGE ? "build it with 'runta image build'" : "import it with 'runta image import' or list images with 'runta image ls'";
  return errors.notFound(`image '${name}' not found; ${fix}`, { name });
}

function noSpace(what: string): RuntaError {
  return errors.exhausted(`the disk is full while ${what}; free some space (e.g. remove unused images or runtimes) and retry`, undefined, 507);
}

/** A full disk anywhere in an import or build becomes `resource_exhausted` (507); RuntaErrors pass through. */
function toDiskError(err: unknown, what: string): RuntaError {
  if (err instanceof RuntaError) return err;
  if ((err as NodeJS.ErrnoException)?.code === "ENOSPC") return noSpace(what);
  return errors.internal(`${what} failed: ${(err as Error)?.message ?? String(err)}`, err);
}

function toImage(meta: ImageMeta): Image {
  return { name: meta.name, size_bytes: meta.size_bytes, created_at: meta.created_at, source: meta.source, in_use_by: [] };
}

function formatMib(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GiB` : `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}

