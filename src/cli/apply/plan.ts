/**
 * The planner of `runta apply`: a pure function of (desired, actual) → actions, with no I/O, so every
 * convergence rule is unit-tested without a daemon.
 */
import { envDigest } from "../../api/env-digest.js";
import { DEFAULTS, LIMITS } from "../../api/limits.js";
import type { Image } from "../../api/images.js";
import type { Runtime } from "../../api/schemas.js";
import type { VolumeMountRequest } from "../../api/volumes.js";

/** What the planner needs of the images that exist: names, and a derived image's parent and packages. */
export type KnownImage = Pick<Image, "name" | "parent" | "packages">;
import type { SandboxSpec } from "./schema.js";
import type { PortRequest } from "../../api/ports-spec.js";

/** Resources as planned (defaults applied). */
export interface PlannedResources {
  vcpus: number;
  memory_mib: number;
}

/** Something in the file that differs from the runtime and cannot be changed in place. */
export interface Conflict {
  field: "image" | "packages" | "env" | "labels" | "volumes";
  desired: unknown;
  actual: unknown;
  /** Set when only env values differ: the names match, the values (never sent by the daemon) do not. */
  values?: true;
}

/** A description to change in place: what the runtime has, what the file says. */
export interface DescriptionChange {
  from: string;
  to: string;
}

/**
 * What apply will do for one sandbox. `missing_image`: the image does not exist, so the create would fail. `resize`
 * may change the description too; `update` changes only the description.
 */
export type PlanAction =
  | {
      action: "create";
      name: string;
      image: string;
      resources: PlannedResources;
      env?: Record<string, string>;
      labels?: Record<string, string>;
      description?: string;
      idle_timeout_secs?: number;
      volumes?: VolumeMountRequest[];
      packages?: string[];
      ports?: PortRequest[];
      missing_image?: true;
      notes: string[];
    }
  | { action: "resize"; name: string; id: string; from: PlannedResources; to: PlannedResources; description?: DescriptionChange; conflicts: Conflict[]; notes: string[] }
  | { action: "update"; name: string; id: string; description: DescriptionChange; conflicts: Conflict[]; notes: string[] }
  | { action: "unchanged"; name: string; id: string; conflicts: Conflict[]; notes: string[] };

/**
 * Resources a spec asks for. What it leaves out is left as it is (`current`, an existing runtime's) or, for a new
 * runtime, the API's defaults: an entry without `resources` never resizes anything.
 */
export function desiredResources(spec: SandboxSpec, current?: PlannedResources): PlannedResources {
  return {
    vcpus: spec.resources?.vcpus ?? current?.vcpus ?? LIMITS.defaultVcpus,
    memory_mib: spec.resources?.memory_mib ?? current?.memory_mib ?? LIMITS.defaultMemoryMib,
  };
}

function sameRecord(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k]);
}

function conflictsOf(spec: SandboxSpec, rt: Runtime, images: KnownImage[] = []): Conflict[] {
  const out: Conflict[] = [];
  const image = spec.image ?? DEFAULTS.image;
  // A runtime of packages stands on their derived image: compare its parent and packages with the file's.
  const derived = images.find((i) => i.name === rt.image && i.parent !== null);
  const base = derived?.parent ?? rt.image;
  if (image !== base) out.push({ field: "image", desired: image, actual: base });
  const want = spec.packages ?? [];
  const have = derived?.packages ?? [];
  if (want.join("\n") !== have.join("\n")) out.push({ field: "packages", desired: want, actual: have });
  // The API reports env names only (values may be secrets) and a digest of the values, which the file's values are
  // hashed against: a changed value is a conflict too, never silently ignored.
  const wantEnv = Object.keys(spec.env ?? {}).sort();
  const haveEnv = [...rt.env_names].sort();
  if (wantEnv.join("\0") !== haveEnv.join("\0")) out.push({ field: "env", desired: wantEnv, actual: haveEnv });
  else if (envDigest(rt.id, spec.env ?? {}) !== rt.env_digest) out.push({ field: "env", desired: wantEnv, actual: haveEnv, values: true });
  if (!sameRecord(spec.labels ?? {}, rt.labels)) out.push({ field: "labels", desired: spec.labels ?? {}, actual: rt.labels });
  // A volume is named in the file by name or id; the runtime reports both.
  const wantVolumes = spec.volumes ?? [];
  const haveVolumes = rt.volumes ?? [];
  const sameVolumes =
    wantVolumes.length === haveVolumes.length &&
    wantVolumes.every((w) => haveVolumes.some((h) => (h.volume === w.volume || h.volume_id === w.volume) && h.path === w.path && h.read_only === (w.read_only ?? false)));
  if (!sameVolumes) out.push({ field: "volumes", desired: wantVolumes.map(volumeText), actual: haveVolumes.map(volumeText) });
  return out;
}

