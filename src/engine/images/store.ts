/**
 * The image store: root-filesystem images on disk, `<imagesDir>/<name>/rootfs` plus `<imagesDir>/<name>/image.json`
 * (created_at, source, size, python version). The default image is made by the debootstrap builder (debootstrap.ts),
 * others come from the tarball importer (tarball.ts) or are derived: packages installed over a parent (packages.ts),
 * whose `rootfs` is then one layer stacked over the parent's ({@link ImageStore.layers}). This holds the names, the
 * jobs in progress and the atomic commit.
 *
 * Every image is assembled in a hidden temp dir next to its final place (`.tmp-<name>-<pid>-<random>`) and renamed
 * into place at the end; `image.json` is written before the rename, so an image is either complete or absent and a
 * crashed build or import leaves nothing that `list` would show (stale temp dirs of dead processes are swept later).
 */
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { chmod, mkdir, readFile, readdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ImageNameSchema, LIMITS, RuntaError, errors, type Image, type ImageBuildEvent } from "../../api/index.js";
import { debianMirror } from "../host.js";
import { pidAlive } from "../proc.js";
import type { Logger } from "../../log.js";
import { debootstrapRootfs, debootstrapSource, ensureDebootstrap } from "./debootstrap.js";
import { diskUsage, formatMib, noSpace, removeTree, type ImageMeta } from "./files.js";
import { pythonVersion } from "./python.js";
import { importRootfs } from "./tarball.js";

/** The base image `build` makes with debootstrap; every other build derives an image from one (packages over a parent). */
export const DEFAULT_IMAGE = "default";

/** How deep derived images may stack (a derived image of a derived image …): overlayfs takes ~500 lower dirs, checkpoints need some. */
const MAX_IMAGE_DEPTH = 16;

/**
 * A derived image to build: `packages` over `parent`, installed by `install` (the engine's build runtime,
 * packages.ts) into `layer`, a fresh directory that becomes the image's one layer over its parent.
 */
export interface DeriveSpec {
  parent: string;
  packages: string[];
  install(layer: string, emit: (ev: ImageBuildEvent) => void): Promise<void>;
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
  /** Python versions read from the files of images whose image.json predates the field, by name@created_at. */
  private readonly pythons = new Map<string, string | null>();

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

  /** The rootfs directory of an image (for a derived image, its own layer only); `not_found` with the fix if absent. */
  rootfsPath(name: string): string {
    checkName(name);
    if (!this.exists(name)) throw notFoundError(name);
    return join(this.imagesDir, name, "rootfs");
  }

  /**
   * The directories a runtime on `name` mounts as overlayfs lower dirs, top first: a derived image's layer, then its
   * parent's layers down to the base image's rootfs. `not_found` when one of them is missing.
   */
  layers(name: string): string[] {
    const dirs: string[] = [];
    for (let cur: string | undefined = name; cur !== undefined; cur = this.metaSync(cur)?.parent) {
      if (dirs.length >= MAX_IMAGE_DEPTH) throw errors.precondition(`image '${name}' stands on more than ${MAX_IMAGE_DEPTH} images; build it from a base image instead`);
      dirs.push(this.rootfsPath(cur));
    }
    return dirs;
  }

