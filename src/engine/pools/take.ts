/**
 * Taking a warm-pool member for a create: which creates a pool can serve, and the identity the member takes on
 * inside (its hostname and the /etc files naming it). Everything else of a create's identity (name, env, labels,
 * description, timeouts) lives in the record, which store.claimPooled rewrites: execs take their env from there.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { DEFAULTS, LIMITS } from "../../api/index.js";
import { writeIntoRoot } from "../rootfs.js";
import { spawnTurns } from "../spawn-turns.js";
import type { CreateSpec } from "../types.js";
import type { PoolShape } from "./manager.js";

const execFileAsync = promisify(execFile);

/**
 * The shape a create asks for (defaults applied), or null when a booted member cannot serve it: a restore, packages
 * (a derived image), another network mode, an egress policy from the start, or a disk size other than the members'
 * (the daemon's default).
 */
export function poolShapeOf(spec: CreateSpec, defaultDiskMib: number): PoolShape | null {
  // Packages stand the runtime on their derived image, which no pool's shape names.
  if (spec.checkpoint !== undefined || spec.packages?.length || (spec.network !== undefined && spec.network !== "nat")) return null;
  if (spec.egress !== undefined || spec.whitelist !== undefined) return null;
  // Mounts are made when a container starts: a booted member cannot take volumes.
  if (spec.volumes?.length || spec.workspaceMount) return null;
  // A browser runtime's init runs Chromium from its first boot; a pooled member booted without it.
  if (spec.type === "browser") return null;
  if (spec.diskSizeGib !== undefined && spec.diskSizeGib * 1024 !== defaultDiskMib) return null;
  return shapeWithDefaults(spec);
}

/** The image and resources a create or a pool names, with a create's defaults for those it leaves out. */
export function shapeWithDefaults(spec: { image?: string; vcpus?: number; memoryMib?: number }): PoolShape {
  return { image: spec.image ?? DEFAULTS.image, vcpus: spec.vcpus ?? LIMITS.defaultVcpus, memoryMib: spec.memoryMib ?? LIMITS.defaultMemoryMib };
}

/**
 * Names a taken member inside: /etc/hostname and /etc/hosts (`files`, from the network room) in its root, and the
 * hostname of its UTS namespace, set from the host with nsenter (a runtime's own processes lack CAP_SYS_ADMIN).
 */
export async function nameInside(initPid: number, rootfs: string, hostname: string, files: Record<string, string>): Promise<void> {
  for (const [path, text] of Object.entries(files)) await writeIntoRoot(rootfs, path, text, 0o644);
  await spawnTurns.next();
  await execFileAsync("nsenter", ["--target", String(initPid), "--uts", "hostname", hostname]);
}
