/** IPv4 addresses as 32-bit unsigned numbers: parsing, formatting and CIDR membership (no dependency needed for this). */

/** The address as an unsigned 32-bit number; throws on anything that is not dotted-quad IPv4. */
export function ipToInt(ip: string): number {
  const parts = ip.split(".");
  if (parts.length !== 4) throw new Error(`not an IPv4 address: ${ip}`);
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) throw new Error(`not an IPv4 address: ${ip}`);
    n = n * 256 + Number(p);
  }
  return n;
}

/** Dotted-quad form of an unsigned 32-bit number. */
export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/** A parsed CIDR: network address (host bits cleared) and prefix length. */
export interface Cidr {
  base: number;
  bits: number;
}

/** Parses `a.b.c.d/n` (or a bare address as /32), clearing host bits. */
export function parseCidr(cidr: string): Cidr {
  const [ip, bitsText] = cidr.split("/");
  const bits = bitsText === undefined ? 32 : Number(bitsText);
  if (!Number.isInteger(bits) || bits < 0 || bits > 32) throw new Error(`not an IPv4 CIDR: ${cidr}`);
  return { base: (ipToInt(ip!) & mask(bits)) >>> 0, bits };
}

function mask(bits: number): number {
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

/** Whether `ip` lies inside `cidr`. A non-IPv4 `ip` (e.g. IPv6) is never inside. */
export function cidrContains(cidr: Cidr | string, ip: string): boolean {
  const c = typeof cidr === "string" ? parseCidr(cidr) : cidr;
  let n: number;
  try {
    n = ipToInt(ip.replace(/^::ffff:/, ""));
  } catch {
    return false;
  }
  return ((n & mask(c.bits)) >>> 0) === c.base;
}

/** Whether two CIDRs share any address. */
export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  const bits = Math.min(a.bits, b.bits);
  return ((a.base & mask(bits)) >>> 0) === ((b.base & mask(bits)) >>> 0);
}

/** `a.b.c.d/n` text of a parsed CIDR. */
export function formatCidr(c: Cidr): string {
  return `${intToIp(c.base)}/${c.bits}`;
}