  /** The images standing directly on `name` (derived from it). */
  async children(name: string): Promise<string[]> {
    return (await this.list()).filter((img) => img.parent === name).map((img) => img.name);
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
      if (meta) images.push(toImage(meta, await this.pythonOf(meta)));
    }
    return images;
  }

  /** One image's record; `not_found` if absent. */
  async get(name: string): Promise<Image> {
    checkName(name);
    const meta = this.exists(name) ? await this.readMeta(name) : undefined;
    if (!meta) throw notFoundError(name);
    return toImage(meta, await this.pythonOf(meta));
  }

  /**
   * The python3 version an image carries: recorded at build or import; read from its files (python.ts) for images
   * made before it was recorded, once per daemon.
   */
  private async pythonOf(meta: ImageMeta): Promise<string | null> {
    if (meta.python_version !== undefined) return meta.python_version;
    const key = `${meta.name}@${meta.created_at}`;
    let known = this.pythons.get(key);
    if (known === undefined) {
      known = await pythonVersion(this.layers(meta.name)).catch(() => null);
      this.pythons.set(key, known);
    }
    return known;
  }

  /**
   * Builds an image, reporting progress as it goes: the default image (Debian bookworm minbase + the packages of
   * debootstrap.ts, with debootstrap from the host's Debian mirror), or with `derive` an image of packages over a parent
   * (one layer, made by `derive.install`). An existing image is returned as is unless `force`. A second call while a
   * build of the same name runs joins it (so concurrent creates asking for one new package set build it once).
   */
  async build(name: string, onEvent: (ev: ImageBuildEvent) => void, opts: { force?: boolean; derive?: DeriveSpec } = {}): Promise<Image> {
    checkName(name);
    if (name !== DEFAULT_IMAGE && !opts.derive) {
      throw errors.invalid(`only the '${DEFAULT_IMAGE}' image can be built from nothing; build others with packages over it (runta image build --package NAME) or import them from a root-filesystem tarball`, {
        field: "name",
      });
    }
    if (name === DEFAULT_IMAGE && opts.derive) throw errors.invalid(`'${DEFAULT_IMAGE}' is the base image's name; give the derived image another`, { field: "name" });
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
    if (opts.derive && !this.exists(opts.derive.parent)) throw notFoundError(opts.derive.parent);

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
    const work = opts.derive ? this.buildDerived(name, opts.derive, emit, opts.force === true) : this.buildDefault(name, emit, opts.force === true);
    job.promise = work.finally(() => {
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
    try {
      const meta = await this.make(name, `importing image '${name}'`, false, async (rootfs) => {
        await mkdir(rootfs, { mode: 0o755 });
        await importRootfs(stream, rootfs, this.importMaxBytes);
        return {
          name,
          created_at: new Date().toISOString(),
          source: "import",
          size_bytes: await diskUsage(rootfs),
          build_ms: Date.now() - started,
          python_version: await pythonVersion([rootfs]),
        };
      });
      this.logger?.info("image imported", { image: name, size_bytes: meta.size_bytes, ms: meta.build_ms });
      return toImage(meta, meta.python_version ?? null);
    } finally {
      this.busy.delete(name);
    }
  }

  /** Removes an image (the engine checks that no runtime uses it first). `not_found` if absent. */
  async remove(name: string): Promise<void> {
    checkName(name);
    if (this.busy.has(name)) throw errors.precondition(`image '${name}' is being built or imported; wait for it to finish`);
    if (!existsSync(join(this.imagesDir, name))) throw notFoundError(name);
    const children = await this.children(name);
    if (children.length) {
      throw errors.precondition(`image '${name}' is the parent of ${children.join(", ")}; remove them first: runta image rm ${children.join(" ")}`, { children });
    }
    // Rename first so the image vanishes at once even if deleting its files takes a while or fails half-way.
    const doomed = join(this.imagesDir, `.rm-${name}-${process.pid}-${randomBytes(4).toString("hex")}`);
    await rename(join(this.imagesDir, name), doomed);
    await removeTree(doomed);
    this.logger?.info("image removed", { image: name });
  }

  private async buildDefault(name: string, emit: (ev: ImageBuildEvent) => void, force: boolean): Promise<Image> {
    const started = Date.now();
    const mirror = debianMirror();
    let buildMs = 0;
    try {
      const meta = await this.make(name, `building image '${name}'`, force, async (rootfs) => {
        await ensureDebootstrap();
        await debootstrapRootfs(rootfs, mirror, name, emit);
        const size = await diskUsage(rootfs);
        buildMs = Date.now() - started;
        return {
          name,
          created_at: new Date().toISOString(),
          source: debootstrapSource(mirror),
          size_bytes: size,
          build_ms: buildMs,
          python_version: await pythonVersion([rootfs]),
        };
      });
      const size = meta.size_bytes;
      emit({ type: "progress", message: `built image '${name}' in ${(buildMs / 1000).toFixed(1)} s (${formatMib(size)})`, percent: 100 });
      this.logger?.info("image built", { image: name, ms: buildMs, size_bytes: size, mirror });
      return toImage(meta, meta.python_version ?? null);
    } catch (err) {
      this.logger?.error("image build failed", { image: name, error: (err as Error).message });
      throw err;
    }
  }

  /**
   * Builds `name` as one layer of `derive.packages` over `derive.parent`: the layer is made in a temp dir by
   * `derive.install` and committed like any image, so a failed build leaves nothing (no image, no layer dir).
   */
  private async buildDerived(name: string, derive: DeriveSpec, emit: (ev: ImageBuildEvent) => void, force: boolean): Promise<Image> {
    const started = Date.now();
    let buildMs = 0;
    try {
      const meta = await this.make(name, `building image '${name}'`, force, async (layer) => {
        await derive.install(layer, emit);
        buildMs = Date.now() - started;
        return {
          name,
          created_at: new Date().toISOString(),
          source: `packages over ${derive.parent}: ${derive.packages.join(" ")}`,
          size_bytes: await diskUsage(layer),
          build_ms: buildMs,
          parent: derive.parent,
          packages: derive.packages,
          python_version: await pythonVersion([layer, ...this.layers(derive.parent)]),
        };
      });
      emit({ type: "progress", message: `built image '${name}' in ${(buildMs / 1000).toFixed(1)} s (a ${formatMib(meta.size_bytes)} layer over '${derive.parent}')`, percent: 100 });
      this.logger?.info("image built", { image: name, parent: derive.parent, packages: derive.packages, ms: buildMs, size_bytes: meta.size_bytes });
      return toImage(meta, meta.python_version ?? null);
    } catch (err) {
      this.logger?.warn("image build failed", { image: name, error: (err as Error).message });
      throw err;
    }
  }

  /**
   * Makes image `name` in a fresh temp dir: `fill` puts its root (or its layer over a parent) into the `rootfs` dir it
   * is given and answers the image's metadata; then the temp dir is committed. A failure leaves nothing behind (no
   * image, no temp dir), and a full disk is `resource_exhausted` (`doing` names the operation in the message).
   */
  private async make(name: string, doing: string, replace: boolean, fill: (rootfs: string) => Promise<ImageMeta>): Promise<ImageMeta> {
    let tmp: string | undefined;
    try {
      tmp = await this.makeTemp(name);
      const meta = await fill(join(tmp, "rootfs"));
      await this.commit(tmp, name, meta, replace);
      tmp = undefined;
      return meta;
    } catch (err) {
      throw toDiskError(err, doing);
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

  /** An image's metadata, read synchronously (for {@link layers}, on the boot path); undefined when unreadable. */
  private metaSync(name: string): ImageMeta | undefined {
    try {
      return JSON.parse(readFileSync(join(this.imagesDir, name, "image.json"), "utf8")) as ImageMeta;
    } catch {
      return undefined;
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

/** Refuses an invalid image name with the rule it breaks. */
export function checkName(name: string): void {
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

/** A full disk anywhere in an import or build becomes `resource_exhausted` (507); RuntaErrors pass through. */
function toDiskError(err: unknown, what: string): RuntaError {
  if (err instanceof RuntaError) return err;
  if ((err as NodeJS.ErrnoException)?.code === "ENOSPC") return noSpace(what);
  return errors.internal(`${what} failed: ${(err as Error)?.message ?? String(err)}`, err);
}

function toImage(meta: ImageMeta, pythonVersion: string | null): Image {
  return {
    name: meta.name,
    size_bytes: meta.size_bytes,
    created_at: meta.created_at,
    source: meta.source,
    in_use_by: [],
    parent: meta.parent ?? null,
    packages: meta.packages ?? [],
    python_version: pythonVersion,
  };
}

