/**
 * The exec agents of a daemon's runtimes (agent/runta-agent.c): which init a runtime boots with, where its agent
 * listens, and the choice per exec between the agent and `runc exec`.
 *
 * A runtime booted with the agent as its init has `agent.sock` in its directory on the host (bound by the agent's
 * launcher at `runc run`, held open by the agent): that file is the record of its init. A runtime booted before the
 * agent existed, with the agent switched off, or where the binary was not built, has none and is exec'd into by
 * `runc exec` as before. An agent that cannot be reached or does not answer puts its runtime on `runc exec` until
 * its next boot, and the daemon log says so once.
 *
 * Spares: after an exec through the agent, the runtime gets one spare (agent/runta-agent.c) — a child the agent forks
 * ahead and holds, which the daemon puts in the cgroup of the runtime's next exec (`exec-<id>`, its id chosen now)
 * while nobody waits. That exec takes the spare's id and cgroup and names it in its spawn request, so it costs no
 * fork, no cgroup move (on cgroup v1 a write that waits for an RCU grace period: p90 ~19 ms on a loaded host) and no
 * host pid lookup. An exec that finds no ready spare (a burst, the first exec) forks afresh and is held for its move,
 * as before. A spare is one process in the runtime (`runta-spare` in its `ps`); the agent kills it when the daemon's
 * connection for it ends (a daemon restart), and the restarted daemon removes its cgroup with the other leftovers.
 */
import { existsSync } from "node:fs";
import { rm } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Logger } from "../../log.js";
import type { RuntimeRecord } from "../../store/record.js";
import { RuntimeCgroup } from "../cgroups.js";
import { ExecCgroup } from "../execs/cgroup.js";
import type { ExecHandle } from "../execs/handle.js";
import { newExecId } from "../execs/registry.js";
import { namespacePid } from "../proc.js";
import type { OciProcess } from "../spec.js";
import { AgentUnavailableError, agentExec, agentSpare, agentWait, type AgentExec } from "./client.js";

/** Where `npm run build` (agent/build.sh) puts the static agent binary: dist/ of the package (from src/ or dist/). */
export const BUILT_AGENT_PATH = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..", "dist", "runta-agent");

/** Where the agent is put inside every runtime it is the init of (copied into its root at boot, as catatonit was). */
export const AGENT_PATH_IN_RUNTIME = "/.runta/runta-agent";

/** How long the agent may take to answer a spawn before the runtime is put on runc exec. Generous: a loaded host. */
const ANSWER_MS = 5000;

/** Longest unix socket path (sun_path is 108 bytes with its NUL). */
const SUN_PATH_MAX = 107;

/** The agent socket of a runtime's directory. */
export function agentSocketPath(runtimeDir: string): string {
  return join(runtimeDir, "agent.sock");
}

/** Options of {@link RuntimeAgents}. */
export interface AgentsOptions {
  /** The agent binary; null: every runtime boots with catatonit and is exec'd into by runc exec. */
  binary: string | null;
  dataDir: string;
  /** The runtimes' cgroup parent: where an agent's child is looked up by its host pid. */
  cgroupParent: string;
  logger: Logger;
}

/** A runtime's next exec, prepared: its id, its cgroup with the agent's held child in it. */
export interface Spare {
  readonly execId: string;
  readonly cgroup: ExecCgroup;
  /** Gives it up: the agent kills the held child if no exec took it. Idempotent. */
  close(): void;
}

export class RuntimeAgents {
  /** Runtimes (id and init start) whose agent failed: runc exec until the next boot. */
  private readonly failed = new Set<string>();
  /** Each runtime's ready spare, with the boot it belongs to. */
  private readonly spares = new Map<string, Spare & { boot: string }>();
  /** Runtimes whose spare is being prepared. */
  private readonly preparing = new Set<string>();

  constructor(private readonly opts: AgentsOptions) {}

  /** The agent binary new boots use, or null when the agent is off. */
  get binary(): string | null {
    return this.opts.binary;
  }

  private socketOf(id: string): string {
    return agentSocketPath(join(this.opts.dataDir, "runtimes", id));
  }

  /**
   * How a runtime boots: with the agent (its binary and the socket to bind) or, returning null, with catatonit — the
   * agent is off, or the socket path would not fit a unix socket address. A stale socket of an earlier boot is removed
   * either way, so the file always says which init runs.
   */
  async forBoot(id: string): Promise<{ binary: string; socket: string } | null> {
    const socket = this.socketOf(id);
    await rm(socket, { force: true });
    if (!this.opts.binary) return null;
    if (socket.length > SUN_PATH_MAX) {
      this.opts.logger.warn("runtime boots with catatonit: its agent socket path is too long for a unix socket", { id, socket });
      return null;
    }
    return { binary: this.opts.binary, socket };
  }

  /** The agent socket of a runtime whose agent is usable, or null (runc exec). */
  socketFor(rec: RuntimeRecord): string | null {
    if (this.failed.has(failKey(rec))) return null;
    const socket = this.socketOf(rec.id);
    return existsSync(socket) ? socket : null;
  }

