/**
 * The network of a daemon as text: names derived from its config, and the `ip -b` / `nft -f` batches that build and
 * remove it. Pure functions (no I/O), so every rule is unit-tested; network.ts runs them.
 *
 * Model (DESIGN §11): each runtime has its own network namespace wired to the host by a routed veth pair (no bridge).
 * The host end of every pair carries the same gateway address (the range's first) with the runtime's address as its
 * peer, so the kernel routes each runtime's /32 to its own veth. One nftables table per daemon holds:
 *   - input: a runtime reaches nothing on the host but the daemon's resolver and egress proxy (replies aside);
 *   - forward: nothing opens a connection to a runtime (other runtimes included); a packet from a runtime is looked up
 *     by (interface, source address) in a verdict map, so a spoofed source matches nothing and is dropped; the
 *     runtime's own chain then applies its CIDR rules;
 *   - nat: DNS (53) goes to the daemon's resolver, ports 80/443 to the daemon's egress proxy (which reads Host/SNI),
 *     except destinations an allowlist names by CIDR; everything leaving the host is masqueraded.
 */
import { createHash } from "node:crypto";
import type { EgressPolicy } from "../../api/egress.js";
import { formatCidr, intToIp, parseCidr, type Cidr } from "./ipv4.js";

/** Every interface (and netns) name of every runta daemon starts with this; a daemon adds its own 4 hex digits. */
export const IF_FAMILY_PREFIX = "rta";

/** The names and addresses one daemon's network is made of. */
export interface NetworkNames {
  /** nftables table (family inet). */
  table: string;
  /** Prefix of this daemon's host-side veths and netns names, e.g. `rta1f2e` → `rta1f2e-2a`. */
  ifPrefix: string;
  /** The address range the daemon owns. */
  range: Cidr;
  /** The gateway address every runtime routes through (the range's first address). */
  gateway: string;
}

/**
 * Derives table name, interface prefix and address range from a daemon's identity (its data dir), so test daemons and
 * a developer's daemon do not share them. The range is a /20 (4094 runtimes) in 10.64.0.0/10 unless `cidr` says; one
 * of 1024, so two daemons can meet: `attempt` n > 0 derives the n-th alternative range (same table and interfaces),
 * which RuntimeNetworks tries when the host already routes the first, and then keeps.
 */
export function networkNames(identity: string, cidr?: string, attempt = 0): NetworkNames {
  const h = createHash("sha256").update(identity).digest();
  const tag = h.subarray(0, 2).toString("hex");
  const r = attempt === 0 ? h : createHash("sha256").update(`${identity}\0range ${attempt}`).digest();
  const range = cidr ? parseCidr(cidr) : { base: ((10 << 24) | ((64 + (r[2]! % 64)) << 16) | ((r[3]! % 16) << 12)) >>> 0, bits: 20 };
  if (range.bits > 28) throw new Error(`network range ${formatCidr(range)} is too small (at most /28)`);
  return { table: `runta_${tag}`, ifPrefix: `${IF_FAMILY_PREFIX}${tag}`, range, gateway: intToIp(range.base + 1) };
}

/** Indexes usable for runtimes: 2 … size-2 (0 is the network, 1 the gateway, the last the broadcast). */
export function indexBounds(names: NetworkNames): { first: number; last: number } {
  return { first: 2, last: 2 ** (32 - names.range.bits) - 2 };
}

/** The lowest free index, or null when the range is full. */
export function allocateIndex(names: NetworkNames, used: Iterable<number>): number | null {
  const taken = new Set(used);
  const { first, last } = indexBounds(names);
  for (let i = first; i <= last; i++) if (!taken.has(i)) return i;
  return null;
}

/** What identifies one runtime's network. */
export interface Attachment {
  /** Index in the range: the address is range base + index. */
  index: number;
  /** Host-side veth; also the name of the runtime's network namespace (`/run/netns/<name>`). */
  ifname: string;
  address: string;
}

/** The attachment of the runtime holding `index`. */
export function attachment(names: NetworkNames, index: number): Attachment {
  return { index, ifname: `${names.ifPrefix}-${index.toString(16)}`, address: intToIp(names.range.base + index) };
}