/** A mount as `-v` writes it: `data:/work`, `ref:/ref:ro`. */
function volumeText(v: { volume: string; path: string; read_only?: boolean }): string {
  return `${v.volume}:${v.path}${v.read_only ? ":ro" : ""}`;
}

function notesOf(spec: SandboxSpec, rt?: Runtime): string[] {
  const notes: string[] = [];
  const max = spec.auto_resize?.memory_max_mib;
  if (max !== undefined) {
    notes.push(
      `auto_resize.memory_max_mib=${max} is accepted but runta does not resize automatically; change memory_mib and re-apply, or run runta resize --memory <MiB> ${spec.name}`,
    );
  }
  if (rt && spec.idle_timeout_secs !== undefined && spec.idle_timeout_secs !== rt.idle_timeout_secs) {
    notes.push(`idle_timeout_secs is ${rt.idle_timeout_secs ?? "none"}, the file says ${spec.idle_timeout_secs}; apply does not change it: runta update --idle-timeout ${spec.idle_timeout_secs} ${spec.name}`);
  }
  if (rt && spec.ports !== undefined) {
    const key = (p: { port: number; protocol?: string; host_port?: number | null }) => `${p.port}/${p.protocol ?? (p.host_port ? "tcp" : "http")}`;
    const want = spec.ports.map(key).sort().join(",");
    const have = rt.ports.map(key).sort().join(",");
    if (want !== have) notes.push(`published ports differ from the file's (${have || "none"}); apply does not change them: runta ports add|rm ${spec.name} <port>`);
  }
  if (rt && rt.status !== "running") notes.push(`status is ${rt.status}; apply does not start or stop runtimes`);
  return notes;
}

/**
 * Plans convergence: a missing runtime is created; one whose vCPUs or memory differ is resized live, one whose
 * description differs is updated (with the resize when both differ); image, packages, env (names or values), labels
 * and volumes cannot change in place and are reported as conflicts (never silently ignored).
 * Runtimes that exist but are not in the file are left alone (apply never deletes; use delete -f). `images`, those
 * that exist, marks creates from a missing image (the default image is built on demand) and tells a derived image's
 * parent and packages. Order follows the file.
 */
export function plan(desired: SandboxSpec[], actual: Runtime[], images?: KnownImage[]): PlanAction[] {
  const byName = new Map(actual.filter((r) => r.status !== "deleting").map((r) => [r.name, r]));
  return desired.map((spec): PlanAction => {
    const rt = byName.get(spec.name);
    if (!rt) {
      const image = spec.image ?? DEFAULTS.image;
      return {
        action: "create",
        name: spec.name,
        image,
        resources: desiredResources(spec),
        ...(spec.env ? { env: spec.env } : {}),
        ...(spec.labels ? { labels: spec.labels } : {}),
        ...(spec.description !== undefined ? { description: spec.description } : {}),
        ...(spec.volumes?.length ? { volumes: spec.volumes } : {}),
        ...(spec.idle_timeout_secs !== undefined ? { idle_timeout_secs: spec.idle_timeout_secs } : {}),
        ...(spec.packages?.length ? { packages: spec.packages } : {}),
        ...(spec.ports ? { ports: spec.ports } : {}),
        ...(images && image !== DEFAULTS.image && !images.some((i) => i.name === image) ? { missing_image: true as const } : {}),
        notes: notesOf(spec),
      };
    }
    const have = { vcpus: rt.resources.requests.vcpus, memory_mib: rt.resources.requests.memory_mib };
    const want = desiredResources(spec, have);
    const conflicts = conflictsOf(spec, rt, images);
    const notes = notesOf(spec, rt);
    // Like resources, a description left out of the file is left as it is.
    const description = spec.description !== undefined && spec.description !== rt.description ? { from: rt.description, to: spec.description } : undefined;
    if (have.vcpus !== want.vcpus || have.memory_mib !== want.memory_mib) {
      return { action: "resize", name: spec.name, id: rt.id, from: have, to: want, ...(description ? { description } : {}), conflicts, notes };
    }
    if (description) return { action: "update", name: spec.name, id: rt.id, description, conflicts, notes };
    return { action: "unchanged", name: spec.name, id: rt.id, conflicts, notes };
  });
}

/**
 * Counts for summaries, each runtime once: a conflicted runtime counts as a conflict, not as unchanged (it is resized
 * when its resources differ too); a create from a missing image counts as `missing_image`, not as a create.
 */
export function summarize(actions: PlanAction[]): { create: number; resize: number; update: number; unchanged: number; conflicts: number; missing_image: number } {
  const s = { create: 0, resize: 0, update: 0, unchanged: 0, conflicts: 0, missing_image: 0 };
  for (const a of actions) {
    if (a.action === "create") s[a.missing_image ? "missing_image" : "create"]++;
    else if (a.action === "resize") s.resize++;
    else if (a.action === "update") s.update++;
    else if (!a.conflicts.length) s.unchanged++;
    if (a.action !== "create" && a.conflicts.length) s.conflicts++;
  }
  return s;
}
