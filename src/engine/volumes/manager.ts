/**
 * Volumes: named directories that outlive runtimes and can be mounted into several at once (`runta volume`,
 * `runta run -v NAME:/path[:ro]`).
 *
 * Each volume is its own ext4 disk, like a runtime's (disk.ts): a sparse file `<dataDir>/volumes/<id>/disk.img`
 * mounted through a loop device at `.../fs`, whose `data` directory is what runtimes see. The disk's size is the
 * volume's bound: a write past it is ENOSPC inside every runtime that mounts it (and 507 through `runta cp`), while
 * the host's disk and the runtimes' own disks are untouched. A quota on a shared directory was the other way, but
 * project quotas need the data dir's filesystem mounted with `prjquota`, which a daemon cannot count on. `data` and not
 * the disk's root is mounted so runtimes see an empty directory (no `lost+found`), and their mountinfo shows `/data`
 * on a loop device, never a host path.
 *
 * The disk stays mounted on the host from create to rm, across daemon restarts (a kernel mount needs no process);
 * after a host reboot it is mounted again the first time a runtime boots with it or `cp` reaches it. Runtimes get a
 * bind mount of `data` (spec.ts), read-only when asked: the host side stays writable, so `cp` checks read-only
 * itself (files/scope.ts).
 */
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readdir, rm, statfs } from "node:fs/promises";
import { join } from "node:path";
import { LIMITS, RuntaError, errors, type Volume, type VolumeMount } from "../../api/index.js";
import type { RuntimeRecord, RuntimeVolume } from "../../store/record.js";
import { volumeNameTaken, type VolumeRecord, type VolumeStore } from "../../store/volumes.js";
import type { Logger } from "../../log.js";
import { formatDisk, growDisk, loopReleased, mountDisk, type GrowTarget } from "../disk.js";
import { mountPoints, unmountUnder } from "../mounts.js";
import { shown, validateName } from "../names.js";

/** Where one volume lives on the host. */
export interface VolumePaths {
  dir: string;
  image: string;
  /** Where its disk is mounted. */
  fs: string;
  /** What runtimes mount (a directory on its disk). */
  data: string;
}

/** Where seed 002's `workspace_mount` puts the runtime's workspace. */
export const WORKSPACE_PATH = "/workspace";

/** Layout of `<dataDir>/volumes/<id>/`. */
export function volumePaths(dataDir: string, id: string): VolumePaths {
  const dir = join(dataDir, "volumes", id);
  return { dir, image: join(dir, "disk.img"), fs: join(dir, "fs"), data: join(dir, "fs", "data") };
}

/** A volume mount as a runtime's spec and `cp` need it: the host directory and where it goes inside. */
export interface HostVolumeMount {
  volume: string;
  /** The host directory (the volume's `data`). */
  source: string;
  /** Absolute path inside the runtime. */
  destination: string;
  readOnly: boolean;
}

/** What a create asks to mount (validated wire input: paths normal and distinct). */
export interface VolumeMountSpec {
  volume: string;
  path: string;
  readOnly?: boolean;
}

/** What the volume manager needs from the engine. */
export interface VolumeHost {
  dataDir: string;
  logger: Logger;
  /** Every runtime record (who mounts what). */
  runtimes(): RuntimeRecord[];
  /** The most volumes this daemon keeps (default LIMITS.volumesMax). */
  max?: number;
}

/** Statuses in which no container of the runtime exists, so none holds a volume's disk. */
const DOWN: readonly string[] = ["shutdown", "crashed", "error"];

/** A volume's disk, for growDisk's errors: it stays mounted on the host, so it only ever grows online. */
const VOLUME_DISK: GrowTarget = {
  noun: "the volume disk",
  mounted: "a volume's disk",
  fix: "give the daemon that capability, or create a bigger volume and copy the files over",
  field: "size_mib",
};

export class VolumeManager {
  /** Names being created (their record comes once the disk is mounted), ids being removed and ids being grown. */
  private readonly creating = new Set<string>();
  private readonly removing = new Set<string>();
  private readonly resizing = new Set<string>();
  /** One mount at a time per volume: two runtimes booting together must not mount its disk twice. */
  private readonly mounting = new Map<string, Promise<void>>();

