/**
 * Which host CPUs a runtime may run on: ceil(vCPUs) of them, the ones least used by the daemon's other runtimes.
 * Programs size their thread pools by the CPUs they may run on, and `nproc` (like Python's os.process_cpu_count and
 * Go's runtime) counts sched_getaffinity, which only a cpuset narrows: the CFS quota does not. LXCFS's CPU view
 * (/proc/cpuinfo, /proc/stat, /sys/devices/system/cpu/online) follows the same cpuset and quota. A runtime with as
 * many vCPUs as the host has CPUs (or more) gets them all.
 */
import { readFileSync } from "node:fs";
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { CGROUP_ROOT, isCgroupV2 } from "../cgroups.js";

/** `0-2,5` → [0, 1, 2, 5]. */
export function parseCpuList(text: string): number[] {
  const cpus: number[] = [];
  for (const part of text.trim().split(",").filter(Boolean)) {
    const [a, b] = part.split("-").map(Number);
    for (let c = a!; c <= (b ?? a!); c++) cpus.push(c);
  }
  return cpus;
}

/** [0, 1, 2, 5] → `0-2,5` (the form the kernel and runc take). */
export function formatCpuList(cpus: number[]): string {
  const sorted = [...new Set(cpus)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(",");
}

/**
 * `ceil(vcpus)` CPUs out of `available`: those of `keep` first (a resize leaves a runtime where it was), then the
 * least loaded, lower numbers winning ties. `load` counts, per CPU, the other runtimes allowed on it.
 */
export function pickCpus(vcpus: number, available: number[], load: ReadonlyMap<number, number>, keep: number[] = []): number[] {
  const want = Math.min(available.length, Math.max(1, Math.ceil(vcpus - 1e-9)));
  const kept = keep.filter((c) => available.includes(c)).slice(0, want);
  const rest = available
    .filter((c) => !kept.includes(c))
    .sort((a, b) => (load.get(a) ?? 0) - (load.get(b) ?? 0) || a - b);
  return [...kept, ...rest.slice(0, want - kept.length)].sort((a, b) => a - b);
}

/** The cpuset hierarchy: v1 has its own, v2 the unified one. */
function cpusetRoot(root: string): string {
  return isCgroupV2(root) ? root : join(root, "cpuset");
}

let cachedAvailable: number[] | undefined;

/** The CPUs runtimes may use: the effective cpuset of the root cgroup (the host's online CPUs); cached. */
export function availableCpus(root = CGROUP_ROOT): number[] {
  if (cachedAvailable && root === CGROUP_ROOT) return cachedAvailable;
  const file = isCgroupV2(root) ? "cpuset.cpus.effective" : "cpuset.effective_cpus";
  const cpus = parseCpuList(readFileSync(join(cpusetRoot(root), file), "utf8"));
  if (root === CGROUP_ROOT) cachedAvailable = cpus;
  return cpus;
}

/** Per CPU, how many runtimes under `parent` (other than `exceptId`) may run on it, read from their cpusets. */
export async function cpuLoad(parent: string, exceptId: string, root = CGROUP_ROOT): Promise<Map<number, number>> {
  const dir = join(cpusetRoot(root), parent);
  const names = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const lists = await Promise.all(
    names.filter((e) => e.isDirectory() && e.name !== exceptId).map((e) => readFile(join(dir, e.name, "cpuset.cpus"), "utf8").catch(() => "")),
  );
  const load = new Map<number, number>();
  for (const list of lists) for (const c of parseCpuList(list)) load.set(c, (load.get(c) ?? 0) + 1);
  return load;
}

/** The CPUs a runtime is allowed on now (empty when its cgroup is gone). */
export async function currentCpus(parent: string, id: string, root = CGROUP_ROOT): Promise<number[]> {
  return parseCpuList(await readFile(join(cpusetRoot(root), parent, id, "cpuset.cpus"), "utf8").catch(() => ""));
}

/** The cpuset (`0-1`, `1`, …) for a runtime of `vcpus` under `parent`, keeping `keep` when it can. */
export async function placeCpus(parent: string, id: string, vcpus: number, keep: number[] = []): Promise<string> {
  const available = availableCpus();
  if (Math.ceil(vcpus) >= available.length) return formatCpuList(available);
  return formatCpuList(pickCpus(vcpus, available, await cpuLoad(parent, id), keep));
}
