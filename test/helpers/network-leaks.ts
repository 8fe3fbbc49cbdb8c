/**
 * The network a daemon (or engine) with a given data dir owns on the host — namespaces and links named by its prefix,
 * its nft table, its ip_forward marker — for the leak checks of test/helpers/daemon.ts and engine-env.ts.
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { FORWARDING_MARKERS_DIR, releaseForwarding } from "../../src/engine/network/forwarding.js";
import { networkNames } from "../../src/engine/network/plan.js";

const run = promisify(execFile);

async function leftovers(dataDir: string) {
  const names = networkNames(resolve(dataDir));
  const ours = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((n) => n.startsWith(`${names.ifPrefix}-`)) : []);
  const table = await run("nft", ["list", "table", "inet", names.table]).then(() => names.table, () => null);
  const marker = join(FORWARDING_MARKERS_DIR, names.table);
  return { names, netns: ours("/run/netns"), links: ours("/sys/class/net"), table, marker: existsSync(marker) ? marker : null };
}

/** What is left of the network of the daemon with this data dir, one line each. */
export async function networkLeaks(dataDir: string): Promise<string[]> {
  const l = await leftovers(dataDir);
  return [
    ...l.netns.map((n) => `network namespace ${n}`),
    ...l.links.map((n) => `link ${n}`),
    ...(l.table ? [`nft table inet ${l.table}`] : []),
    ...(l.marker ? [`ip_forward marker ${l.marker}`] : []),
  ];
}

/** Removes it (after a failed test), giving ip_forward back if this was the last runta network. */
export async function removeNetworkLeftovers(dataDir: string): Promise<void> {
  const l = await leftovers(dataDir);
  for (const n of l.links) await run("ip", ["link", "del", n]).catch(() => {});
  for (const n of l.netns) await run("ip", ["netns", "del", n]).catch(() => {});
  if (l.table) await run("nft", ["delete", "table", "inet", l.table]).catch(() => {});
  releaseForwarding(l.names.table);
}
