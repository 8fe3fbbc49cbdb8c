/**
 * A few runtime disks (disk.ts) formatted and mounted ahead of time in `<dataDir>/runtimes/.pool/`, so a create
 * takes one with a rename of its file and a `mount --move` of its mount: the loop device's attach and ext4's mount
 * (20–130 ms here under load) leave the create path. The engine calls {@link DiskPool.refill} once a create is done
 * (one disk at a time, at the lowest priority, never awaited by a request, and not competing with the create's own
 * mounts and runc); an empty pool falls back to formatting inline, a disk that could not be mounted ahead is taken as
 * a file and mounted by the create.
 *
 * A pooled disk is `<hex>-<size>m.img`, mounted at `<hex>-<size>m.mnt` next to it; files are named after their size,
 * so a pool made for another size is thrown away at open. Nothing but the daemon (root, a 0700 directory) reaches a
 * pooled mount, so a disk taken is as empty as a fresh one. The loop device follows its file through the rename (the
 * kernel names the file by its path now), so the disk's I/O counters and growth find it under the runtime's path.
 * The mounts go at close and a crash's are undone at open; the formatted files stay for the next daemon.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readdir, rename, rm, rmdir, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../log.js";
import { attachDisk, formatDisk, noteIoBase } from "./disk.js";
import { mountPoints, moveMount, unmount, unmountUnder } from "./mounts.js";

/** A ready disk: its file, and where it is mounted in the pool (null: not mounted ahead). */
interface Pooled {
  file: string;
  mounted: string | null;
}

export class DiskPool {
  private readonly ready: Pooled[] = [];
  /** Formatted files a previous daemon left, waiting for the refill to mount them (a create may take one as is). */
  private readonly adopted: string[] = [];
  private filling: Promise<void> | null = null;
  private closed = false;

  constructor(
    private readonly dir: string,
    private readonly sizeMib: number,
    private readonly target: number,
    private readonly logger: Logger,
  ) {}

  private get suffix(): string {
    return `-${this.sizeMib}m.img`;
  }

  /**
   * Unmounts what a crashed daemon left mounted here, adopts its ready disks, removes disks of another size and
   * formats a crash left half done (older than a minute: a format takes milliseconds), and starts a refill.
   */
  async open(): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    await unmountUnder(this.dir);
    for (const name of await readdir(this.dir)) {
      const file = join(this.dir, name);
      if (name.endsWith(".mnt")) {
        await rmdir(file).catch(() => undefined);
        continue;
      }
      if (name.endsWith(this.suffix)) {
        if (this.adopted.length < this.target) this.adopted.push(file);
        continue;
      }
      const mtime = await stat(file).then((st) => st.mtimeMs, () => Date.now());
      if (!name.endsWith(".tmp") || Date.now() - mtime > 60_000) await rm(file, { force: true });
    }
    this.refill();
  }

  /**
   * Puts a formatted disk of `sizeMib` at `dest`, mounted at `mountPoint` when a pooled one was mounted ahead (else
   * the caller mounts it): a pooled one when there is one of that size, else one formatted now.
   */
  async take(dest: string, sizeMib: number, mountPoint: string): Promise<void> {
    if (sizeMib !== this.sizeMib) return formatDisk(dest, sizeMib);
    for (let pooled = this.next(); pooled; pooled = this.next()) {
      try {
        await rename(pooled.file, dest);
      } catch (err) {
        // ENOENT: removed by hand, try the next one; anything else is worth a word.
        if ((err as NodeJS.ErrnoException).code !== "ENOENT") this.logger.warn("could not take a pooled disk", { file: pooled.file, error: String(err) });
        await this.discard(pooled);
        continue;
      }
      // Unmounted behind the pool's back (by hand, or by another engine opened on this data dir): taken as a file.
      if (pooled.mounted && (await mountPoints()).includes(pooled.mounted)) await this.moveInto(pooled.mounted, dest, mountPoint);
      return;
    }
    await formatDisk(dest, this.sizeMib);
  }

  /** The next ready disk: a mounted one first, else an adopted file not mounted yet. */
  private next(): Pooled | undefined {
    const ready = this.ready.shift();
    if (ready) return ready;
    const file = this.adopted.shift();
    return file ? { file, mounted: null } : undefined;
  }

  /**
   * Moves a pooled disk's mount (its file already renamed to `image`) to the runtime's `mountPoint`. Should the move
   * fail, the pooled mount goes and the create mounts the file itself; should that unmount fail too, the create fails
   * (its teardown removes the file): one filesystem is never mounted through two loop devices.
   */
  private async moveInto(from: string, image: string, mountPoint: string): Promise<void> {
    try {
      await moveMount(from, mountPoint);
      await noteIoBase(image, mountPoint);
    } catch (err) {
      this.logger.warn("could not move a pooled disk's mount into place; mounting it afresh", { from, to: mountPoint, error: String((err as Error).message) });
      await unmount([from]);
    }
    await rmdir(from).catch(() => undefined);
  }

  /** Unmounts and removes a pooled disk that cannot be used. */
  private async discard(pooled: Pooled): Promise<void> {
    if (pooled.mounted) {
      await unmount([pooled.mounted]).catch((err: Error) => this.logger.warn("could not unmount a pooled disk", { dir: pooled.mounted, error: err.message }));
      await rmdir(pooled.mounted).catch(() => undefined);
    }
    await rm(pooled.file, { force: true });
  }

  /** Mounts a pooled disk at `mountPoint`; null (logged) when it cannot be: it is then taken as a file. */
  private async mountAhead(file: string, mountPoint: string): Promise<string | null> {
    try {
      await attachDisk(file, mountPoint, { background: true });
      return mountPoint;
    } catch (err) {
      this.logger.warn("could not mount a pooled disk ahead; creates will mount their own", { file, error: String((err as Error).message) });
      await rmdir(mountPoint).catch(() => undefined);
      return null;
    }
  }

  /** Mounts the adopted files, then formats and mounts disks in the background, one at a time, until the pool is full again; a no-op while one runs. */
  refill(): void {
    if (this.filling || this.closed || this.ready.length >= this.target) return;
    this.filling = (async () => {
      for (let file = this.adopted.shift(); file && !this.closed; file = this.adopted.shift()) {
        this.ready.push({ file, mounted: await this.mountAhead(file, file.replace(/\.img$/, ".mnt")) });
      }
      while (!this.closed && this.ready.length + this.adopted.length < this.target) {
        const tmp = join(this.dir, `${randomBytes(6).toString("hex")}.tmp`);
        const file = tmp.replace(/\.tmp$/, this.suffix);
        await formatDisk(tmp, this.sizeMib, { background: true });
        // Mounted before it gets its ready name: a file named ready is mounted (or could not be).
        const mounted = this.closed ? null : await this.mountAhead(tmp, file.replace(/\.img$/, ".mnt"));
        await rename(tmp, file);
        this.ready.push({ file, mounted });
      }
    })()
      .catch((err) => this.logger.warn("could not refill the pool of formatted runtime disks; creates will format their own", { error: String((err as Error).message) }))
      .finally(() => {
        this.filling = null;
      });
  }

  /** Stops refilling, waits for a disk in flight and unmounts the pooled disks (their files stay for the next daemon). */
  async close(): Promise<void> {
    this.closed = true;
    await this.filling;
    const mounted = this.ready.flatMap((p) => (p.mounted ? [p.mounted] : []));
    await unmount(mounted).catch((err: Error) => this.logger.warn("could not unmount the pooled disks", { error: err.message }));
    await Promise.all(mounted.map((m) => rmdir(m).catch(() => undefined)));
  }
}
