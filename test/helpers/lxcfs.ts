/**
 * The LXCFS instances of a test's data dir (the engine's views/lxcfs.ts starts one per data dir), for the leak
 * checks of engine-env.ts and daemon.ts. No vitest import: daemon.ts also runs under vite-node (the Python tests).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** Pids of LXCFS instances mounted under `dataDir` (the engine's views/lxcfs.ts starts one per data dir). */
export function lxcfsPids(dataDir: string): number[] {
  const pids: number[] = [];
  for (const pid of readdirSync("/proc").filter((n) => /^\d+$/.test(n))) {
    let argv: string[];
    try {
      argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    } catch {
      continue;
    }
    if (argv[0]?.endsWith("lxcfs") && argv.includes(join(dataDir, "lxcfs"))) pids.push(Number(pid));
  }
  return pids;
}

