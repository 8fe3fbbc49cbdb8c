/**
 * The `pools` of a SandboxSet: `apply` sets each pool whose shape or size differs from the daemon's (creating it when
 * missing), `delete -f` removes them. A pool is set as a whole, so the only plan is "set" or "unchanged".
 */
import { DEFAULTS, LIMITS } from "../../api/limits.js";
import type { Pool } from "../../api/pools.js";
import type { PoolOptions } from "../../client/contract.js";
import type { PoolSpec } from "./schema.js";

/** What apply does for one pool. */
export interface PoolAction {
  name: string;
  action: "set" | "unchanged";
  /** The pool as the file wants it (defaults applied). */
  want: PoolOptions & { image: string; vcpus: number; memoryMiB: number; max: number };
}

/** Plans the file's pools against the daemon's. */
export function planPools(specs: PoolSpec[], existing: Pool[]): PoolAction[] {
  return specs.map((spec) => {
    const want = {
      image: spec.image ?? DEFAULTS.image,
      vcpus: spec.resources?.vcpus ?? LIMITS.defaultVcpus,
      memoryMiB: spec.resources?.memory_mib ?? LIMITS.defaultMemoryMib,
      min: spec.min,
      max: spec.max ?? spec.min,
    };
    const have = existing.find((p) => p.name === spec.name);
    const same =
      have !== undefined &&
      have.image === want.image &&
      have.resources.requests.vcpus === want.vcpus &&
      have.resources.requests.memory_mib === want.memoryMiB &&
      have.min === want.min &&
      have.max === want.max;
    return { name: spec.name, action: same ? "unchanged" : "set", want };
  });
}

/** One plan line per pool, with the markers of renderPlan: ~ set, = unchanged. */
export function renderPoolPlan(actions: PoolAction[]): string[] {
  return actions.map((a) =>
    a.action === "set"
      ? `  ~ pool ${a.name}  set: image ${a.want.image}, ${a.want.vcpus} vCPU${a.want.vcpus === 1 ? "" : "s"}, ${a.want.memoryMiB} MiB, min ${a.want.min}, max ${a.want.max}`
      : `  = pool ${a.name}  unchanged`,
  );
}