/** `ip -b` lines (host side): the namespace, the veth pair with its inner end moved in, the host end's routed address. */
export function hostSetupBatch(names: NetworkNames, a: Attachment): string {
  return [
    `netns add ${a.ifname}`,
    `link add ${a.ifname} type veth peer name eth0 netns ${a.ifname}`,
    `addr add ${names.gateway}/32 peer ${a.address}/32 dev ${a.ifname}`,
    `link set ${a.ifname} up`,
  ].join("\n") + "\n";
}

/** `ip -n <ns> -b` lines (inside the namespace): loopback, the runtime's address, the route through the gateway. */
export function namespaceSetupBatch(names: NetworkNames, a: Attachment): string {
  return [
    "link set lo up",
    `addr add ${a.address}/32 peer ${names.gateway}/32 dev eth0`,
    "link set eth0 up",
    `route add default via ${names.gateway} dev eth0`,
  ].join("\n") + "\n";
}

/** `ip -force -b` lines removing a runtime's veth and namespace (each may already be gone). */
export function teardownBatch(a: Attachment): string {
  return `link del ${a.ifname}\nnetns del ${a.ifname}\n`;
}

/** The daemon's ports on the gateway address, and whether it holds IPv4 forwarding on for runta (see forwarding.ts). */
export interface TableParams {
  dnsPort: number;
  /** The egress proxy's listeners for ports 80 (plain HTTP) and 443 (TLS). */
  httpPort: number;
  tlsPort: number;
  ownsForwarding: boolean;
}

/** A runtime in the table: its attachment and policy. */
export interface TableRuntime {
  attachment: Attachment;
  policy: EgressPolicy;
}

const REJECT = ["meta l4proto tcp reject with tcp reset", "reject with icmpx type admin-prohibited"];

function cidrs(policy: EgressPolicy, list: "allow" | "deny"): string[] {
  return policy[list].filter((e) => /^[0-9.]+\/\d+$/.test(e));
}

/** Rules of a runtime's forward chain: its CIDR policy (hostnames are the proxy's business, on ports 80/443). */
export function egressRules(policy: EgressPolicy): string[] {
  if (policy.mode === "allowlist") {
    const allow = cidrs(policy, "allow");
    return [...(allow.length ? [`ip daddr { ${allow.join(", ")} } accept`] : []), ...REJECT];
  }
  if (policy.mode === "denylist") {
    const deny = cidrs(policy, "deny");
    return [...deny.flatMap((c) => REJECT.map((r) => `ip daddr ${c} ${r}`)), "accept"];
  }
  return ["accept"];
}

/** Rules of a runtime's nat chain: an allowlist's CIDRs are reached directly, not through the proxy. */
export function natRules(policy: EgressPolicy): string[] {
  const allow = policy.mode === "allowlist" ? cidrs(policy, "allow") : [];
  return allow.length ? [`ip daddr { ${allow.join(", ")} } accept`] : [];
}

function chainNames(a: Attachment): { out: string; nat: string } {
  return { out: `out_${a.index}`, nat: `nat_${a.index}` };
}

function ruleLines(table: string, chain: string, rules: string[]): string[] {
  return rules.map((r) => `add rule inet ${table} ${chain} ${r}`);
}

/** `nft -f` text adding one runtime to the table (its chains, then the map entries that lead to them). */
export function addRuntimeScript(names: NetworkNames, rt: TableRuntime): string {
  const t = names.table;
  const { out, nat } = chainNames(rt.attachment);
  const a = rt.attachment;
  return [
    `add chain inet ${t} ${out}`,
    `add chain inet ${t} ${nat}`,
    `flush chain inet ${t} ${out}`,
    `flush chain inet ${t} ${nat}`,
    ...ruleLines(t, out, egressRules(rt.policy)),
    ...ruleLines(t, nat, natRules(rt.policy)),
    `add element inet ${t} egress_by_source { "${a.ifname}" . ${a.address} : jump ${out} }`,
    `add element inet ${t} nat_by_iface { "${a.ifname}" : jump ${nat} }`,
  ].join("\n") + "\n";
}

