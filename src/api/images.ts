/** Images on the wire: an image as listed, a build's request and progress events, an import's query. */
import { z } from "zod";
import { ImageNameSchema, PackagesSchema } from "./schemas.js";

export const ImageSchema = z.object({
  name: z.string(),
  size_bytes: z.number(),
  created_at: z.string(),
  source: z.string(),
  in_use_by: z.array(z.string()),
  /** The image a derived image stands on (its packages are one layer above it); null for a base image. */
  parent: z.string().nullable(),
  /** The packages a derived image adds to its parent, in normal form; empty for a base image. */
  packages: z.array(z.string()),
  /** The python3 the image carries (e.g. "3.11.2"), read from its dpkg database; null when it has none or it is unknown. */
  python_version: z.string().nullable(),
});
/** A root-filesystem image. */
export type Image = z.infer<typeof ImageSchema>;

/** Progress events of an image build, sent as NDJSON lines by `POST /v1/images/build`. */
export type ImageBuildEvent =
  | { type: "progress"; message: string; percent?: number }
  | { type: "done"; data: Image }
  | { type: "error"; error: { code: string; message: string } };

/**
 * Body of `POST /v1/images/build`. Defaults: name "default", force false. With `packages`: the derived image of
 * `parent` (default "default") with them, named from the set unless `name` is given.
 */
export const ImageBuildRequestSchema = z.strictObject({
  name: ImageNameSchema.optional(),
  force: z.boolean().optional(),
  /** Builds the image derived from `parent` with these packages (named from the set unless `name` is given). */
  packages: PackagesSchema.optional(),
  /** The image a package build stands on (default "default"). */
  parent: ImageNameSchema.optional(),
});
export type ImageBuildRequest = z.infer<typeof ImageBuildRequestSchema>;

/** Query of `POST /v1/images/import`. */
export const ImageImportQuerySchema = z.strictObject({ name: ImageNameSchema });
