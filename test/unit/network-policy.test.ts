import { expect, test } from "vitest";
import { EgressPolicyRequestSchema, normalizePolicy, parseEgressEntry, policyFromWhitelist } from "../../src/api/egress.js";
import { buildResponse, hostNameserver, parseQuery } from "../../src/engine/network/dns.js";
import { decide, decideName, hostMatches } from "../../src/engine/network/policy.js";
import { forbiddenDestination, parseHostsFile } from "../../src/engine/network/resolve.js";
import { parseCidr } from "../../src/engine/network/ipv4.js";
import { httpForbidden, sniffHttpHost, sniffTlsSni } from "../../src/engine/network/sniff.js";
import tls from "node:tls";
import net from "node:net";

test("policy entries: hostnames, wildcards, CIDRs and bare addresses; anything else is refused", () => {
  expect(parseEgressEntry("API.Example.com")).toEqual({ kind: "host", host: "api.example.com" });
  expect(parseEgressEntry("*.example.com")).toEqual({ kind: "host", host: "*.example.com" });
  expect(parseEgressEntry("10.10.10.0/24")).toEqual({ kind: "cidr", cidr: "10.10.10.0/24" });
  expect(parseEgressEntry("10.1.2.3")).toEqual({ kind: "cidr", cidr: "10.1.2.3/32" });
  for (const bad of ["", "10.1.2.3/33", "300.1.1.1", "a..b", "exa mple.com", "*", "*.*.com", "::1", "fe80::/10", "http://x.com"]) {
    expect(parseEgressEntry(bad), bad).toBeNull();
  }
});

test("the policy request: entries must fit the mode; normalised to lowercase and /32", () => {
  expect(EgressPolicyRequestSchema.safeParse({ mode: "open", allow: ["a.com"] }).success).toBe(false);
  expect(EgressPolicyRequestSchema.safeParse({ mode: "allowlist", deny: ["a.com"] }).success).toBe(false);
  expect(EgressPolicyRequestSchema.safeParse({ mode: "allowlist", allow: ["not a host"] }).success).toBe(false);
  expect(EgressPolicyRequestSchema.safeParse({ mode: "sometimes" }).success).toBe(false);
  expect(normalizePolicy({ mode: "allowlist", allow: ["A.com", "a.com", "1.2.3.4"] })).toEqual({ mode: "allowlist", allow: ["a.com", "1.2.3.4/32"], deny: [] });
  expect(policyFromWhitelist([""])).toBeUndefined();
  expect(policyFromWhitelist(["10.0.0.0/8", ""])).toEqual({ mode: "allowlist", allow: ["10.0.0.0/8"] });
});

test("hostname matching: exact names, and wildcards for subdomains only", () => {
  expect(hostMatches("api.example.com", "API.example.com.")).toBe(true);
  expect(hostMatches("*.example.com", "a.b.example.com")).toBe(true);
  expect(hostMatches("*.example.com", "example.com")).toBe(false);
  expect(hostMatches("*.example.com", "badexample.com")).toBe(false);
});

test("decisions name the rule; an allowlist by name ignores where the runtime thinks the name is", () => {
  const allow = { mode: "allowlist" as const, allow: ["deb.debian.org", "10.10.10.0/24"], deny: [] };
  expect(decide(allow, "deb.debian.org", ["203.0.113.80"])).toEqual({ allowed: true, rule: "deb.debian.org" });
  // Same address, other name: refused (filtering by IP could not tell them apart).
  expect(decide(allow, "registry.npmjs.org", ["203.0.113.80"])).toEqual({ allowed: false, rule: "mode:allowlist" });
  expect(decide(allow, "db.internal", ["10.10.10.5"])).toEqual({ allowed: true, rule: "10.10.10.0/24" });
  expect(decide(allow, "db.internal", ["10.10.10.5", "10.9.9.9"]).allowed).toBe(false);
  expect(decide(allow, null, []).allowed).toBe(false);
  const deny = { mode: "denylist" as const, allow: [], deny: ["*.evil.test", "192.0.2.0/24"] };
  expect(decide(deny, "x.evil.test")).toEqual({ allowed: false, rule: "*.evil.test" });
  expect(decide(deny, "fine.test", ["192.0.2.7"])).toEqual({ allowed: false, rule: "192.0.2.0/24" });
  expect(decide(deny, "fine.test", ["198.51.100.1"])).toEqual({ allowed: true, rule: "mode:denylist" });
  expect(decide({ mode: "open", allow: [], deny: [] }, "anything")).toEqual({ allowed: true, rule: "mode:open" });
  // The resolver answers an allowlist's names only.
  expect(decideName(allow, "deb.debian.org").allowed).toBe(true);
  expect(decideName(allow, "exfiltrate.attacker.test").allowed).toBe(false);
});