  constructor(
    private readonly store: VolumeStore,
    private readonly host: VolumeHost,
  ) {}

  /** Finds a volume by name or id; `not_found` with the fix otherwise. */
  find(ref: string): VolumeRecord {
    const rec = this.store.getByName(ref) ?? this.store.get(ref);
    if (!rec) throw errors.notFound(`volume ${shown(ref)} not found; list volumes with 'runta volume ls' or create it with 'runta volume create ${ref}'`, { volume: ref });
    return rec;
  }

  /** Runtimes (names) mounting each volume, by volume id. */
  private users(): Map<string, string[]> {
    const users = new Map<string, string[]>();
    for (const rt of this.host.runtimes()) for (const v of rt.volumes) users.set(v.volumeId, [...(users.get(v.volumeId) ?? []), rt.name]);
    return users;
  }

  private async toWire(rec: VolumeRecord, users: Map<string, string[]>, mounted: string[]): Promise<Volume> {
    const paths = volumePaths(this.host.dataDir, rec.id);
    let used: number | null = null;
    if (mounted.includes(paths.fs)) {
      const st = await statfs(paths.fs);
      used = (st.blocks - st.bfree) * st.bsize;
    }
    return { id: rec.id, name: rec.name, size_bytes: rec.sizeMib * 1024 * 1024, used_bytes: used, created_at: rec.createdAt, in_use_by: users.get(rec.id) ?? [] };
  }

  async list(): Promise<Volume[]> {
    const [users, mounted] = [this.users(), await mountPoints()];
    return Promise.all(this.store.all().map((rec) => this.toWire(rec, users, mounted)));
  }

  async get(ref: string): Promise<Volume> {
    return this.toWire(this.find(ref), this.users(), await mountPoints());
  }

  /** Formats and mounts a new volume's disk, then records it; on failure nothing is left. */
  async create(name: string, sizeMib: number = LIMITS.volumeMibDefault): Promise<Volume> {
    validateName(name, "volume");
    if (this.store.getByName(name) || this.creating.has(name)) throw volumeNameTaken(name);
    const max = this.host.max ?? LIMITS.volumesMax;
    if (this.store.count() + this.creating.size >= max) {
      throw errors.exhausted(`this daemon already holds ${max} volumes, its limit; remove some first (runta volume ls, runta volume rm <volume>)`, { limit: max });
    }
    this.creating.add(name);
    const rec: VolumeRecord = { id: randomUUID(), name, sizeMib, createdAt: new Date().toISOString() };
    const paths = volumePaths(this.host.dataDir, rec.id);
    try {
      await mkdir(paths.dir, { recursive: true, mode: 0o700 });
      await formatDisk(paths.image, sizeMib);
      await mountDisk(paths.image, paths.fs);
      await mkdir(paths.data, { mode: 0o755 });
      this.store.insert(rec);
    } catch (err) {
      await this.removeFiles(rec.id).catch((cleanup) => this.host.logger.error("cleanup after a failed volume create failed", { volume: name, error: String(cleanup) }));
      throw err;
    } finally {
      this.creating.delete(name);
    }
    return this.get(rec.id);
  }

  /** Removes a volume and its contents; refused while any runtime (in any status) mounts it, naming them. */
  async remove(ref: string): Promise<Volume> {
    const rec = this.find(ref);
    if (this.removing.has(rec.id)) throw errors.precondition(`volume "${rec.name}" is already being removed`);
    const users = this.users().get(rec.id) ?? [];
    if (users.length) {
      throw errors.precondition(`volume "${rec.name}" is mounted by runtime(s) ${users.join(", ")}; remove them first (runta rm ${users.join(" ")}) — a runtime keeps its volumes until it is removed`, {
        in_use_by: users,
      });
    }
    if (this.resizing.has(rec.id)) throw errors.precondition(`volume "${rec.name}" is being resized; remove it when that is done`);
    const wire = await this.toWire(rec, new Map(), await mountPoints());
    this.removing.add(rec.id);
    try {
      await this.removeFiles(rec.id);
      this.store.delete(rec.id);
    } finally {
      this.removing.delete(rec.id);
    }
    return wire;
  }

