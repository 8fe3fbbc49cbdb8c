/**
 * The declarative file of `runta apply -f` (Runta's SandboxSet format) and its validation: the whole file is
 * checked first and every problem is reported with a JSON pointer to the offending field.
 */
import { z } from "zod";
import { LIMITS } from "../../api/limits.js";
import { IdleTimeoutSecsSchema } from "../../api/idle.js";
import { DescriptionSchema, EnvSchema, ImageNameSchema, LabelsSchema, NameSchema, PackagesSchema, ResourceRequestsSchema } from "../../api/schemas.js";
import { PortRequestsSchema } from "../../api/ports.js";
import { VolumeMountsRequestSchema } from "../../api/volumes.js";

export const SANDBOX_SET_API_VERSION = "runta/v1";
export const SANDBOX_SET_KIND = "SandboxSet";

export const SandboxSpecSchema = z.strictObject({
  name: NameSchema,
  image: ImageNameSchema.optional(),
  resources: ResourceRequestsSchema.optional(),
  env: EnvSchema.optional(),
  labels: LabelsSchema.optional(),
  /** Given at create; a different one on an existing runtime is changed in place, like its resources. */
  description: DescriptionSchema.optional(),
  /** Volumes to mount, as in the API (`[{"volume", "path", "read_only"?}]`); fixed at create, so a change is a conflict. */
  volumes: VolumeMountsRequestSchema.optional(),
  /** Given at create; a different one on an existing runtime is a note (change it with runta update --idle-timeout). */
  idle_timeout_secs: IdleTimeoutSecsSchema.optional(),
  /** Packages to find installed (as `runta run --package`): the runtime stands on the image of the set over `image`. */
  packages: PackagesSchema.optional(),
  /** Published at create, as `run -p` (`[{"port": 8080}, {"port": 8443, "protocol": "https"}]`); other ports on an existing runtime are a note. */
  ports: PortRequestsSchema.optional(),
  /** Accepted for compatibility with Runta's format; runta reports it and does not act on it. */
  auto_resize: z
    .strictObject({
      memory_max_mib: z
        .number()
        .int({ error: "must be a whole number of MiB" })
        .min(LIMITS.memoryMibMin, { error: `must be between ${LIMITS.memoryMibMin} and ${LIMITS.memoryMibMax} MiB` })
        .max(LIMITS.memoryMibMax, { error: `must be between ${LIMITS.memoryMibMin} and ${LIMITS.memoryMibMax} MiB` })
        .optional(),
    })
    .optional(),
});
/** One entry of a SandboxSet. */
export type SandboxSpec = z.infer<typeof SandboxSpecSchema>;

const countSchema = z
  .number()
  .int({ error: "must be a whole number" })
  .min(0, { error: `must be between 0 and ${LIMITS.runtimesMax}` })
  .max(LIMITS.runtimesMax, { error: `must be between 0 and ${LIMITS.runtimesMax}` });

/** A warm pool (runta pool set): runtimes of a shape kept booted for creates of that shape. */
export const PoolSpecSchema = z.strictObject({
  name: NameSchema,
  image: ImageNameSchema.optional(),
  resources: ResourceRequestsSchema.omit({ disk_size_gib: true }).optional(),
  min: countSchema,
  /** Default min. */
  max: countSchema.optional(),
});
/** One pool of a SandboxSet. */
export type PoolSpec = z.infer<typeof PoolSpecSchema>;

export const SandboxSetSchema = z.strictObject({
  apiVersion: z.literal(SANDBOX_SET_API_VERSION, { error: `must be "${SANDBOX_SET_API_VERSION}"` }),
  kind: z.literal(SANDBOX_SET_KIND, { error: `must be "${SANDBOX_SET_KIND}"` }),
  metadata: z.strictObject({ name: z.string().optional() }).optional(),
  sandboxes: z.array(SandboxSpecSchema, { error: "must be an array of sandboxes" }),
  /** Warm pools to set (apply) or remove (delete -f). */
  pools: z.array(PoolSpecSchema, { error: "must be an array of pools" }).optional(),
});
/** A whole declarative file. */
export type SandboxSet = z.infer<typeof SandboxSetSchema>;

