/**
 * The engine's file verbs on a runtime (`runta cp`): its root is opened as a {@link Scope} under the runtime's lock
 * (so it is not being created, deleted or rebooted meanwhile, and is mounted again after a host reboot), then the
 * transfer runs without the lock, holding the root's fd: a long copy does not block shutdown or rm, and a runtime
 * removed meanwhile only detaches its mount until the copy lets go. A path under one of its volumes reaches the volume's
 * files, as inside the runtime (read-only where the runtime mounts it so).
 */
import { Readable } from "node:stream";
import type { FileStat, FilesWritten } from "../../api/index.js";
import type { RuntimeRecord } from "../../store/record.js";
import type { Containers } from "../containers.js";
import type { RuntimeRecords } from "../records.js";
import { preconditionFor } from "../refusals.js";
import { runtimePaths } from "../rootfs.js";
import { openFile, packPath, statPath } from "./read.js";
import { Scope } from "./scope.js";
import type { HostVolumeMount } from "../volumes/manager.js";
import { unpackInto, writeFile } from "./write.js";

/** Statuses whose filesystem is whole and mounted (or mountable): processes may run, be frozen, or be gone. */
const FILES_READY = new Set<RuntimeRecord["status"]>(["running", "paused", "suspended", "shutdown", "crashed"]);

export class RuntimeFiles {
  constructor(
    private readonly deps: {
      records: RuntimeRecords;
      containers: Containers;
      dataDir: string;
      /** The runtime's volumes on the host (volumes/): paths under them are their files, as inside the runtime. */
      volumeMounts: (rec: RuntimeRecord) => Promise<HostVolumeMount[]>;
    },
  ) {}

  /** Opens runtime `ref`'s root as a scope, its volumes mounted in it; the caller closes it. */
  private async root(ref: string, what: string): Promise<Scope> {
    const { records, containers, dataDir } = this.deps;
    return records.withRuntime(ref, async (rec) => {
      if (!FILES_READY.has(rec.status)) throw preconditionFor(rec, what);
      await containers.mountRoot(rec);
      const mounts = (await this.deps.volumeMounts(rec)).map((v) => ({
        path: v.destination.slice(1),
        hostDir: v.source,
        readOnly: v.readOnly,
        label: `volume "${v.volume}"`,
      }));
      return Scope.open(runtimePaths(dataDir, rec.id).rootfs, "/", mounts);
    });
  }

  private async with<T>(ref: string, what: string, fn: (scope: Scope) => Promise<T>): Promise<T> {
    const scope = await this.root(ref, what);
    try {
      return await fn(scope);
    } finally {
      await scope.close();
    }
  }

  stat(ref: string, path: string): Promise<FileStat> {
    return this.with(ref, "read its files", (s) => statPath(s, path));
  }

  /** A tar stream of `path`; a missing path is thrown here, before any byte is sent. */
  async readTree(ref: string, path: string): Promise<Readable> {
    const scope = await this.root(ref, "read its files");
    try {
      await statPath(scope, path);
    } catch (err) {
      await scope.close();
      throw err;
    }
    return packPath(scope, path, () => void scope.close());
  }

  /** One regular file's bytes: exactly the size it had when opened. */
  async readFile(ref: string, path: string): Promise<{ size: number; stream: Readable }> {
    const { handle, size } = await this.with(ref, "read its files", (s) => openFile(s, path));
    if (size === 0) {
      await handle.close();
      return { size, stream: Readable.from([]) };
    }
    return { size, stream: handle.createReadStream({ start: 0, end: size - 1 }) };
  }

  writeTree(ref: string, dir: string, archive: Readable, opts: { keepOwner?: boolean } = {}): Promise<FilesWritten> {
    return this.with(ref, "write its files", async (s) => {
      const target = await s.sub(dir);
      try {
        return await unpackInto(target, archive, opts);
      } finally {
        await target.close();
      }
    });
  }

  writeFile(ref: string, path: string, data: Readable, opts: { mode?: number } = {}): Promise<FilesWritten> {
    return this.with(ref, "write its files", (s) => writeFile(s, path, data, opts.mode));
  }
}