/** `nft -f` text replacing a runtime's policy atomically (one transaction: no moment without rules). */
export function policyScript(names: NetworkNames, rt: TableRuntime): string {
  const t = names.table;
  const { out, nat } = chainNames(rt.attachment);
  return [`flush chain inet ${t} ${out}`, `flush chain inet ${t} ${nat}`, ...ruleLines(t, out, egressRules(rt.policy)), ...ruleLines(t, nat, natRules(rt.policy))].join("\n") + "\n";
}

/** `nft -f` text removing a runtime from the table: map entries first (they reference the chains). */
export function removeRuntimeScript(names: NetworkNames, a: Attachment): string {
  const t = names.table;
  const { out, nat } = chainNames(a);
  return [
    `delete element inet ${t} egress_by_source { "${a.ifname}" . ${a.address} }`,
    `delete element inet ${t} nat_by_iface { "${a.ifname}" }`,
    `flush chain inet ${t} ${out}`,
    `flush chain inet ${t} ${nat}`,
    `delete chain inet ${t} ${out}`,
    `delete chain inet ${t} ${nat}`,
  ].join("\n") + "\n";
}

/**
 * `nft -f` text (re)building the whole table in one transaction: declare it (so the delete cannot fail), delete it,
 * define it with every runtime. Used when the daemon starts (its ports are new) and adopts what runs.
 */
export function tableScript(names: NetworkNames, params: TableParams, runtimes: TableRuntime[]): string {
  const t = names.table;
  const ours = `"${names.ifPrefix}-*"`;
  const gw = names.gateway;
  const lines = [
    `table inet ${t}`,
    `delete table inet ${t}`,
    `table inet ${t} {`,
    "  map egress_by_source { type ifname . ipv4_addr : verdict; }",
    "  map nat_by_iface { type ifname : verdict; }",
    "  chain input {",
    "    type filter hook input priority filter; policy accept;",
    `    iifname ${ours} jump runtime_input`,
    "  }",
    "  chain runtime_input {",
    "    ct state established,related accept",
    `    ip daddr ${gw} udp dport ${params.dnsPort} accept`,
    `    ip daddr ${gw} tcp dport { ${params.httpPort}, ${params.tlsPort} } accept`,
    ...REJECT.map((r) => `    ${r}`),
    "  }",
    "  chain forward {",
    "    type filter hook forward priority filter; policy accept;",
    `    oifname ${ours} ct state established,related accept`,
    ...REJECT.map((r) => `    oifname ${ours} ${r}`),
    `    iifname ${ours} iifname . ip saddr vmap @egress_by_source`,
    `    iifname ${ours} drop`,
    // While runta turned forwarding on, forwarding between other interfaces stays as closed as it was before.
    ...(params.ownsForwarding ? [`    iifname != "${IF_FAMILY_PREFIX}*" oifname != "${IF_FAMILY_PREFIX}*" drop`] : []),
    "  }",
    "  chain prerouting {",
    "    type nat hook prerouting priority dstnat; policy accept;",
    `    iifname ${ours} jump runtime_dnat`,
    "  }",
    "  chain runtime_dnat {",
    "    iifname vmap @nat_by_iface",
    `    udp dport 53 redirect to :${params.dnsPort}`,
    `    tcp dport 80 redirect to :${params.httpPort}`,
    `    tcp dport 443 redirect to :${params.tlsPort}`,
    "  }",
    "  chain postrouting {",
    "    type nat hook postrouting priority srcnat; policy accept;",
    `    ip saddr ${formatCidr(names.range)} oifname != ${ours} masquerade`,
    "  }",
    "}",
  ];
  return lines.join("\n") + "\n" + runtimes.map((rt) => addRuntimeScript(names, rt)).join("");
}

/** `nft -f` text removing the table (when the daemon holds no network any more). */
export function deleteTableScript(names: NetworkNames): string {
  return `table inet ${names.table}\ndelete table inet ${names.table}\n`;
}