test("the proxy never dials the host itself, loopback or the runtimes' range", () => {
  const range = parseCidr("10.99.0.0/24");
  expect(forbiddenDestination("127.0.0.1", range)).toMatch(/loopback/);
  expect(forbiddenDestination("10.99.0.5", range)).toMatch(/runtimes/);
  expect(forbiddenDestination("169.254.169.254", range)).toMatch(/link-local/);
  expect(forbiddenDestination("203.0.113.80", range)).toBeNull();
});

test("hosts files and resolv.conf are read the way the host reads them", () => {
  const hosts = parseHostsFile("# c\n10.250.1.2 allowed.test Denied.Test\n::1 v6only\n\n10.250.1.3 allowed.test\n");
  expect(hosts.get("allowed.test")).toEqual(["10.250.1.2", "10.250.1.3"]);
  expect(hosts.get("denied.test")).toEqual(["10.250.1.2"]);
  expect(hosts.has("v6only")).toBe(false);
  expect(hostNameserver("search x\nnameserver 10.255.255.53\nnameserver 1.1.1.1\n")).toBe("10.255.255.53");
});

test("HTTP Host sniffing: needs the whole head, strips the port, refuses non-HTTP", () => {
  expect(sniffHttpHost(Buffer.from("GET / HTTP/1.1\r\nHost: Example.COM:80\r\n"))).toEqual({ kind: "more" });
  expect(sniffHttpHost(Buffer.from("GET / HTTP/1.1\r\nUser-Agent: x\r\nHost: Example.COM:80\r\n\r\n"))).toEqual({ kind: "host", host: "example.com" });
  expect(sniffHttpHost(Buffer.from("GET / HTTP/1.0\r\n\r\n"))).toEqual({ kind: "none" });
  expect(sniffHttpHost(Buffer.from("SSH-2.0-OpenSSH\r\n\r\n"))).toEqual({ kind: "none" });
  expect(httpForbidden("no").toString()).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n[\s\S]*\r\n\r\nno\n$/);
});

test("TLS SNI sniffing reads node's own ClientHello, byte by byte", async () => {
  const hello = await new Promise<Buffer>((resolve) => {
    const server = net.createServer((s) => s.once("data", (d) => { resolve(d); s.destroy(); server.close(); }));
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port;
      tls.connect({ host: "127.0.0.1", port, servername: "api.example.com" }).on("error", () => {});
    });
  });
  expect(sniffTlsSni(hello)).toEqual({ kind: "host", host: "api.example.com" });
  expect(sniffTlsSni(hello.subarray(0, 40))).toEqual({ kind: "more" });
  expect(sniffTlsSni(Buffer.from("GET / HTTP/1.1\r\n"))).toEqual({ kind: "none" });
});

test("DNS: the question is read, refusals and fixed answers are well-formed", () => {
  // A query for "a.test" type A with RD set.
  const q = Buffer.from([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0x61, 4, 0x74, 0x65, 0x73, 0x74, 0, 0, 1, 0, 1]);
  const parsed = parseQuery(q)!;
  expect(parsed).toEqual({ id: 0x1234, name: "a.test", type: 1, end: q.length });
  const refused = buildResponse(q, parsed, 5);
  expect(refused.readUInt16BE(0)).toBe(0x1234);
  expect(refused.readUInt16BE(2) & 0x800f).toBe(0x8005);
  expect(refused.readUInt16BE(6)).toBe(0);
  const answer = buildResponse(q, parsed, 0, ["10.250.1.2"]);
  expect(answer.readUInt16BE(6)).toBe(1);
  expect([...answer.subarray(answer.length - 4)]).toEqual([10, 250, 1, 2]);
  expect(parseQuery(answer)).toBeNull(); // a response is not a query
});
