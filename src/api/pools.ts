/** Warm pools on the wire (`/v1/pools`): a pool's requested shape and size, and a pool as reported. */
import { z } from "zod";
import { LIMITS } from "./limits.js";
import { ImageNameSchema, MemoryMibSchema, VcpusSchema } from "./schemas.js";

/** PUT /v1/pools/{pool}: a warm pool's shape and size (seed 000's minCachedInstances / maxCachedInstances). */
export const SetPoolRequestSchema = z.strictObject({
  image: ImageNameSchema.optional(),
  resources: z.strictObject({ requests: z.strictObject({ vcpus: VcpusSchema.optional(), memory_mib: MemoryMibSchema.optional() }).optional() }).optional(),
  /** Runtimes kept booted and waiting (required, here or as minCachedInstances). */
  min: z.number().int().min(0, { error: "must be 0 or more" }).max(LIMITS.runtimesMax).optional(),
  /** The most members the pool holds (default min). */
  max: z.number().int().min(0, { error: "must be 0 or more" }).max(LIMITS.runtimesMax).optional(),
  /** Seed 000's names for min and max; give one name or the other. */
  minCachedInstances: z.number().int().min(0).max(LIMITS.runtimesMax).optional(),
  maxCachedInstances: z.number().int().min(0).max(LIMITS.runtimesMax).optional(),
});

/** A warm pool as the API reports it. */
export const PoolSchema = z.object({
  name: z.string(),
  image: z.string(),
  resources: z.object({ requests: z.object({ vcpus: z.number(), memory_mib: z.number() }) }),
  min: z.number().int(),
  max: z.number().int(),
  /** Members booted and waiting for a create. */
  ready: z.number().int(),
  /** Members booting now. */
  booting: z.number().int(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type Pool = z.infer<typeof PoolSchema>;