/** One validation problem: where (RFC 6901 JSON pointer) and what. */
export interface FileProblem {
  pointer: string;
  message: string;
}

/** RFC 6901 pointer of a path. */
export function jsonPointer(path: readonly PropertyKey[]): string {
  return path.map((p) => `/${String(p).replace(/~/g, "~0").replace(/\//g, "~1")}`).join("") || "/";
}

/** Parses and validates file text; returns the set or every problem found. */
export function parseSandboxSet(text: string): { ok: true; set: SandboxSet } | { ok: false; problems: FileProblem[] } {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return { ok: false, problems: [{ pointer: "/", message: `not valid JSON: ${(err as Error).message}` }] };
  }
  const parsed = SandboxSetSchema.safeParse(doc);
  // Cross-field rules run on the raw document so they are reported even when other fields are also wrong.
  const problems: FileProblem[] = crossFieldProblems(doc);
  if (parsed.success && problems.length === 0) return { ok: true, set: parsed.data };
  for (const issue of parsed.success ? [] : parsed.error.issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) problems.push({ pointer: jsonPointer([...issue.path, key]), message: "unknown field" });
    } else if (issue.code === "invalid_type" && /received undefined/.test(issue.message)) {
      problems.push({ pointer: jsonPointer(issue.path), message: "is required" });
    } else {
      problems.push({ pointer: jsonPointer(issue.path), message: issue.message });
    }
  }
  // Document order, so the list reads top to bottom like the file.
  problems.sort((a, b) => a.pointer.localeCompare(b.pointer, "en", { numeric: true }));
  return { ok: false, problems };
}

/** Duplicate names, auto_resize.memory_max_mib below memory_mib, a pool's max below its min. */
function crossFieldProblems(doc: unknown): FileProblem[] {
  const problems: FileProblem[] = [];
  const pools = (doc as { pools?: unknown } | null)?.pools;
  if (Array.isArray(pools)) {
    const seen = new Map<string, number>();
    pools.forEach((raw, i) => {
      const p = (typeof raw === "object" && raw !== null ? raw : {}) as { name?: unknown; min?: unknown; max?: unknown };
      if (typeof p.name === "string") {
        const at = seen.get(p.name);
        if (at !== undefined) problems.push({ pointer: `/pools/${i}/name`, message: `duplicate pool "${p.name}" (also at /pools/${at}/name)` });
        else seen.set(p.name, i);
      }
      if (typeof p.min === "number" && typeof p.max === "number" && p.max < p.min) problems.push({ pointer: `/pools/${i}/max`, message: `must be at least min (${p.min})` });
    });
  }
  const sandboxes = (doc as { sandboxes?: unknown } | null)?.sandboxes;
  if (!Array.isArray(sandboxes)) return problems;
  const first = new Map<string, number>();
  sandboxes.forEach((raw, i) => {
    if (typeof raw !== "object" || raw === null) return;
    const s = raw as { name?: unknown; resources?: { memory_mib?: unknown }; auto_resize?: { memory_max_mib?: unknown } };
    if (typeof s.name === "string") {
      const seen = first.get(s.name);
      if (seen !== undefined) problems.push({ pointer: `/sandboxes/${i}/name`, message: `duplicate name "${s.name}" (also at /sandboxes/${seen}/name)` });
      else first.set(s.name, i);
    }
    const max = s.auto_resize?.memory_max_mib;
    const mem = typeof s.resources?.memory_mib === "number" ? s.resources.memory_mib : LIMITS.defaultMemoryMib;
    if (typeof max === "number" && max < mem) {
      problems.push({ pointer: `/sandboxes/${i}/auto_resize/memory_max_mib`, message: `must be at least memory_mib (${mem})` });
    }
  });
  return problems;
}
