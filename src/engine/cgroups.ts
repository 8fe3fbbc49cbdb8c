/**
 * Reading a runtime's cgroup: usage for `inspect`, the OOM-kill counter for exec, limits read back after a resize,
 * and the removal of cgroup directories a crash left behind. cgroup v1 (what the hosts run) with the cgroupfs
 * layout `/sys/fs/cgroup/<controller>/<parent>/<id>`; a pure cgroup v2 host is read from the unified files.
 */
import { existsSync, readFileSync, readdirSync, realpathSync } from "node:fs";
import { readFile, rmdir } from "node:fs/promises";
import { join } from "node:path";

/** Root of the cgroup filesystems. */
export const CGROUP_ROOT = "/sys/fs/cgroup";

/** What {@link isCgroupV2} found per cgroup root: a host's layout does not change while the daemon runs. */
const v2Roots = new Map<string, boolean>();

/**
 * Whether the host runs the unified hierarchy only (cgroup v2). Asked once per root: every cgroup object asks it, a
 * few per exec, and a stat per ask showed in the daemon's profile under load.
 */
export function isCgroupV2(root = CGROUP_ROOT): boolean {
  let v2 = v2Roots.get(root);
  if (v2 === undefined) v2Roots.set(root, (v2 = existsSync(join(root, "cgroup.controllers"))));
  return v2;
}

/** Current usage of one runtime. */
export interface CgroupUsage {
  memoryBytes: number;
  memoryLimitBytes: number;
  cpuUsageNs: number;
  pids: number;
}

/** Limits as the kernel holds them. */
export interface CgroupLimits {
  memoryBytes: number;
  memswBytes: number | null;
  cpuQuota: number;
  cpuPeriod: number;
}

/** A cgroup file's number; "max" (no limit) is Infinity. */
function cgroupNumber(raw: string): number {
  const text = raw.trim();
  return text === "max" ? Number.POSITIVE_INFINITY : Number(text);
}

async function readNumber(path: string): Promise<number> {
  return cgroupNumber(await readFile(path, "utf8"));
}

async function readNumberOr(path: string, fallback: number): Promise<number> {
  try {
    return await readNumber(path);
  } catch {
    return fallback;
  }
}

/** Like readNumberOr, synchronously: for cgroupfs files, which the kernel fills from memory and never waits on disk. */
function readNumberSyncOr(path: string, fallback: number): number {
  try {
    return cgroupNumber(readFileSync(path, "utf8"));
  } catch {
    return fallback;
  }
}

/** Finds `key value` in a flat-keyed cgroup file (memory.oom_control, memory.events, cpu.stat). */
export function keyedValue(text: string, key: string): number | undefined {
  const m = new RegExp(`^${key} (\\d+)$`, "m").exec(text);
  return m ? Number(m[1]) : undefined;
}

/** The cgroup of one runtime: `<parent>/<id>` in every hierarchy. */
export class RuntimeCgroup {
  readonly rel: string;
  readonly v2: boolean;

  constructor(
    parent: string,
    id: string,
    private readonly root = CGROUP_ROOT,
  ) {
    this.rel = join(parent, id);
    this.v2 = isCgroupV2(root);
  }

  /** Path of a file in one controller's hierarchy (v1) or the unified one (v2). */
  file(controller: string, name: string): string {
    return this.v2 ? join(this.root, this.rel, name) : join(this.root, controller, this.rel, name);
  }

  /**
   * Memory, CPU and process counts now. Read synchronously (a few µs per file): four async reads per runtime would
   * each queue on libuv's 4 threads, and a list with usage (the dashboard's fleet, every 1.5 s) reads hundreds.
   */
  async usage(): Promise<CgroupUsage> {
    if (this.v2) {
      let cpuStat = "";
      try {
        cpuStat = readFileSync(this.file("", "cpu.stat"), "utf8");
      } catch {
        // The cgroup is gone (the runtime just stopped): no CPU time to report.
      }
      return {
        memoryBytes: readNumberSyncOr(this.file("", "memory.current"), 0),
        memoryLimitBytes: readNumberSyncOr(this.file("", "memory.max"), 0),
        cpuUsageNs: (keyedValue(cpuStat, "usage_usec") ?? 0) * 1000,
        pids: readNumberSyncOr(this.file("", "pids.current"), 0),
      };
    }
    return {
      memoryBytes: readNumberSyncOr(this.file("memory", "memory.usage_in_bytes"), 0),
      memoryLimitBytes: readNumberSyncOr(this.file("memory", "memory.limit_in_bytes"), 0),
      cpuUsageNs: readNumberSyncOr(this.file("cpuacct", "cpuacct.usage"), 0),
      pids: readNumberSyncOr(this.file("pids", "pids.current"), 0),
    };
  }

  /** Host pids of every process in the runtime (from the pids controller; empty if the cgroup is gone). */
  async procs(): Promise<number[]> {
    const text = await readFile(this.file("pids", "cgroup.procs"), "utf8").catch(() => "");
    return text.split("\n").filter(Boolean).map(Number);
  }