  /**
   * Grows a volume's disk to `sizeMib` (already within the create bounds: the wire schema checks them) and answers
   * the volume. Only growth: a smaller size is refused (shrinking ext4 needs it unmounted and is not offered), the
   * same size is a no-op. The disk grows online, mounted, as a running runtime's does (disk.ts growDisk): runtimes
   * that mount it keep running and see the new size at once. Online growth needs CAP_SYS_RESOURCE; without it the
   * disk grows offline when no runtime that could hold it is up (see {@link growOffline}), else the answer names the
   * runtimes to shut down first.
   */
  async resize(ref: string, sizeMib: number): Promise<Volume> {
    const rec = this.find(ref);
    if (this.removing.has(rec.id)) throw errors.precondition(`volume "${rec.name}" is being removed`, { volume: rec.name });
    if (this.resizing.has(rec.id)) throw errors.precondition(`volume "${rec.name}" is already being resized; try again when that is done`, { volume: rec.name });
    if (sizeMib < rec.sizeMib) {
      throw errors.outOfRange(
        `volume "${rec.name}" is ${rec.sizeMib} MiB; volumes only grow (shrinking an ext4 disk in use is not supported) — ask for at least ${rec.sizeMib} MiB, or create a smaller volume and copy`,
        { field: "size_mib", min: rec.sizeMib },
      );
    }
    if (sizeMib === rec.sizeMib) return this.get(rec.id);
    this.resizing.add(rec.id);
    try {
      await this.ensureMounted(rec);
      await growDisk(volumePaths(this.host.dataDir, rec.id).image, sizeMib, VOLUME_DISK).catch(async (err: unknown) => {
        if (!(err instanceof RuntaError && err.code === "failed_precondition")) throw err;
        const up = this.host.runtimes().filter((rt) => !DOWN.includes(rt.status) && rt.volumes.some((v) => v.volumeId === rec.id)).map((rt) => rt.name);
        if (up.length) {
          throw errors.precondition(
            `growing volume "${rec.name}" while runtimes that mount it are up needs CAP_SYS_RESOURCE (ext4 online resize), which this daemon does not have; shut them down (runta shutdown ${up.join(" ")}), resize it, then boot them`,
            { field: "size_mib", in_use_by: up },
          );
        }
        await this.growOffline(rec, sizeMib);
      });
      this.store.setSize(rec.id, sizeMib);
    } finally {
      this.resizing.delete(rec.id);
    }
    this.host.logger.info("volume grown", { volume: rec.name, from_mib: rec.sizeMib, to_mib: sizeMib });
    return this.get(rec.id);
  }

  /**
   * Unmounts the disk, checks and grows it, mounts it again. It holds the volume's mount slot throughout, so a runtime
   * booting meanwhile waits for it (ensureMounted) instead of mounting a disk being resized.
   */
  private growOffline(vol: VolumeRecord, sizeMib: number): Promise<void> {
    const paths = volumePaths(this.host.dataDir, vol.id);
    const task = (async () => {
      await unmountUnder(paths.fs);
      try {
        if (!(await loopReleased(paths.image))) throw errors.precondition(`volume "${vol.name}"'s disk is still in use (a copy in progress, or a runtime still stopping?); try again when it is done`);
        await growDisk(paths.image, sizeMib, VOLUME_DISK);
      } finally {
        await mountDisk(paths.image, paths.fs);
      }
    })().finally(() => this.mounting.delete(vol.id));
    this.mounting.set(vol.id, task);
    return task;
  }

  /** Unmounts a volume's disk (lazily when a runtime that just stopped still holds it: the kernel lets go later) and deletes it. */
  private async removeFiles(id: string): Promise<void> {
    const paths = volumePaths(this.host.dataDir, id);
    await unmountUnder(paths.dir);
    await rm(paths.dir, { recursive: true, force: true });
  }

