/** A running runtime's current usage, read at once: its cgroup (memory, CPU, pids), its network's and its disk's counters. */
import { existsSync } from "node:fs";
import type { Runtime } from "../api/index.js";
import { RuntimeCgroup } from "./cgroups.js";
import { diskIo, diskUsage } from "./disk.js";
import type { RuntimeNetworks } from "./network/network.js";
import { runtimePaths } from "./rootfs.js";

/** Usage as the API carries it; disk use only where the runtime has a disk of its own. */
export async function readUsage(
  id: string,
  where: { cgroupParent: string; dataDir: string; networks: RuntimeNetworks },
): Promise<NonNullable<Runtime["usage"]>> {
  const u = await new RuntimeCgroup(where.cgroupParent, id).usage();
  const paths = runtimePaths(where.dataDir, id);
  const net = where.networks.traffic(id);
  const io = diskIo(paths.diskImage, paths.disk);
  const usage: NonNullable<Runtime["usage"]> = {
    memory_bytes: u.memoryBytes,
    memory_limit_bytes: u.memoryLimitBytes,
    cpu_usage_ns: u.cpuUsageNs,
    pids: u.pids,
    net_rx_bytes: net?.rxBytes ?? null,
    net_tx_bytes: net?.txBytes ?? null,
    disk_read_bytes: io?.readBytes ?? null,
    disk_write_bytes: io?.writeBytes ?? null,
  };
  if (existsSync(paths.diskImage)) {
    const disk = await diskUsage(paths.disk).catch(() => null);
    if (disk) Object.assign(usage, { disk_used_bytes: disk.usedBytes, disk_size_bytes: disk.sizeBytes });
  }
  return usage;
}