  /**
   * Starts `proc` through the runtime's agent, or through `fallback` (runc exec) when it has none, or its agent
   * cannot be reached or does not answer (then logged, and the runtime stays on runc exec until its next boot).
   * `join` gets the child's host pid while the agent holds it after the fork, before it runs anything (the exec's
   * cgroup).
   */
  async exec(
    rec: RuntimeRecord,
    proc: OciProcess,
    fallback: () => Promise<ExecHandle>,
    opts: { detached?: boolean; execId?: string; join?: (hostPid: number) => Promise<void>; spare?: Spare } = {},
  ): Promise<ExecHandle> {
    const socket = this.socketFor(rec);
    if (!socket) {
      opts.spare?.close();
      return fallback();
    }
    const join = opts.join;
    const forked = join && (async (pid: number) => join(await this.hostPidOf(rec, pid)));
    let handle: AgentExec | undefined;
    try {
      handle = await agentExec(socket, proc, { detached: opts.detached, execId: opts.execId, forked, spare: opts.spare?.execId });
      // A child let go may already run: then the exec is this one, however late the agent's answer comes.
      if ((await handle.answered(ANSWER_MS)) || handle.committed) {
        void handle.exited.finally(() => this.prepareSpare(rec));
        return handle;
      }
      handle.abandon();
      this.fail(rec, `it did not answer within ${ANSWER_MS / 1000} s`);
    } catch (err) {
      if (!(err instanceof AgentUnavailableError)) throw err;
      this.fail(rec, err.message);
    } finally {
      // The agent has taken the spare (or killed it, if it could not use it): its connection is done.
      opts.spare?.close();
    }
    return fallback();
  }

  /**
   * The runtime's ready spare, taken (the caller's exec uses its id and cgroup and passes it to {@link exec}); none
   * when the runtime has no usable agent or no spare is ready yet.
   */
  takeSpare(rec: RuntimeRecord): Spare | undefined {
    const spare = this.spares.get(rec.id);
    if (!spare) return undefined;
    this.spares.delete(rec.id);
    if (spare.boot === failKey(rec) && this.socketFor(rec)) return spare;
    // Made for an earlier boot, or the agent is unusable now: given up, and its cgroup with it.
    spare.close();
    void spare.cgroup.killAll().then(() => spare.cgroup.remove()).catch(() => undefined);
    return undefined;
  }

  /** Prepares the runtime's next spare in the background, unless it has one (or one is on its way). */
  private prepareSpare(rec: RuntimeRecord): void {
    const socket = this.socketFor(rec);
    if (!socket || this.spares.has(rec.id) || this.preparing.has(rec.id)) return;
    this.preparing.add(rec.id);
    const execId = newExecId();
    const made = (async () => {
      const cgroup = await ExecCgroup.create(this.opts.cgroupParent, rec.id, execId);
      const conn = await agentSpare(socket, execId, async (pid) => cgroup.join(await this.hostPidOf(rec, pid))).catch(() => null);
      if (!conn || !(await conn.ready)) {
        conn?.close();
        await cgroup.killAll();
        await cgroup.remove();
        return;
      }
      const spare = { execId, cgroup, boot: failKey(rec), close: () => conn.close() };
      this.spares.set(rec.id, spare);
      // The agent went (the runtime stopped) or dropped it: forget it; an exec that took it already has its cgroup.
      void conn.closed.then(() => {
        if (this.spares.get(rec.id) === spare) this.spares.delete(rec.id);
      });
    })();
    void made.catch(() => undefined).finally(() => this.preparing.delete(rec.id));
  }

  /** Asks the runtime's agent after a detached exec of a previous daemon; null when the runtime has no agent. */
  async wait(rec: RuntimeRecord, execId: string): Promise<AgentExec | null> {
    const socket = this.socketFor(rec);
    if (!socket) return null;
    return agentWait(socket, execId).catch(() => null);
  }

  /**
   * The host pid of the runtime's process `pid` (in its pid namespace): among the runtime's processes, newest first,
   * the one whose last NSpid is `pid`. The agent's child waits meanwhile, so it is there.
   */
  private async hostPidOf(rec: RuntimeRecord, pid: number): Promise<number> {
    const procs = await new RuntimeCgroup(this.opts.cgroupParent, rec.id).procs();
    for (const hostPid of procs.sort((a, b) => b - a)) if (hostPid !== rec.initPid && namespacePid(hostPid) === pid) return hostPid;
    throw new Error(`process ${pid} of runtime "${rec.name}" is not among its cgroup's processes`);
  }

  private fail(rec: RuntimeRecord, why: string): void {
    if (this.failed.has(failKey(rec))) return;
    this.failed.add(failKey(rec));
    this.opts.logger.warn(`exec agent of runtime "${rec.name}" is unusable (${why}); its execs fall back to runc exec until it boots again`, { id: rec.id });
  }
}

/** A runtime's boot: a new init start time is a new agent. */
function failKey(rec: RuntimeRecord): string {
  return `${rec.id}:${rec.initStartTime ?? rec.initPid ?? ""}`;
}
