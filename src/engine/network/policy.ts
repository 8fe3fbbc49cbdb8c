/**
 * Decides whether a runtime may reach a destination, for the egress proxy (names from HTTP Host / TLS SNI, and the
 * addresses it dials) and the resolver (names asked for). nftables enforces the CIDR entries for every other port
 * (plan.ts); both read the same policy, so the two never disagree.
 */
import { ENTRY_ERROR, normalizePolicy, parseEgressEntry, policyFromWhitelist, type EgressPolicy, type EgressPolicyInput } from "../../api/egress-policy.js";
import { errors } from "../../api/index.js";
import { cidrContains } from "./ipv4.js";

/** The verdict and the rule that decided it (an entry, or `mode:<mode>` when none matched). */
export interface Decision {
  allowed: boolean;
  rule: string;
}

const isCidr = (e: string) => /^[0-9.]+\/\d+$/.test(e);

/** Whether `host` matches a hostname entry: exactly, or for `*.example.com` any name under example.com. */
export function hostMatches(entry: string, host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, "");
  if (entry.startsWith("*.")) return h.endsWith(entry.slice(1)) && h.length > entry.length - 1;
  return h === entry;
}

/** The first entry of `list` matching the name or one of the addresses. */
function firstMatch(list: string[], host: string | null, ips: string[]): string | null {
  for (const e of list) {
    if (isCidr(e) ? ips.some((ip) => cidrContains(e, ip)) : host !== null && hostMatches(e, host)) return e;
  }
  return null;
}

/**
 * The decision for a destination known by `host` (may be null: a connection that named nothing) and/or the
 * addresses it resolves to. In an allowlist a name must match a hostname entry, or every address it resolves to must
 * lie in allowed CIDRs; in a denylist one matching entry (name or any address) is enough to refuse.
 */
export function decide(policy: EgressPolicy, host: string | null, ips: string[] = []): Decision {
  if (policy.mode === "open") return { allowed: true, rule: "mode:open" };
  if (policy.mode === "denylist") {
    const hit = firstMatch(policy.deny, host, ips);
    return hit ? { allowed: false, rule: hit } : { allowed: true, rule: "mode:denylist" };
  }
  const byName = host !== null ? policy.allow.find((e) => !isCidr(e) && hostMatches(e, host)) : undefined;
  if (byName) return { allowed: true, rule: byName };
  if (ips.length) {
    const rules = ips.map((ip) => policy.allow.find((e) => isCidr(e) && cidrContains(e, ip)));
    if (rules.every((r) => r !== undefined)) return { allowed: true, rule: rules[0]! };
  }
  return { allowed: false, rule: "mode:allowlist" };
}

/**
 * Whether the resolver should answer a name at all: in an allowlist only names that may be reached (by name), so a
 * runtime cannot tunnel data out through DNS queries for arbitrary names; a denylist refuses its denied names.
 */
export function decideName(policy: EgressPolicy, host: string): Decision {
  if (policy.mode === "allowlist") {
    const byName = policy.allow.find((e) => !isCidr(e) && hostMatches(e, host));
    return byName ? { allowed: true, rule: byName } : { allowed: false, rule: "mode:allowlist" };
  }
  return decide(policy, host);
}

/**
 * A policy as the engine takes it: every entry checked (the server's schema already did; other callers may not have),
 * entries fitting the mode, normalised. `invalid_argument` naming the field otherwise.
 */
export function checkedPolicy(input: EgressPolicyInput, field = "egress"): EgressPolicy {
  for (const list of ["allow", "deny"] as const) {
    for (const e of input[list] ?? []) {
      if (!parseEgressEntry(e)) throw errors.invalid(`${field}.${list}: ${JSON.stringify(e)} ${ENTRY_ERROR}`, { field: `${field}.${list}` });
    }
  }
  if (input.mode !== "allowlist" && input.allow?.length) throw errors.invalid(`${field}.allow needs mode "allowlist" (mode is "${input.mode}")`, { field: `${field}.allow` });
  if (input.mode !== "denylist" && input.deny?.length) throw errors.invalid(`${field}.deny needs mode "denylist" (mode is "${input.mode}")`, { field: `${field}.deny` });
  return normalizePolicy(input);
}

/** The policy a create asks for: `egress`, else seed 000's `whitelist`, else none (open). Both at once is refused. */
export function createPolicy(spec: { egress?: EgressPolicyInput; whitelist?: string[] }): EgressPolicy | undefined {
  const fromWhitelist = spec.whitelist ? policyFromWhitelist(spec.whitelist) : undefined;
  if (spec.egress && fromWhitelist) throw errors.invalid("give egress or whitelist, not both", { field: "whitelist" });
  const input = spec.egress ?? fromWhitelist;
  return input ? checkedPolicy(input, spec.egress ? "egress" : "whitelist") : undefined;
}
