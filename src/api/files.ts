/**
 * Wire schemas of files (`runta cp`), disk sizes and checkpoints.
 */
import { z } from "zod";
import { NameSchema } from "./schemas.js";

const InsidePathSchema = z
  .string()
  .min(1)
  .max(4096)
  .startsWith("/", { error: "must be an absolute path inside the runtime" })
  .refine((p) => !p.includes("\0"), { error: "must not contain NUL" });

/** Query of `GET|PUT /v1/runtimes/{rt}/files`: the path inside the runtime; `format=raw` moves one file's bytes instead of a tar stream. */
export const FilesQuerySchema = z.strictObject({
  path: InsidePathSchema,
  format: z.enum(["tar", "raw"]).optional(),
  /** PUT raw: the file's mode, octal (default 0644). */
  mode: z
    .string()
    .regex(/^0?[0-7]{3,4}$/, { error: "must be octal, e.g. 0644" })
    .optional(),
  /** PUT tar: keep the archive's owners (uid/gid) instead of making root own everything. */
  keep_owner: z.enum(["true", "false"]).optional(),
});
export type FilesQuery = z.infer<typeof FilesQuerySchema>;

/** Query of `GET /v1/runtimes/{rt}/files/stat`. */
export const FileStatQuerySchema = z.strictObject({ path: InsidePathSchema });

export const FileStatSchema = z.object({
  /** The path as asked; `type` describes what is there (a symlink is not followed at the last component). */
  path: z.string(),
  type: z.enum(["file", "directory", "symlink", "other"]),
  size: z.number(),
  mode: z.number().int(),
  mtime: z.string(),
  link_target: z.string().nullable(),
});
/** What is at a path inside a runtime. */
export type FileStat = z.infer<typeof FileStatSchema>;

/** What a tar upload did. */
export const FilesWrittenSchema = z.object({ entries: z.number().int(), bytes: z.number() });
export type FilesWritten = z.infer<typeof FilesWrittenSchema>;

export const CHECKPOINT_STATES = ["creating", "ready", "error"] as const;
export const CHECKPOINT_KINDS = ["full", "live"] as const;

export const CheckpointSchema = z.object({
  id: z.uuid(),
  display_name: z.string(),
  state: z.enum(CHECKPOINT_STATES),
  kind: z.enum(CHECKPOINT_KINDS),
  /** Name of the runtime it was taken from (kept after that runtime is gone), and its id. */
  source_runtime: z.string(),
  source_runtime_id: z.string(),
  image: z.string(),
  /** The checkpoint the source runtime itself stood on (its layers are shared), or null. */
  parent: z.string().nullable(),
  created_at: z.string(),
  /** Disk use of its own frozen layer on the host (shared parent layers not counted). */
  size_bytes: z.number(),
  /** Runtimes restored from it (or from a checkpoint on top of it) that still exist. */
  in_use_by: z.array(z.string()),
  error: z.string().nullable(),
});
/** A frozen copy of a runtime's filesystem that new runtimes can be restored from. */
export type Checkpoint = z.infer<typeof CheckpointSchema>;

/** Body of `POST /v1/runtimes/{rt}/checkpoints`. */
export const CreateCheckpointRequestSchema = z.strictObject({
  name: NameSchema,
  kind: z.enum(CHECKPOINT_KINDS).optional(),
});
export type CreateCheckpointRequest = z.infer<typeof CreateCheckpointRequestSchema>;
