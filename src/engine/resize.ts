/**
 * `runta resize`: a runtime's disk grows (live or offline), its vCPUs and memory change in the kernel while it runs,
 * and only in its record while it is shut down (the next boot's spec takes them). Each resize holds the runtime's lock.
 */
import { existsSync } from "node:fs";
import { stat } from "node:fs/promises";
import { RuntaError, errors, type Runtime } from "../api/index.js";
import type { RuntimeRecord } from "../store/record.js";
import { RuntimeCgroup } from "./cgroups.js";
import type { Containers } from "./containers.js";
import { growDisk as growDiskImage, loopReleased } from "./disk.js";
import type { RuntimeRecords } from "./records.js";
import { preconditionFor, validateResources } from "./refusals.js";
import { runtimePaths, unmountRootfs } from "./rootfs.js";
import { RuncError } from "./runc-failures.js";
import type { Runc } from "./runc.js";
import { CPU_PERIOD_US, cpuQuota, mibToBytes } from "./spec.js";
import { isLive } from "./status.js";
import type { Engine } from "./types.js";
import { currentCpus, placeCpus } from "./views/cpuset.js";

export class RuntimeResizes {
  constructor(
    private readonly deps: {
      runc: Runc;
      records: RuntimeRecords;
      /** Mounts a runtime's disk and root again (containers.ts). */
      containers: Pick<Containers, "mountRoot">;
      dataDir: string;
      cgroupParent: string;
    },
  ) {}

  /**
   * The disk first (recorded at once: it stays grown whatever follows), then vCPUs and memory: applied and read back
   * while the runtime runs or is frozen, written into the record alone while it is shut down or crashed.
   */
  resize(ref: string, req: Parameters<Engine["resize"]>[1]): Promise<Runtime> {
    const { records } = this.deps;
    return records.withRuntime(ref, async (rec) => {
      const { id } = rec;
      if (req.diskSizeGib !== undefined) {
        const diskMib = await this.growDisk(rec, req.diskSizeGib);
        if (rec.diskMib !== diskMib) rec = records.mustUpdate(rec.id, { diskMib });
      }
      if (req.vcpus === undefined && req.memoryMib === undefined) return records.toRuntime(rec);
      const vcpus = req.vcpus ?? rec.vcpus;
      const memoryMib = req.memoryMib ?? rec.memoryMib;
      validateResources(vcpus, memoryMib);
      if (rec.status === "shutdown" || rec.status === "crashed") {
        // Nothing runs: the new values go into the spec at the next boot.
        return records.toRuntime(records.mustUpdate(id, { vcpus, memoryMib }));
      }
      if (!isLive(rec.status)) throw preconditionFor(rec, "resize");
      const applied = await this.resizeLive(rec, req);
      return records.toRuntime(records.mustUpdate(id, applied));
    });
  }

  /**
   * Changes the limits of a running or paused container and answers what the kernel now holds (read back from the
   * cgroup). Shrinking memory below what is in use is refused before anything changes.
   */
  private async resizeLive(rec: RuntimeRecord, req: { vcpus?: number; memoryMib?: number }): Promise<{ vcpus: number; memoryMib: number }> {
    const { cgroupParent } = this.deps;
    const cg = new RuntimeCgroup(cgroupParent, rec.id);
    if (req.memoryMib !== undefined && req.memoryMib < rec.memoryMib) {
      const { memoryBytes } = await cg.usage();
      if (memoryBytes > mibToBytes(req.memoryMib)) {
        throw new RuntaError(
          "failed_precondition",
          `runtime "${rec.name}" uses ${Math.ceil(memoryBytes / 1048576)} MiB now, more than the ${req.memoryMib} MiB asked for; ` +
            `the limit stays at ${rec.memoryMib} MiB — free memory inside it or ask for at least ${Math.ceil(memoryBytes / 1048576)} MiB`,
          { details: { field: "memory_mib", usage_bytes: memoryBytes } },
        );
      }
    }
    try {
      // runc orders the cgroup v1 writes: growing sets memory+swap before memory, shrinking memory before
      // memory+swap, because the kernel refuses a memory limit above memsw at every step.
      // The cpuset follows the vCPUs (ceil of them, keeping the CPUs it has), so nproc and LXCFS's CPU view do too.
      const cpus = req.vcpus !== undefined ? await placeCpus(cgroupParent, rec.id, req.vcpus, await currentCpus(cgroupParent, rec.id)) : undefined;
      await this.deps.runc.update(rec.id, {
        memoryBytes: req.memoryMib !== undefined ? mibToBytes(req.memoryMib) : undefined,
        cpuQuota: req.vcpus !== undefined ? cpuQuota(req.vcpus) : undefined,
        cpuPeriod: req.vcpus !== undefined ? CPU_PERIOD_US : undefined,
        cpus,
      });
    } catch (err) {
      if (err instanceof RuncError && /device or resource busy|EBUSY/i.test(err.runcMessage)) {
        throw errors.precondition(
          `the kernel could not shrink runtime "${rec.name}" to ${req.memoryMib} MiB (memory in use cannot be reclaimed); the limit stays at ${rec.memoryMib} MiB`,
          { field: "memory_mib" },
        );
      }
      throw err;
    }
    const limits = await cg.limits();
    const memoryMib = Math.round(limits.memoryBytes / 1048576);
    const vcpus = limits.cpuQuota > 0 ? Math.round((limits.cpuQuota / limits.cpuPeriod) * 100) / 100 : (req.vcpus ?? rec.vcpus);
    return { vcpus, memoryMib };
  }

  /**
   * Grows a runtime's disk to `gib` (the caller holds its lock) and answers its size in MiB for the record; shrinking
   * is refused, the same size is a no-op. Live, the mounted ext4 grows in place; offline, the root comes off first.
   */
  private async growDisk(rec: RuntimeRecord, gib: number): Promise<number> {
    const paths = runtimePaths(this.deps.dataDir, rec.id);
    if (!existsSync(paths.diskImage)) {
      throw errors.precondition(`runtime "${rec.name}" was created before runtimes had disks of their own, so it has no disk to grow (it writes to the host's disk)`, { field: "disk_size_gib" });
    }
    if (!["running", "paused", "suspended", "shutdown", "crashed"].includes(rec.status)) throw preconditionFor(rec, "grow its disk");
    // The file's own size: records from before sizes were chosen do not hold it.
    const current = Math.round((await stat(paths.diskImage)).size / 1048576);
    const wanted = gib * 1024;
    if (wanted < current) {
      throw errors.outOfRange(`runtime "${rec.name}" has a ${current / 1024} GiB disk; disks only grow (shrinking an ext4 disk in use is not supported) — ask for at least ${Math.ceil(current / 1024)} GiB`, {
        field: "disk_size_gib",
        min: Math.ceil(current / 1024),
      });
    }
    if (wanted === current) return wanted;
    const live = rec.status !== "shutdown" && rec.status !== "crashed";
    if (live) {
      await this.deps.containers.mountRoot(rec);
    } else {
      // Offline: nothing runs, so the root and disk come off. A container that just stopped may still hold the mount
      // for a moment (the kernel frees its mount namespace asynchronously), and a copy in progress holds it for longer:
      // the loop device goes only when the last user does, and the disk must not be resized before.
      await unmountRootfs(paths);
      if (!(await loopReleased(paths.diskImage))) throw errors.precondition(`runtime "${rec.name}"'s disk is still in use (a copy in progress?); try again when it is done`);
    }
    try {
      await growDiskImage(paths.diskImage, wanted);
    } finally {
      if (!live) await this.deps.containers.mountRoot(rec);
    }
    return wanted;
  }
}
