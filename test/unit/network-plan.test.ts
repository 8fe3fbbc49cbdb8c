import { expect, test } from "vitest";
import { cidrContains, cidrsOverlap, intToIp, ipToInt, parseCidr } from "../../src/engine/network/ipv4.js";
import {
  addRuntimeScript,
  allocateIndex,
  attachment,
  egressRules,
  hostSetupBatch,
  namespaceSetupBatch,
  natRules,
  networkNames,
  policyScript,
  removeRuntimeScript,
  tableScript,
  teardownBatch,
} from "../../src/engine/network/plan.js";

const open = { mode: "open", allow: [], deny: [] } as const;

test("ipv4 helpers: parse, format, membership and overlap", () => {
  expect(intToIp(ipToInt("10.1.2.3"))).toBe("10.1.2.3");
  expect(() => ipToInt("10.1.2.256")).toThrow();
  expect(parseCidr("10.1.2.3/24")).toEqual({ base: ipToInt("10.1.2.0"), bits: 24 });
  expect(cidrContains("10.10.10.0/24", "10.10.10.200")).toBe(true);
  expect(cidrContains("10.10.10.0/24", "10.10.11.1")).toBe(false);
  expect(cidrContains("0.0.0.0/0", "203.0.113.80")).toBe(true);
  expect(cidrContains("10.0.0.0/8", "::1")).toBe(false);
  expect(cidrsOverlap(parseCidr("10.0.0.0/8"), parseCidr("10.64.16.0/20"))).toBe(true);
  expect(cidrsOverlap(parseCidr("10.64.0.0/20"), parseCidr("10.64.16.0/20"))).toBe(false);
});

test("alternative ranges: another /20 in 10.64.0.0/10 for each attempt, the same table and interfaces", () => {
  const base = networkNames("/var/lib/runta");
  const alts = [1, 2, 3].map((n) => networkNames("/var/lib/runta", undefined, n));
  for (const alt of alts) {
    expect([alt.table, alt.ifPrefix, alt.range.bits]).toEqual([base.table, base.ifPrefix, 20]);
    expect(cidrContains("10.64.0.0/10", alt.gateway)).toBe(true);
  }
  expect(new Set([base, ...alts].map((n) => n.range.base)).size).toBe(4);
  expect(networkNames("/var/lib/runta", undefined, 2)).toEqual(alts[1]);
});

test("names derive from the daemon's identity: two data dirs share no table, prefix or range", () => {
  const a = networkNames("/var/lib/runta");
  const b = networkNames("/tmp/runta-test-daemon-abc");
  expect(a).toEqual(networkNames("/var/lib/runta"));
  expect(a.table).not.toBe(b.table);
  expect(a.ifPrefix).not.toBe(b.ifPrefix);
  expect(a.table).toMatch(/^runta_[0-9a-f]{4}$/);
  expect(a.ifPrefix).toMatch(/^rta[0-9a-f]{4}$/);
  expect(a.range.bits).toBe(20);
  expect(cidrContains("10.64.0.0/10", a.gateway)).toBe(true);
  // The longest interface name (the last index of a /20) fits Linux's 15 characters.
  expect(attachment(a, 4094).ifname.length).toBeLessThanOrEqual(15);
  const fixed = networkNames("x", "10.99.0.0/24");
  expect(fixed.gateway).toBe("10.99.0.1");
  expect(() => networkNames("x", "10.99.0.0/30")).toThrow(/too small/);
});

test("allocation takes the lowest free index and says when the range is full", () => {
  const n = networkNames("x", "10.99.0.0/28");
  expect(allocateIndex(n, [])).toBe(2);
  expect(allocateIndex(n, [2, 3, 5])).toBe(4);
  expect(allocateIndex(n, [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14])).toBeNull();
  expect(attachment(n, 2)).toEqual({ index: 2, ifname: `${n.ifPrefix}-2`, address: "10.99.0.2" });
});

test("ip batches: namespace, routed veth with the shared gateway, route inside; teardown of both", () => {
  const n = networkNames("x", "10.99.0.0/24");
  const a = attachment(n, 26);
  expect(hostSetupBatch(n, a).split("\n")).toEqual([
    `netns add ${a.ifname}`,
    `link add ${a.ifname} type veth peer name eth0 netns ${a.ifname}`,
    `addr add 10.99.0.1/32 peer 10.99.0.26/32 dev ${a.ifname}`,
    `link set ${a.ifname} up`,
    "",
  ]);
  expect(namespaceSetupBatch(n, a)).toContain("route add default via 10.99.0.1 dev eth0");
  expect(namespaceSetupBatch(n, a)).toContain("addr add 10.99.0.26/32 peer 10.99.0.1/32 dev eth0");
  expect(teardownBatch(a)).toBe(`link del ${a.ifname}\nnetns del ${a.ifname}\n`);
});