  /**
   * How many processes the kernel's OOM killer has killed in this cgroup so far (0 if unknown). Read synchronously,
   * as usage is: every buffered exec reads it before it starts, and an async read would queue that start on libuv's
   * 4 threads behind whatever file work the daemon has in flight (a cgroup move waiting for an RCU grace period).
   */
  async oomKills(): Promise<number> {
    const name = this.v2 ? "memory.events" : "memory.oom_control";
    let text = "";
    try {
      text = readFileSync(this.file("memory", name), "utf8");
    } catch {
      // The cgroup is gone (the runtime stopped): nothing counted.
    }
    return keyedValue(text, "oom_kill") ?? 0;
  }

  /** The limits the kernel enforces now (what a resize reports back). */
  async limits(): Promise<CgroupLimits> {
    if (this.v2) {
      const [memory, swap, cpuMax] = await Promise.all([
        readNumber(this.file("", "memory.max")),
        readNumberOr(this.file("", "memory.swap.max"), 0),
        readFile(this.file("", "cpu.max"), "utf8"),
      ]);
      const [quota, period] = cpuMax.trim().split(/\s+/);
      return { memoryBytes: memory, memswBytes: memory + swap, cpuQuota: quota === "max" ? -1 : Number(quota), cpuPeriod: Number(period) };
    }
    const [memoryBytes, memswBytes, cpuQuota, cpuPeriod] = await Promise.all([
      readNumber(this.file("memory", "memory.limit_in_bytes")),
      readNumberOr(this.file("memory", "memory.memsw.limit_in_bytes"), Number.NaN),
      readNumber(this.file("cpu", "cpu.cfs_quota_us")),
      readNumber(this.file("cpu", "cpu.cfs_period_us")),
    ]);
    return { memoryBytes, memswBytes: Number.isNaN(memswBytes) ? null : memswBytes, cpuQuota, cpuPeriod };
  }
}

/** Every directory of `<parent>/<name>` across the hierarchies (v1: one per controller; v2: one). */
export function cgroupDirs(rel: string, root = CGROUP_ROOT): string[] {
  if (isCgroupV2(root)) return existsSync(join(root, rel)) ? [join(root, rel)] : [];
  // `cpu` and `cpuacct` are symlinks to `cpu,cpuacct`: one directory, listed once.
  const dirs = new Set<string>();
  for (const controller of readdirSync(root)) {
    const dir = join(root, controller, rel);
    if (existsSync(dir)) dirs.add(realpathSync(dir));
  }
  return [...dirs];
}

/** Names of the child cgroups of a parent, across all hierarchies. */
export function childCgroups(parent: string, root = CGROUP_ROOT): string[] {
  const names = new Set<string>();
  for (const dir of cgroupDirs(parent, root)) {
    for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) names.add(entry.name);
  }
  return [...names];
}

/**
 * Removes the (empty) cgroup directories of `rel` in every hierarchy. rmdir on a cgroup fails while processes are
 * in it, which is exactly the guard wanted: a live runtime's cgroup is never removed. Returns those left.
 */
export async function removeCgroupDirs(rel: string, root = CGROUP_ROOT): Promise<string[]> {
  const left: string[] = [];
  for (const dir of cgroupDirs(rel, root)) {
    // Nested children first (runc creates none, but a runtime may have if it had cgroup write access).
    const children = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory());
    for (const child of children) left.push(...(await removeCgroupDirs(join(rel, child.name), root)));
    await rmdir(dir).catch(() => left.push(dir));
  }
  return left;
}

/** Hierarchies a runtime's limits and process tracking rest on (cgroup v1); v2 has the one unified hierarchy. */
const CONTROLLERS_NEEDED = ["memory", "cpu", "pids", "freezer"];

/**
 * What is wrong with a running runtime's cgroup, or null when it is whole: its directory in a hierarchy was removed
 * (after its processes were moved out: rmdir refuses a populated cgroup) or its init no longer lives in it. Either
 * way its limits no longer hold. Read from `/proc/<initPid>/cgroup` (one small file) and the directories.
 */
export function cgroupProblem(parent: string, id: string, initPid: number, root = CGROUP_ROOT): string | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${initPid}/cgroup`, "utf8");
  } catch {
    return null; // The init is gone: that is the liveness check's to notice.
  }
  const want = `/${join(parent, id)}`;
  const v2 = isCgroupV2(root);
  for (const line of text.split("\n")) {
    const [, controllers, path] = /^\d+:([^:]*):(.*)$/.exec(line) ?? [];
    if (controllers === undefined || path === undefined) continue;
    const names = controllers.split(",");
    const needed = v2 ? controllers === "" : names.some((c) => CONTROLLERS_NEEDED.includes(c));
    if (!needed) continue;
    const hierarchy = v2 ? "" : controllers;
    if (path !== want) return `its init is in ${hierarchy || "the unified"} cgroup ${path}, not ${want}`;
    if (!existsSync(join(root, hierarchy, path))) return `${join(root, hierarchy, path)} was removed`;
  }
  return null;
}
