/**
 * The cgroup freezer, driven by the daemon itself: `runta pause`/`resume`, idle suspension, checkpoints and the exec
 * cgroups' "kill all" freeze and thaw here instead of starting `runc pause`/`runc resume`. Those are a process spawn
 * from the daemon (a fork of a large process, in its turn: spawn-turns.ts) and runc's own start-up around the same
 * two file writes, most of an API pause's time. This is what runc itself does (libcontainer/cgroups/fs/freezer.go on
 * v1, fs2/freezer.go on v2), and runc reads a container's paused state back from these same files, so `runc state`,
 * `runc exec` (refused while frozen), `runc resume` and `runc delete -f` agree with it.
 *
 * The cgroupfs files are the kernel's memory, never a disk: they are read and written synchronously (a few µs), and
 * the freeze is awaited by polling with the event loop free between polls, so the tasks being frozen get the CPU.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CGROUP_ROOT, RuntimeCgroup } from "./cgroups.js";
import { sleep } from "./proc.js";

/** Polls before giving up on a freeze (as runc: v1 can stay FREEZING while processes keep appearing). */
const FREEZE_TRIES = 1000;
/** Every this many v1 polls, thaw and wait a little (runc's remedy for a cgroup that keeps forking). */
const V1_THAW_EVERY = 50;
const V1_THAW_PAUSE_MS = 10;
/** Polls that only yield to the event loop before polls start sleeping 1 ms. */
const YIELD_POLLS = 20;

const yieldOnce = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Waits between two polls: a yield at first (most freezes take hold at once), then 1 ms sleeps. */
function pollPause(i: number): Promise<void> {
  return i < YIELD_POLLS ? yieldOnce() : sleep(1);
}

function read(path: string): string {
  return readFileSync(path, "utf8").trim();
}

/**
 * Freezes every process of the cgroup directory `dir` (and of its child cgroups) and resolves once all are frozen.
 * If the freeze does not take hold, the cgroup is thawed again (never left half frozen) and the error says so.
 */
export async function freezeDir(dir: string, v2: boolean): Promise<void> {
  try {
    if (v2) {
      writeFileSync(join(dir, "cgroup.freeze"), "1");
      for (let i = 0; i < FREEZE_TRIES; i++) {
        if (/^frozen 1$/m.test(read(join(dir, "cgroup.events")))) return;
        await pollPause(i);
      }
    } else {
      const state = join(dir, "freezer.state");
      for (let i = 0; i < FREEZE_TRIES; i++) {
        if (i % V1_THAW_EVERY === V1_THAW_EVERY - 1) {
          writeFileSync(state, "THAWED");
          await sleep(V1_THAW_PAUSE_MS);
        }
        writeFileSync(state, "FROZEN");
        const now = read(state);
        if (now === "FROZEN") return;
        if (now !== "FREEZING") throw new Error(`unexpected freezer state ${now} after writing FROZEN`);
        await pollPause(i % V1_THAW_EVERY);
      }
    }
  } catch (err) {
    await thawDir(dir, v2).catch(() => undefined);
    throw new Error(`cannot freeze ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  await thawDir(dir, v2).catch(() => undefined);
  throw new Error(`cannot freeze ${dir}: its processes did not all freeze after ${FREEZE_TRIES} tries`);
}

/**
 * Thaws the cgroup directory `dir`. On v2 it resolves once its processes run again; on v1 the write is the thaw (as
 * runc's), and a child cgroup of a frozen one reads FROZEN until its parent thaws, which is not this thaw's failure.
 */
export async function thawDir(dir: string, v2: boolean): Promise<void> {
  try {
    if (!v2) return writeFileSync(join(dir, "freezer.state"), "THAWED");
    writeFileSync(join(dir, "cgroup.freeze"), "0");
    for (let i = 0; i < FREEZE_TRIES; i++) {
      if (/^frozen 0$/m.test(read(join(dir, "cgroup.events")))) return;
      await pollPause(i);
    }
  } catch (err) {
    throw new Error(`cannot thaw ${dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  throw new Error(`cannot thaw ${dir}: it did not thaw after ${FREEZE_TRIES} tries`);
}

/** Freezes and thaws whole runtimes: the cgroup `<parent>/<id>` (the freezer's hierarchy on v1). */
export class RuntimeFreezer {
  constructor(
    private readonly cgroupParent: string,
    private readonly root = CGROUP_ROOT,
  ) {}

  /** Freezes every process of the runtime (what `runc pause` does). */
  freeze(id: string): Promise<void> {
    const cg = new RuntimeCgroup(this.cgroupParent, id, this.root);
    return freezeDir(cg.file("freezer", ""), cg.v2);
  }

  /** Thaws the runtime (what `runc resume` does). */
  thaw(id: string): Promise<void> {
    const cg = new RuntimeCgroup(this.cgroupParent, id, this.root);
    return thawDir(cg.file("freezer", ""), cg.v2);
  }
}
