/**
 * How the daemon turns names into addresses for runtimes (the egress proxy dials by name; the resolver answers
 * runtimes' queries): an optional hosts file of the daemon first, then the host's own resolver (getaddrinfo, so the
 * host's /etc/hosts counts too). IPv4 only: runtimes have no IPv6 route.
 */
import { lookup } from "node:dns/promises";
import { readFileSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { cidrContains, type Cidr } from "./ipv4.js";

/** Names → IPv4 addresses from a hosts(5) file (comments and IPv6 lines skipped). */
export function parseHostsFile(text: string): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (const raw of text.split("\n")) {
    const [ip, ...names] = raw.replace(/#.*/, "").trim().split(/\s+/);
    if (!ip || !names.length || !/^\d+\.\d+\.\d+\.\d+$/.test(ip)) continue;
    for (const n of names) map.set(n.toLowerCase(), [...(map.get(n.toLowerCase()) ?? []), ip]);
  }
  return map;
}

/** The daemon's name lookup. */
export class Resolver {
  private readonly extra: Map<string, string[]>;

  /** `hostsFile`: a hosts(5) file whose names win over DNS (read once, at open). */
  constructor(hostsFile?: string) {
    this.extra = hostsFile ? parseHostsFile(readFileSync(hostsFile, "utf8")) : new Map();
  }

  /** Addresses of the daemon's hosts file for `host`, if it names it. */
  fixed(host: string): string[] | undefined {
    return this.extra.get(host.toLowerCase());
  }

  /** IPv4 addresses of `host` (an address resolves to itself); rejects when the name does not resolve. */
  async resolve(host: string): Promise<string[]> {
    if (/^\d+\.\d+\.\d+\.\d+$/.test(host)) return [host];
    const fixed = this.fixed(host);
    if (fixed) return fixed;
    const found = await lookup(host, { all: true, family: 4 });
    return found.map((a) => a.address);
  }
}

const NEVER = ["0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "255.255.255.255/32"];

/**
 * Why the proxy must not dial `ip` for a runtime whatever its policy says, or null: the host itself (loopback, its
 * own addresses, where the daemon's API and every host service listen), runtimes (the daemon's range), link-local and
 * multicast. Without this a runtime could ask the proxy for `Host: localhost` and reach the host's services.
 */
export function forbiddenDestination(ip: string, range: Cidr): string | null {
  if (cidrContains(range, ip)) return "the runtimes' own network";
  if (NEVER.some((c) => cidrContains(c, ip))) return "a loopback, link-local or multicast address";
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.address === ip) return "an address of the host itself";
  }
  return null;
}
