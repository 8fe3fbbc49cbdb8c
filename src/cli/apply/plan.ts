/**
 * The planner of `runta apply`: a pure function of (desired, actual) → actions, with no I/O, so every
 * convergence rule is unit-tested without a daemon.
 */
import { DEFAULTS, LIMITS } from "../../api/limits.js";
import type { Runtime } from "../../api/schemas.js";
import type { SandboxSpec } from "./schema.js";

/** Resources as planned (defaults applied). */
export interface PlannedResources {
  vcpus: number;
  memory_mib: number;
}

/** Something in the file that differs from the runtime and cannot be changed in place. */
export interface Conflict {
  field: "image" | "env" | "labels";
  desired: unknown;
  actual: unknown;
}

/** What apply will do for one sandbox. */
export type PlanAction =
  | { action: "create"; name: string; image: string; resources: PlannedResources; env?: Record<string, string>; labels?: Record<string, string>; notes: string[] }
  | { action: "resize"; name: string; id: string; from: PlannedResources; to: PlannedResources; conflicts: Conflict[]; notes: string[] }
  | { action: "unchanged"; name: string; id: string; conflicts: Conflict[]; notes: string[] };

/** Resources a spec asks for, with the API's defaults for what it leaves out. */
export function desiredResources(spec: SandboxSpec): PlannedResources {
  return {
    vcpus: spec.resources?.vcpus ?? LIMITS.defaultVcpus,
    memory_mib: spec.resources?.memory_mib ?? LIMITS.defaultMemoryMib,
  };
}

function sameRecord(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k]);
}

function conflictsOf(spec: SandboxSpec, rt: Runtime): Conflict[] {
  const out: Conflict[] = [];
  const image = spec.image ?? DEFAULTS.image;
  if (image !== rt.image) out.push({ field: "image", desired: image, actual: rt.image });
  // The API reports env names only (values may be secrets), so only the set of names can be compared.
  const wantEnv = Object.keys(spec.env ?? {}).sort();
  const haveEnv = [...rt.env_names].sort();
  if (wantEnv.join("\0") !== haveEnv.join("\0")) out.push({ field: "env", desired: wantEnv, actual: haveEnv });
  if (!sameRecord(spec.labels ?? {}, rt.labels)) out.push({ field: "labels", desired: spec.labels ?? {}, actual: rt.labels });
  return out;
}

function notesOf(spec: SandboxSpec, rt?: Runtime): string[] {
  const notes: string[] = [];
  const max = spec.auto_resize?.memory_max_mib;
  if (max !== undefined) {
    notes.push(
      `auto_resize.memory_max_mib=${max} is accepted but runta does not resize automatically; change memory_mib and re-apply, or run runta resize --memory <MiB> ${spec.name}`,
    );
  }
  if (rt && rt.status !== "running") notes.push(`status is ${rt.status}; apply does not start or stop runtimes`);
  return notes;
}

/**
 * Plans convergence: a missing runtime is created; one whose vCPUs or memory differ is resized live; image, env
 * and labels cannot change in place and are reported as conflicts (never silently ignored). Runtimes that exist but
 * are not in the file are left alone (apply never deletes; use delete -f). Order follows the file.
 */
export function plan(desired: SandboxSpec[], actual: Runtime[]): PlanAction[] {
  const byName = new Map(actual.filter((r) => r.status !== "deleting").map((r) => [r.name, r]));
  return desired.map((spec): PlanAction => {
    const want = desiredResources(spec);
    const rt = byName.get(spec.name);
    if (!rt) {
      return {
        action: "create",
        name: spec.name,
        image: spec.image ?? DEFAULTS.image,
        resources: want,
        ...(spec.env ? { env: spec.env } : {}),
        ...(spec.labels ? { labels: spec.labels } : {}),
        notes: notesOf(spec),
      };
    }
    const have = { vcpus: rt.resources.requests.vcpus, memory_mib: rt.resources.requests.memory_mib };
    const conflicts = conflictsOf(spec, rt);
    const notes = notesOf(spec, rt);
    if (have.vcpus !== want.vcpus || have.memory_mib !== want.memory_mib) {
      return { action: "resize", name: spec.name, id: rt.id, from: have, to: want, conflicts, notes };
    }
    return { action: "unchanged", name: spec.name, id: rt.id, conflicts, notes };
  });
}

/** Counts per action, plus conflicts, for summaries. */
export function summarize(actions: PlanAction[]): { create: number; resize: number; unchanged: number; conflicts: number } {
  const s = { create: 0, resize: 0, unchanged: 0, conflicts: 0 };
  for (const a of actions) {
    s[a.action]++;
    if (a.action !== "create" && a.conflicts.length) s.conflicts++;
  }
  return s;
}