  /**
   * The record's form of a create's mounts: each volume must exist (and not be going away). Synchronous, as the
   * rest of a create's admission (engine/create.ts).
   */
  resolve(mounts: VolumeMountSpec[]): RuntimeVolume[] {
    if (mounts.length > LIMITS.volumeMountsMax) throw errors.invalid(`at most ${LIMITS.volumeMountsMax} volumes per runtime`, { field: "volumes" });
    const paths = new Set<string>();
    return mounts.map((m) => {
      const vol = this.find(m.volume);
      if (this.removing.has(vol.id)) throw errors.precondition(`volume "${vol.name}" is being removed`, { volume: vol.name });
      if (paths.has(m.path)) throw errors.invalid(`${m.path} is given twice: each volume needs its own path`, { field: "volumes" });
      paths.add(m.path);
      return { volumeId: vol.id, path: m.path, readOnly: m.readOnly ?? false };
    });
  }

  /**
   * Seed 002's `workspace_mount`: runs a create (`fn`) with volume `<runtime>-workspace` mounted at /workspace, made
   * first when it does not exist (so a runtime made again under the same name finds its workspace). A volume made
   * here for a create that failed is removed again, unless a record of the failure mounts it.
   */
  async withWorkspace<T>(runtime: string | undefined, fn: (mount: VolumeMountSpec) => Promise<T>): Promise<T> {
    if (runtime === undefined) throw errors.invalid("workspace_mount needs a name: the workspace volume is named after the runtime (<name>-workspace)", { field: "workspace_mount" });
    const name = `${runtime}-workspace`;
    if (!LIMITS.namePattern.test(name)) {
      throw errors.invalid(`workspace_mount: the workspace volume's name ${shown(name)} would be too long; use a runtime name of at most ${LIMITS.nameMaxLength - 10} characters`, { field: "workspace_mount" });
    }
    const made = this.store.getByName(name) ? null : await this.create(name);
    try {
      return await fn({ volume: name, path: WORKSPACE_PATH });
    } catch (err) {
      if (made && !this.users().has(made.id)) await this.remove(made.id).catch(() => undefined);
      throw err;
    }
  }

  /** A runtime's volumes as the API shows them. */
  describe(volumes: RuntimeVolume[]): VolumeMount[] {
    return volumes.map((v) => ({ volume: this.store.get(v.volumeId)?.name ?? v.volumeId, volume_id: v.volumeId, path: v.path, read_only: v.readOnly }));
  }

  /** The host side of a runtime's volumes, each disk mounted (again, after a host reboot) before it is handed out. */
  async hostMounts(rec: RuntimeRecord): Promise<HostVolumeMount[]> {
    const out: HostVolumeMount[] = [];
    for (const v of rec.volumes) {
      const vol = this.store.get(v.volumeId);
      if (!vol) throw errors.precondition(`runtime "${rec.name}" mounts volume ${v.volumeId}, which no longer exists; remove the runtime and create it again`, { volume: v.volumeId });
      await this.ensureMounted(vol);
      out.push({ volume: vol.name, source: volumePaths(this.host.dataDir, vol.id).data, destination: v.path, readOnly: v.readOnly });
    }
    return out;
  }

  private ensureMounted(vol: VolumeRecord): Promise<void> {
    const pending = this.mounting.get(vol.id);
    // A grow that failed still mounted the disk again; what matters to the waiter is that it is mounted now.
    if (pending) return pending.catch(() => undefined).then(() => this.ensureMounted(vol));
    const task = (async () => {
      const paths = volumePaths(this.host.dataDir, vol.id);
      if ((await mountPoints()).includes(paths.fs)) return;
      if (!existsSync(paths.image)) throw errors.internal(`the disk of volume "${vol.name}" (${paths.image}) is missing; remove the volume and create it again`);
      await mountDisk(paths.image, paths.fs);
      await mkdir(paths.data, { mode: 0o755 }).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== "EEXIST") throw err;
      });
    })().finally(() => this.mounting.delete(vol.id));
    this.mounting.set(vol.id, task);
    return task;
  }

  /** At daemon start: a volume directory with no record (a create cut short by a crash) is unmounted and removed. */
  async reconcile(): Promise<void> {
    const root = join(this.host.dataDir, "volumes");
    await mkdir(root, { recursive: true, mode: 0o700 });
    for (const id of await readdir(root)) {
      if (this.store.get(id)) continue;
      this.host.logger.warn("removing a volume directory without a record (a create cut short)", { id });
      await this.removeFiles(id);
    }
  }
}
