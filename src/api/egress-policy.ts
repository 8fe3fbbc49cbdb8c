/**
 * The egress policy language without zod (the CLI and SDK load this on every start; the schemas are in egress.ts):
 * modes, what an entry may be, normalisation, and seed 000's `whitelist`.
 */
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
/** `open`: anything may be reached; `allowlist`: only the `allow` entries; `denylist`: everything but the `deny` entries. */
export type EgressMode = (typeof EGRESS_MODES)[number];

/** A runtime's egress policy, entries normalised (lowercase, bare addresses as /32). */
export interface EgressPolicy {
  mode: EgressMode;
  allow: string[];
  deny: string[];
}

/** What a client sends to set a policy (each set replaces the whole policy). */
export interface EgressPolicyInput {
  mode: EgressMode;
  allow?: string[];
  deny?: string[];
}

export const NETWORK_MODES = ["nat", "none"] as const;
/** `nat`: an address, NAT, DNS and the egress policy (default); `none`: loopback only. */
export type NetworkMode = (typeof NETWORK_MODES)[number];

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


export const ENTRY_ERROR =
  "must be a hostname (api.example.com), a wildcard (*.example.com) or an IPv4 address or CIDR (10.10.10.0/24); IPv6 is not supported";

/** The policy every runtime starts with unless told otherwise. */
export const OPEN_POLICY: EgressPolicy = Object.freeze({ mode: "open", allow: [], deny: [] }) as EgressPolicy;

/** A request turned into the stored form (normalised entries, both lists present). */
export function normalizePolicy(p: EgressPolicyInput): EgressPolicy {
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
export function policyFromWhitelist(whitelist: string[]): EgressPolicyInput | undefined {
  const entries = whitelist.map((e) => e.trim()).filter(Boolean);
  return entries.length ? { mode: "allowlist", allow: entries } : undefined;
}
