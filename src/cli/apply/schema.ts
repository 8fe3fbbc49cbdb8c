/**
 * The declarative file of `runta apply -f` (Runta's SandboxSet format) and its validation: the whole file is
 * checked first and every problem is reported with a JSON pointer to the offending field.
 */
import { z } from "zod";
import { LIMITS } from "../../api/limits.js";
import { EnvSchema, ImageNameSchema, LabelsSchema, NameSchema, ResourceRequestsSchema } from "../../api/schemas.js";

export const SANDBOX_SET_API_VERSION = "runta/v1";
export const SANDBOX_SET_KIND = "SandboxSet";

export const SandboxSpecSchema = z.strictObject({
  name: NameSchema,
  image: ImageNameSchema.optional(),
  resources: ResourceRequestsSchema.optional(),
  env: EnvSchema.optional(),
  labels: LabelsSchema.optional(),
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

export const SandboxSetSchema = z
  .strictObject({
    apiVersion: z.literal(SANDBOX_SET_API_VERSION, { error: `must be "${SANDBOX_SET_API_VERSION}"` }),
    kind: z.literal(SANDBOX_SET_KIND, { error: `must be "${SANDBOX_SET_KIND}"` }),
    metadata: z.strictObject({ name: z.string().optional() }).optional(),
    sandboxes: z.array(SandboxSpecSchema, { error: "must be an array of sandboxes" }),
  })
  .superRefine((set, ctx) => {
    const first = new Map<string, number>();
    set.sandboxes.forEach((s, i) => {
      const seen = first.get(s.name);
      if (seen !== undefined) {
        ctx.addIssue({ code: "custom", path: ["sandboxes", i, "name"], message: `duplicate name "${s.name}" (also at /sandboxes/${seen}/name)` });
      } else first.set(s.name, i);
      const max = s.auto_resize?.memory_max_mib;
      const mem = s.resources?.memory_mib ?? LIMITS.defaultMemoryMib;
      if (max !== undefined && max < mem) {
        ctx.addIssue({ code: "custom", path: ["sandboxes", i, "auto_resize", "memory_max_mib"], message: `must be at least memory_mib (${mem})` });
      }
    });
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
  if (parsed.success) return { ok: true, set: parsed.data };
  const problems: FileProblem[] = [];
  for (const issue of parsed.error.issues) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) problems.push({ pointer: jsonPointer([...issue.path, key]), message: "unknown field" });
    } else if (issue.code === "invalid_type" && /received undefined/.test(issue.message)) {
      problems.push({ pointer: jsonPointer(issue.path), message: "is required" });
    } else {
      problems.push({ pointer: jsonPointer(issue.path), message: issue.message });
    }
  }
  return { ok: false, problems };
}
