/**
 * Wire schemas of a runtime's network and egress policy (DESIGN §11, Network): the policy request, the audit events
 * and the create-time fields. The language itself (entries, modes, limits) is in egress-policy.ts, free of zod.
 */
import { z } from "zod";
import { EGRESS_LIMITS, EGRESS_MODES, ENTRY_ERROR, NETWORK_MODES, parseEgressEntry, type EgressPolicy } from "./egress-policy.js";

export * from "./egress-policy.js";

export const EgressModeSchema = z.enum(EGRESS_MODES);

const EgressEntrySchema = z
  .string()
  .max(EGRESS_LIMITS.hostMaxLength + 3)
  .refine((e) => parseEgressEntry(e) !== null, { error: ENTRY_ERROR });

const EntriesSchema = z.array(EgressEntrySchema).max(EGRESS_LIMITS.entriesMax, { error: `at most ${EGRESS_LIMITS.entriesMax} entries` });

/** Body of `PUT /v1/runtimes/{rt}/egress` (each PUT replaces the whole policy). */
export const EgressPolicyRequestSchema = z
  .strictObject({
    mode: EgressModeSchema,
    allow: EntriesSchema.optional(),
    deny: EntriesSchema.optional(),
  })
  .superRefine((p, ctx) => {
    if (p.mode !== "allowlist" && p.allow?.length) {
      ctx.addIssue({ code: "custom", path: ["allow"], message: `allow entries need mode "allowlist" (mode is "${p.mode}")` });
    }
    if (p.mode !== "denylist" && p.deny?.length) {
      ctx.addIssue({ code: "custom", path: ["deny"], message: `deny entries need mode "denylist" (mode is "${p.mode}")` });
    }
  });
export type EgressPolicyRequest = z.infer<typeof EgressPolicyRequestSchema>;

export const EgressPolicySchema = z.object({
  mode: EgressModeSchema,
  allow: z.array(z.string()),
  deny: z.array(z.string()),
}) satisfies z.ZodType<EgressPolicy>;

export const NetworkModeSchema = z.enum(NETWORK_MODES);

export const RuntimeEgressSchema = z.object({
  runtime: z.string(),
  runtime_id: z.string(),
  network: NetworkModeSchema,
  /** The runtime's address (null with network "none"). */
  address: z.string().nullable(),
  policy: EgressPolicySchema,
});
/** Body of `GET`/`PUT /v1/runtimes/{rt}/egress`. */
export type RuntimeEgress = z.infer<typeof RuntimeEgressSchema>;

export const EGRESS_PROTOCOLS = ["http", "tls", "tcp", "udp", "dns"] as const;

export const EgressEventSchema = z.object({
  /** Increasing per daemon: `after` in the events query takes it, so `--follow` never repeats or misses one. */
  seq: z.number().int(),
  time: z.string(),
  protocol: z.enum(EGRESS_PROTOCOLS),
  /** The name asked for (HTTP Host, TLS SNI, DNS question); null when the connection named none. */
  host: z.string().nullable(),
  /** The address dialled or asked for; null when none was reached. */
  ip: z.string().nullable(),
  port: z.number().int(),
  verdict: z.enum(["allowed", "denied"]),
  /** The entry that decided (`*.example.com`, `10.0.0.0/8`), or `mode:open`, `mode:allowlist` (nothing matched), `mode:denylist`. */
  rule: z.string(),
  /** Why a connection failed or was refused, when it did. */
  reason: z.string().nullable(),
  bytes_out: z.number().int(),
  bytes_in: z.number().int(),
  /**
   * On a connection taken over for secret rules, one event per request: the secrets put into its headers (by name;
   * empty when no rule's path matched). Absent on spliced connections.
   */
  injected: z.array(z.object({ secret: z.string(), header: z.string() })).optional(),
});
/** One audit event of a runtime's egress proxy or resolver. */
export type EgressEvent = z.infer<typeof EgressEventSchema>;

/** Query of `GET /v1/runtimes/{rt}/egress/events`. */
export const EgressEventsQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(EGRESS_LIMITS.eventsLimitMax).optional(),
  /** Only events with a larger `seq` (for following). */
  after: z.coerce.number().int().min(0).optional(),
});
