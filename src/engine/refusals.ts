/**
 * How the engine refuses what it cannot do, with the fix in the message: resources the host cannot give, a transition
 * the runtime's status forbids, a full disk.
 */
import { LIMITS, RuntaError, errors, type RuntimeStatus } from "../api/index.js";
import type { RuntimeRecord } from "../store/record.js";
import { hostCores, hostMemoryMib } from "./host.js";

/** Refuses vCPUs or memory outside the limits and this host's size (`out_of_range` with the bounds). */
export function validateResources(vcpus: number, memoryMib: number): void {
  const cores = hostCores();
  const maxVcpus = Math.min(LIMITS.vcpusMax, cores);
  if (!(vcpus >= LIMITS.vcpusMin && vcpus <= maxVcpus) || Math.abs(vcpus * 100 - Math.round(vcpus * 100)) > 1e-6) {
    throw errors.outOfRange(`vcpus must be between ${LIMITS.vcpusMin} and ${maxVcpus} (this host has ${cores} cores) in steps of 0.01; got ${vcpus}`, {
      field: "vcpus",
      min: LIMITS.vcpusMin,
      max: maxVcpus,
    });
  }
  const maxMem = Math.min(LIMITS.memoryMibMax, hostMemoryMib());
  if (!Number.isInteger(memoryMib) || memoryMib < LIMITS.memoryMibMin || memoryMib > maxMem) {
    throw errors.outOfRange(`memory_mib must be a whole number between ${LIMITS.memoryMibMin} and ${maxMem} (this host's memory); got ${memoryMib}`, {
      field: "memory_mib",
      min: LIMITS.memoryMibMin,
      max: maxMem,
    });
  }
}

/** The current status and the fix, for an impossible transition. */
export function preconditionFor(rec: RuntimeRecord, wanted: string): RuntaError {
  const n = rec.name;
  const fix: Partial<Record<RuntimeStatus, string>> = {
    paused: `resume it first: runta resume ${n}`,
    suspended: `it was suspended while idle; resume it: runta resume ${n}`,
    shutdown: `boot it first: runta boot ${n}`,
    crashed: `boot it again: runta boot ${n}`,
    error: `remove it and create it again: runta rm ${n}`,
    creating: "wait until it is running",
    deleting: "it is being removed",
    running: `shut it down first: runta shutdown ${n}`,
  };
  return new RuntaError("failed_precondition", `runtime "${n}" is ${rec.status}, cannot ${wanted} — ${fix[rec.status] ?? "check its status with runta ps -a"}`, {
    details: { status: rec.status },
  });
}

/** For a runtime created with network "none" asked for what needs a network (`why` says what it lacks). */
export function noNetwork(rec: RuntimeRecord, why: string): RuntaError {
  return errors.precondition(`runtime "${rec.name}" has no network (created with network "none"): ${why}`, { network: "none" });
}

/** Maps a disk-full error to `resource_exhausted` (507); everything else unchanged. */
export function diskFull(err: unknown, dataDir: string): unknown {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === "ENOSPC" || code === "SQLITE_FULL" || /no space left on device|database or disk is full/i.test(String((err as Error)?.message))) {
    return errors.exhausted(`no space left on the disk holding ${dataDir}; free some space or remove runtimes and images`, { path: dataDir }, 507);
  }
  return err;
}
