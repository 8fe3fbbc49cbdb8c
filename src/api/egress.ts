/**
 * Wire schemas of a runtime's network and egress policy (DESIGN §11, Network): the policy language, the audit events
 * and the create-time fields. Shared by the server (validation), the SDK/CLI (types) and the OpenAPI document.
 */
import { z } from "zod";

/** Bounds of the egress policy and its audit trail (the README quotes these). */
export const EGRESS_LIMITS = {
  /** Entries in one policy (allow or deny). */
  entriesMax: 256,
  /** Longest hostname pattern (DNS names are at most 253 characters). */
  hostMaxLength: 253,
  /** Audit events kept per runtime; older ones are dropped first. */
  eventsKeptPerRuntime: 1000,
  /** Events one `GET …/egress/events` returns at most, and by default. */
  eventsLimitMax: 1000,
  eventsLimitDefault: 100,
} as const;

export const EGRESS_MODES = ["open", "allowlist", "denylist"] as const;
export const EgressModeSchema = z.enum(EGRESS_MODES);
/** `open`: anything may be reached; `allowlist`: only the `allow` entries; `denylist`: everything but the `deny` entries. */
export type EgressMode = z.infer<typeof EgressModeSchema>;

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const HOST_LABEL = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?";
const HOST = new RegExp(`^(\\*\\.)?(${HOST_LABEL}\\.)*${HOST_LABEL}$`);

/** What an entry is: an IPv4 CIDR (a bare address is a /32) or a hostname, `*.` matching any subdomain. */
export type EgressTarget = { kind: "cidr"; cidr: string } | { kind: "host"; host: string };

/**
 * Reads one policy entry: `10.10.10.0/24`, `10.1.2.3` (= /32), `api.example.com` or `*.example.com` (any name under
 * example.com, not example.com itself). Hostnames are case-insensitive and kept lowercase. Null when it is neither.
 */
export function parseEgressEntry(raw: string): EgressTarget | null {
  const entry = raw.trim().toLowerCase().replace(/\.$/, "");
  const cidr = /^([0-9.]+)(?:\/(\d{1,2}))?$/.exec(entry);
  if (cidr) {
    if (!IPV4.test(cidr[1]!)) return null;
    const bits = cidr[2] === undefined ? 32 : Number(cidr[2]);
    if (bits > 32) return null;
    return { kind: "cidr", cidr: `${cidr[1]}/${bits}` };
  }
  if (entry.length > EGRESS_LIMITS.hostMaxLength || !HOST.test(entry)) return null;
  // A name of digits and dots only would be an IP address that failed the check above.
  if (/^[0-9.*]+$/.test(entry)) return null;
  return { kind: "host", host: entry };
}

const ENTRY_ERROR =
  "must be a hostname (api.example.com), a wildcard (*.example.com) or an IPv4 address or CIDR (10.10.10.0/24); IPv6 is not supported";

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
});
/** A runtime's egress policy, entries normalised (lowercase, bare addresses as /32). */
export type EgressPolicy = z.infer<typeof EgressPolicySchema>;

/** The policy every runtime starts with unless told otherwise. */
export const OPEN_POLICY: EgressPolicy = Object.freeze({ mode: "open", allow: [], deny: [] }) as EgressPolicy;

/** A request turned into the stored form (normalised entries, both lists present). */
export function normalizePolicy(p: EgressPolicyRequest): EgressPolicy {
  const norm = (list: string[] | undefined) => [
    ...new Set((list ?? []).map((e) => {
      const t = parseEgressEntry(e)!;
      return t.kind === "cidr" ? t.cidr : t.host;
    })),
  ];
  return { mode: p.mode, allow: norm(p.allow), deny: norm(p.deny) };
}

/**
 * Seed 000's `whitelist` ("decides the reachable destination of this runtime", CIDRs): any non-empty entry makes the
 * runtime an allowlist of those entries; a list of only empty strings (the seed's sample sends `[""]`) restricts nothing.
 */
export function policyFromWhitelist(whitelist: string[]): EgressPolicyRequest | undefined {
  const entries = whitelist.map((e) => e.trim()).filter(Boolean);
  return entries.length ? { mode: "allowlist", allow: entries } : undefined;
}

export const NETWORK_MODES = ["nat", "none"] as const;
/** `nat`: an address, NAT, DNS and the egress policy (default); `none`: loopback only. */
export const NetworkModeSchema = z.enum(NETWORK_MODES);
export type NetworkMode = z.infer<typeof NetworkModeSchema>;

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
});
/** One audit event of a runtime's egress proxy or resolver. */
export type EgressEvent = z.infer<typeof EgressEventSchema>;

/** Query of `GET /v1/runtimes/{rt}/egress/events`. */
export const EgressEventsQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(EGRESS_LIMITS.eventsLimitMax).optional(),
  /** Only events with a larger `seq` (for following). */
  after: z.coerce.number().int().min(0).optional(),
});
