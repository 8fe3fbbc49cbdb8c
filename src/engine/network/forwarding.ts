/**
 * IPv4 forwarding, shared by every runta daemon on the host. Routing runtimes needs `net.ipv4.ip_forward` on. When it
 * was off, runta turns it on and each daemon that relies on runta's "on" leaves a marker file; the last daemon to go
 * (its table removed) turns it back off, so nothing is left behind. While a daemon holds a marker its table drops
 * forwarding between non-runta interfaces, so turning forwarding on opens nothing else. When forwarding was already on
 * (another router, Docker), runta neither marks, restricts nor restores it.
 */
import { mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

const SYSCTL = "/proc/sys/net/ipv4/ip_forward";
/** Markers of the daemons relying on runta having turned forwarding on (one file per nftables table). */
export const FORWARDING_MARKERS_DIR = "/run/runta-net/forwarding";

function forwardingOn(): boolean {
  return readFileSync(SYSCTL, "utf8").trim() === "1";
}

/** Makes sure forwarding is on; returns whether this daemon holds a marker (runta turned it on). */
export function acquireForwarding(table: string, dir = FORWARDING_MARKERS_DIR): boolean {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const others = readdirSync(dir).filter((f) => f !== table);
  const mine = readdirSync(dir).includes(table);
  if (forwardingOn() && !others.length && !mine) return false;
  writeFileSync(join(dir, table), `${process.pid}\n`);
  if (!forwardingOn()) writeFileSync(SYSCTL, "1\n");
  return true;
}

/** Drops this daemon's marker; the last one out turns forwarding off again. */
export function releaseForwarding(table: string, dir = FORWARDING_MARKERS_DIR): void {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return;
  }
  if (!entries.includes(table)) return;
  rmSync(join(dir, table), { force: true });
  if (entries.length === 1) {
    writeFileSync(SYSCTL, "0\n");
    rmSync(dir, { recursive: true, force: true });
    try {
      rmdirSync(dirname(dir));
    } catch {
      // Not empty (something else of runta's lives there) or already gone.
    }
  }
}
