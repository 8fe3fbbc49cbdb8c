/**
 * IPv4 forwarding, shared by every runta daemon on the host. Routing runtimes needs `net.ipv4.ip_forward` on. When it
 * was off, runta turns it on and each daemon that relies on runta's "on" leaves a marker file; the last daemon to go
 * (its table removed) turns it back off, so nothing is left behind. While a daemon holds a marker its table drops
 * forwarding between non-runta interfaces, so turning forwarding on opens nothing else. When forwarding was already on
 * (another router, Docker), runta neither marks, restricts nor restores it.
 */
import { mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

const SYSCTL = "/proc/sys/net/ipv4/ip_forward";
/** Markers of the daemons relying on runta having turned forwarding on (one file per nftables table). */
export const FORWARDING_MARKERS_DIR = "/run/runta-net/forwarding";

function forwardingOn(): boolean {
  return readFileSync(SYSCTL, "utf8").trim() === "1";
}

/**
 * Runs `fn` holding a lock shared by every runta daemon on the host (a directory made atomically), so one daemon's
 * release cannot turn forwarding off between another's check and its marker. A lock older than 10 s is a crashed
 * holder's and is taken over.
 */
function locked<T>(dir: string, fn: () => T): T {
  const lock = `${dir}.lock`;
  mkdirSync(dirname(dir), { recursive: true, mode: 0o700 });
  for (let tries = 0; ; tries++) {
    try {
      mkdirSync(lock);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      try {
        if (Date.now() - statSync(lock).mtimeMs > 10_000 || tries > 2000) rmdirSync(lock);
      } catch {
        // Released in between: try again.
      }
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
    }
  }
  try {
    return fn();
  } finally {
    rmdirSync(lock);
  }
}

/** Makes sure forwarding is on; returns whether this daemon holds a marker (runta turned it on). */
export function acquireForwarding(table: string, dir = FORWARDING_MARKERS_DIR): boolean {
  return locked(dir, () => acquire(table, dir));
}

/** Drops this daemon's marker; the last one out turns forwarding off again. */
export function releaseForwarding(table: string, dir = FORWARDING_MARKERS_DIR): void {
  locked(dir, () => release(table, dir));
  try {
    rmdirSync(dirname(dir));
  } catch {
    // Not empty (another daemon's markers or lock) or already gone.
  }
}

function acquire(table: string, dir: string): boolean {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const others = readdirSync(dir).filter((f) => f !== table);
  const mine = readdirSync(dir).includes(table);
  if (forwardingOn() && !others.length && !mine) return false;
  writeFileSync(join(dir, table), `${process.pid}\n`);
  if (!forwardingOn()) writeFileSync(SYSCTL, "1\n");
  return true;
}

function release(table: string, dir: string): void {
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
  }
}
