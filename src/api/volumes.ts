/**
 * Volumes: named, persistent directories (each its own ext4 disk on the host) that outlive runtimes and can be
 * mounted into several at once, read-write or read-only (`/v1/volumes`, and `volumes` in a runtime create body).
 */
import { z } from "zod";
import { LIMITS } from "./limits.js";
import { checkMountPath } from "./mount-path.js";

export const VolumeNameSchema = z.string().regex(LIMITS.namePattern, {
  error: "must start with a letter or digit and contain only letters, digits, '_', '.', '-' (1-63 characters)",
});

/** A volume's size in MiB (a bound on what it holds; the file on the host is sparse). */
export const VolumeSizeMibSchema = z
  .number()
  .int({ error: "must be a whole number of MiB" })
  .min(LIMITS.volumeMibMin, { error: `must be between ${LIMITS.volumeMibMin} and ${LIMITS.volumeMibMax} MiB` })
  .max(LIMITS.volumeMibMax, { error: `must be between ${LIMITS.volumeMibMin} and ${LIMITS.volumeMibMax} MiB` });

/** Body of `POST /v1/volumes`. */
export const CreateVolumeRequestSchema = z.strictObject({
  name: VolumeNameSchema,
  /** Default LIMITS.volumeMibDefault. */
  size_mib: VolumeSizeMibSchema.optional(),
});
export type CreateVolumeRequest = z.infer<typeof CreateVolumeRequestSchema>;

/** Body of `PATCH /v1/volumes/{vol}`: grow it to `size_mib` (the create bounds; never smaller than it is). */
export const ResizeVolumeRequestSchema = z.strictObject({
  size_mib: VolumeSizeMibSchema,
});
export type ResizeVolumeRequest = z.infer<typeof ResizeVolumeRequestSchema>;

/** A mount path inside a runtime, normalised (api/mount-path.ts has the rule). */
export const MountPathSchema = z.string().transform((p, ctx) => {
  const checked = checkMountPath(p);
  if ("problem" in checked) {
    ctx.addIssue({ code: "custom", message: `${JSON.stringify(p.slice(0, 80))} ${checked.problem}` });
    return z.NEVER;
  }
  return checked.path;
});

/** One volume to mount into a runtime being created. */
export const VolumeMountRequestSchema = z.strictObject({
  /** The volume's name or id. */
  volume: z.string().min(1).max(100),
  /** Where inside the runtime (absolute; not /, /proc, /sys, /dev or under them). */
  path: MountPathSchema,
  /** Mounted read-only (default false). */
  read_only: z.boolean().optional(),
});
export type VolumeMountRequest = z.infer<typeof VolumeMountRequestSchema>;

/** The `volumes` of a create body: at most LIMITS.volumeMountsMax, each at its own path. */
export const VolumeMountsRequestSchema = z
  .array(VolumeMountRequestSchema)
  .max(LIMITS.volumeMountsMax, { error: `at most ${LIMITS.volumeMountsMax} volumes per runtime` })
  .superRefine((mounts, ctx) => {
    const seen = new Set<string>();
    mounts.forEach((m, i) => {
      if (seen.has(m.path)) ctx.addIssue({ code: "custom", path: [i, "path"], message: `${m.path} is given twice: each volume needs its own path` });
      seen.add(m.path);
    });
  });

/** A volume mounted in a runtime, as the runtime reports it. */
export const VolumeMountSchema = z.object({
  volume: z.string(),
  volume_id: z.string(),
  path: z.string(),
  read_only: z.boolean(),
});
export type VolumeMount = z.infer<typeof VolumeMountSchema>;

export const VolumeSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  /** Its bound: writes past it get ENOSPC inside runtimes (507 through `cp`). */
  size_bytes: z.number(),
  /** Bytes in use (what `df` shows in a runtime that mounts it); null when its disk is not mounted. */
  used_bytes: z.number().nullable(),
  created_at: z.string(),
  /** Runtimes (any status) that mount it. */
  in_use_by: z.array(z.string()),
});
/** A named, persistent directory that outlives runtimes. */
export type Volume = z.infer<typeof VolumeSchema>;
