/**
 * Which runc state root and cgroup parent a daemon uses (issue 21, item 9). Two daemons sharing a runc root see each
 * other's containers and may delete cgroups they do not know, so a daemon on any data dir but the default gets names
 * derived from its data dir, and a runc root is claimed by the live daemon using it (a file beside it).
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { DEFAULTS, errors } from "../api/index.js";
import { procStart, sameProcessAlive } from "../engine/proc.js";

/** A data dir's runc root and cgroup parent. */
export interface StateDirs {
  runcRoot: string;
  cgroupParent: string;
}

/**
 * The runc root and cgroup parent of a data dir, chosen once and kept in `<dataDir>/state-dirs.json`: the defaults for
 * the default data dir and for a data dir that already has a database (its daemons used the defaults, and its
 * runtimes live there); for a new data dir, `/run/runta-<tag>/runc` and `runta-<tag>` (tag: a hash of its path).
 */
export async function stateDirsFor(dataDir: string): Promise<StateDirs> {
  const file = join(dataDir, "state-dirs.json");
  const saved = await readFile(file, "utf8").then((s) => JSON.parse(s) as StateDirs).catch(() => null);
  if (saved?.runcRoot && saved.cgroupParent) return saved;
  const abs = resolve(dataDir);
  const tag = createHash("sha256").update(abs).digest("hex").slice(0, 10);
  const chosen =
    abs === DEFAULTS.dataDir || existsSync(join(dataDir, "runta.db"))
      ? { runcRoot: DEFAULTS.runcRoot, cgroupParent: DEFAULTS.cgroupParent }
      : { runcRoot: `/run/runta-${tag}/runc`, cgroupParent: `runta-${tag}` };
  await writeFile(file, JSON.stringify(chosen) + "\n", { mode: 0o600 });
  return chosen;
}

interface Owner {
  pid: number;
  start_time: number | null;
  data_dir: string;
}

/**
 * Claims `runcRoot` for the daemon serving `dataDir`: refused (409) while another live daemon serving another data
 * dir holds it. The claim is `<runcRoot>.owner.json` (beside the root: runc reads every entry inside it). Resolves
 * with the release, which removes the claim if it is still ours.
 */
export async function claimRuncRoot(runcRoot: string, dataDir: string): Promise<() => Promise<void>> {
  const file = `${runcRoot.replace(/\/+$/, "")}.owner.json`;
  const me: Owner = { pid: process.pid, start_time: procStart(process.pid), data_dir: resolve(dataDir) };
  const current = await readFile(file, "utf8").then((s) => JSON.parse(s) as Owner).catch(() => null);
  if (current && current.pid !== me.pid && current.data_dir !== me.data_dir && sameProcessAlive(current.pid, current.start_time)) {
    throw errors.exists(
      `runc root ${runcRoot} belongs to the runta daemon (pid ${current.pid}) serving ${current.data_dir}; ` +
        `give this daemon its own with --runc-root and --cgroup-parent (or leave both unset: they follow --data-dir)`,
    );
  }
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  await writeFile(file, JSON.stringify(me) + "\n", { mode: 0o600 });
  return async () => {
    const now = await readFile(file, "utf8").then((s) => JSON.parse(s) as Owner).catch(() => null);
    if (now?.pid === me.pid) await rm(file, { force: true });
  };
}