test("egress rules: open accepts, allowlist accepts its CIDRs then rejects, denylist rejects its CIDRs then accepts", () => {
  expect(egressRules(open)).toEqual(["accept"]);
  const allow = egressRules({ mode: "allowlist", allow: ["10.10.10.0/24", "api.example.com"], deny: [] });
  expect(allow[0]).toBe("ip daddr { 10.10.10.0/24 } accept");
  expect(allow.slice(1)).toEqual(["meta l4proto tcp reject with tcp reset", "reject with icmpx type admin-prohibited"]);
  expect(egressRules({ mode: "allowlist", allow: ["api.example.com"], deny: [] })[0]).toMatch(/reject/);
  const deny = egressRules({ mode: "denylist", allow: [], deny: ["192.0.2.0/24", "evil.example"] });
  expect(deny).toEqual([
    "ip daddr 192.0.2.0/24 meta l4proto tcp reject with tcp reset",
    "ip daddr 192.0.2.0/24 reject with icmpx type admin-prohibited",
    "accept",
  ]);
  // Only an allowlist's CIDRs bypass the proxy (reached directly on 80/443 too).
  expect(natRules({ mode: "allowlist", allow: ["10.10.10.0/24"], deny: [] })).toEqual(["ip daddr { 10.10.10.0/24 } accept"]);
  expect(natRules({ mode: "denylist", allow: [], deny: ["10.10.10.0/24"] })).toEqual([]);
});

test("the table: isolation, anti-spoofing verdict map, redirects to the daemon, masquerade, one transaction", () => {
  const n = networkNames("x", "10.99.0.0/24");
  const a = attachment(n, 2);
  const text = tableScript(n, { dnsPort: 5300, httpPort: 8080, tlsPort: 8443, ownsForwarding: false }, [{ attachment: a, policy: open }]);
  const ours = `"${n.ifPrefix}-*"`;
  expect(text.startsWith(`table inet ${n.table}\ndelete table inet ${n.table}\ntable inet ${n.table} {`)).toBe(true);
  expect(text).toContain(`iifname ${ours} jump runtime_input`);
  expect(text).toContain("ip daddr 10.99.0.1 udp dport 5300 accept");
  expect(text).toContain("ip daddr 10.99.0.1 tcp dport { 8080, 8443 } accept");
  expect(text).toContain(`oifname ${ours} ct state established,related accept`);
  expect(text).toContain(`iifname ${ours} iifname . ip saddr vmap @egress_by_source`);
  expect(text).toContain(`iifname ${ours} drop`);
  expect(text).toContain("udp dport 53 redirect to :5300");
  expect(text).toContain("tcp dport 80 redirect to :8080");
  expect(text).toContain("tcp dport 443 redirect to :8443");
  expect(text).toContain(`ip saddr 10.99.0.0/24 oifname != ${ours} masquerade`);
  expect(text).toContain(`add element inet ${n.table} egress_by_source { "${a.ifname}" . 10.99.0.2 : jump out_2 }`);
  expect(text).not.toContain(`iifname != "rta*"`);
  expect(tableScript(n, { dnsPort: 1, httpPort: 2, tlsPort: 3, ownsForwarding: true }, [])).toContain(`iifname != "rta*" oifname != "rta*" drop`);
});

test("per-runtime scripts: add is idempotent, a policy change is one flush-and-fill, removal drops map entries first", () => {
  const n = networkNames("x", "10.99.0.0/24");
  const a = attachment(n, 7);
  const rt = { attachment: a, policy: { mode: "allowlist" as const, allow: ["10.10.10.0/24"], deny: [] } };
  const add = addRuntimeScript(n, rt);
  expect(add).toContain(`add chain inet ${n.table} out_7`);
  expect(add).toContain(`add rule inet ${n.table} nat_7 ip daddr { 10.10.10.0/24 } accept`);
  const pol = policyScript(n, rt).split("\n");
  expect(pol.slice(0, 2)).toEqual([`flush chain inet ${n.table} out_7`, `flush chain inet ${n.table} nat_7`]);
  const rm = removeRuntimeScript(n, a).split("\n");
  expect(rm[0]).toContain("delete element");
  expect(rm[1]).toContain("delete element");
  expect(rm.at(-2)).toBe(`delete chain inet ${n.table} nat_7`);
});
