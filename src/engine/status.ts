/** Groups of runtime statuses the engine's rooms ask about (one definition, so a new status is added once). */
import type { RuntimeStatus } from "../api/index.js";

/** Statuses in which the runtime's container and init exist: running, or frozen (paused by the user, suspended while idle). */
export function isLive(status: RuntimeStatus): boolean {
  return status === "running" || isFrozen(status);
}

/** Statuses in which the runtime is frozen (cgroup freezer): paused by the user, or suspended while idle. */
export function isFrozen(status: RuntimeStatus): boolean {
  return status === "paused" || status === "suspended";
}
