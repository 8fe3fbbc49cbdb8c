/**
 * The cgroup of one exec: a child of its runtime's cgroup named `exec-<execId>`, which runc puts the command in
 * before it runs (`runc exec --cgroup`, runc ≥ 1.1), so everything the command starts stays in it — a `setsid`, a
 * double fork or a daemonised server escape the command's process group and session, never its cgroup. A timeout,
 * `runta kill` and a daemon that restarted reach all of them through it. The one helper for both exec paths (runc
 * exec here; an agent inside the runtime calls {@link ExecCgroup.join} with its child's host pid before the child
 * execs), see /work/coord/exec-cgroup.md.
 *
 * Which hierarchy: on cgroup v1 (and hybrid) hosts only the freezer's, so memory, CPU and pids stay the runtime's
 * own (usage, limits and the OOM counter read as before) while the freezer makes "kill all" exact: freeze, SIGKILL
 * every member, thaw — nothing forks meanwhile. On a cgroup v2 host the unified hierarchy (the runtime's cgroup
 * enables no controllers for its children, so a child may hold processes next to the init) and `cgroup.kill`.
 */
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, rmdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { CGROUP_ROOT, isCgroupV2 } from "../cgroups.js";
import { freezeDir, thawDir } from "../freezer.js";
import { sleep } from "../proc.js";

const PREFIX = "exec-";
/** How often a kill is checked for having emptied the cgroup, and for how long at most. */
const KILL_POLL_MS = 5;
const KILL_WAIT_MS = 1000;

/** The directory of the runtime's cgroup in the hierarchy exec cgroups live in. */
function runtimeDir(parent: string, runtimeId: string, root: string): string {
  return isCgroupV2(root) ? join(root, parent, runtimeId) : join(root, "freezer", parent, runtimeId);
}

async function members(dir: string): Promise<number[]> {
  const text = await readFile(join(dir, "cgroup.procs"), "utf8").catch(() => "");
  return text.split("\n").filter(Boolean).map(Number);
}

/** One exec's cgroup. Creating the object touches nothing; {@link ExecCgroup.create} makes the directory. */
export class ExecCgroup {
  readonly dir: string;
  readonly v2: boolean;
  private readonly parentDir: string;

  constructor(
    parent: string,
    runtimeId: string,
    readonly execId: string,
    root = CGROUP_ROOT,
  ) {
    this.v2 = isCgroupV2(root);
    this.parentDir = runtimeDir(parent, runtimeId, root);
    this.dir = join(this.parentDir, PREFIX + execId);
  }

  /** Makes the exec's cgroup under its runtime's (which must exist: the runtime runs). */
  static async create(parent: string, runtimeId: string, execId: string, root = CGROUP_ROOT): Promise<ExecCgroup> {
    const cg = new ExecCgroup(parent, runtimeId, execId, root);
    await mkdir(cg.dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== "EEXIST") throw err;
    });
    return cg;
  }

  /** The exec ids that have a cgroup under the runtime's (what a daemon that restarted finds). */
  static async leftovers(parent: string, runtimeId: string, root = CGROUP_ROOT): Promise<string[]> {
    const entries = await readdir(runtimeDir(parent, runtimeId, root), { withFileTypes: true }).catch(() => []);
    return entries.filter((e) => e.isDirectory() && e.name.startsWith(PREFIX)).map((e) => e.name.slice(PREFIX.length));
  }

  /** `runc exec --cgroup`'s value: the freezer's sub-cgroup on v1, the unified one on v2. */
  get runcArg(): string {
    return this.v2 ? PREFIX + this.execId : `freezer:${PREFIX}${this.execId}`;
  }

  /** Moves a process (host pid) in; for exec paths other than runc's, before the process runs the command. */
  async join(pid: number): Promise<void> {
    await writeFile(join(this.dir, "cgroup.procs"), String(pid));
  }

  /** Host pids of every process in it now. */
  procs(): Promise<number[]> {
    return members(this.dir);
  }

  /** SIGKILLs every process in it, whatever session or group they moved to; resolves once none is left (or 1 s passed). */
  async killAll(): Promise<void> {
    if (!existsSync(this.dir)) return;
    if (this.v2) {
      await writeFile(join(this.dir, "cgroup.kill"), "1").catch(() => undefined);
    } else {
      await this.frozen(async (pids) => {
        for (const pid of pids) {
          try {
            process.kill(pid, "SIGKILL");
          } catch {
            // Gone already.
          }
        }
      });
    }
    for (let waited = 0; waited < KILL_WAIT_MS && (await this.procs()).length > 0; waited += KILL_POLL_MS) await sleep(KILL_POLL_MS);
  }

  /**
   * The exec ended: background jobs it left (`cmd &`) are the runtime's now, as before per-exec cgroups, so they move
   * to the runtime's own cgroup, and the exec's cgroup goes. A later restart then finds only the cgroups of execs
   * that were still running.
   */
  async release(): Promise<void> {
    // Most execs leave nothing behind: then the empty cgroup's rmdir is all (rmdir refuses a populated cgroup).
    if (await rmdir(this.dir).then(() => true, (err: NodeJS.ErrnoException) => err.code === "ENOENT")) return;
    const move = async (pids: number[]) => {
      for (const pid of pids) await writeFile(join(this.parentDir, "cgroup.procs"), String(pid)).catch(() => undefined);
    };
    if (this.v2) await move(await this.procs());
    else await this.frozen(move);
    await this.remove();
  }

  /** Removes the (empty) directory; one that still holds processes stays (rmdir refuses it). */
  async remove(): Promise<void> {
    await rmdir(this.dir).catch(() => undefined);
  }

  /**
   * Runs `fn` on the members while the cgroup is frozen (v1 freezer), so none can fork out from under it. A freeze
   * that does not take hold still lets `fn` act on who is there (what it does is the best left to do).
   */
  private async frozen(fn: (pids: number[]) => Promise<void>): Promise<void> {
    await freezeDir(this.dir, false).catch(() => undefined);
    try {
      await fn(await this.procs());
    } finally {
      await thawDir(this.dir, false).catch(() => undefined);
    }
  }
}
