/**
 * The daemon's registry of exec objects (DESIGN §11): per runtime, every running exec and the last
 * LIMITS.execHistoryPerRuntime finished ones, each with its id, argv, pids, times and how it ended. Buffered,
 * streamed, terminal and detached execs all register here; `runta top`, `runta kill` and `runta attach` read it.
 */
import { randomBytes } from "node:crypto";
import { errors, LIMITS, type ExecEndReason, type ExecInfo, type ExecKind, type ExecSignal } from "../../api/index.js";
import { namespacePid, signalName } from "../proc.js";
import { hostControl, type ExecControl } from "./handle.js";
import type { ProcessExit } from "../types.js";
import type { ExecCgroup } from "./cgroup.js";
import type { TerminalSession } from "./session.js";

/** A new exec id (also the name of its cgroup, execs/cgroup.ts). */
export function newExecId(): string {
  return randomBytes(6).toString("hex");
}

/** What is known of an exec when it registers. */
export interface ExecInit {
  kind: ExecKind;
  argv: string[];
  user?: string;
  tty: boolean;
}

/** One exec: its record, and what the daemon did to it (so the end can be told apart: timed out, killed, …). */
export class ExecEntry {
  readonly id: string;
  readonly startedAt: string;
  /** How the running command is signalled (by host pid, or through the runtime's agent), once it runs. */
  control: ExecControl | null = null;
  pid: number | null = null;
  endedAt: string | null = null;
  exitCode: number | null = null;
  exitSignal: string | null = null;
  endedBy: ExecEndReason | null = null;
  /** Why runc could not start the command (`foo: command not found`), the text every exec kind shows for it. */
  failure: string | null = null;
  /** A terminal session that outlives its client (what attach reattaches to). */
  session?: TerminalSession;
  /** The exec's own cgroup (execs/cgroup.ts): every process it started, whatever session or group it moved to. */
  cgroup?: ExecCgroup;
  /** Removes what the exec left on disk, once it falls out of the history (detached execs). */
  cleanup?: () => Promise<void>;
  /** Why runta is ending it, if it is: decides `ended_by` when the exit comes. */
  private ending: "timed_out" | "killed" | "client_gone" | null = null;
  /** The kill of the exec's cgroup under way (KILL, a timeout, a client gone), which its end waits for. */
  private killing: Promise<void> | null = null;

  constructor(
    readonly runtimeId: string,
    readonly init: ExecInit,
    opts: { id?: string; startedAt?: string; onEnd?: (e: ExecEntry) => void } = {},
  ) {
    this.id = opts.id ?? newExecId();
    this.startedAt = opts.startedAt ?? new Date().toISOString();
    this.onEnd = opts.onEnd;
  }
  private readonly onEnd?: (e: ExecEntry) => void;

  get running(): boolean {
    return this.endedAt === null;
  }

  /** The command runs: signalled through `control`, which knows its pid in the runtime. */
  started(control: ExecControl): void {
    this.control = control;
    this.pid = control.pid;
  }

  /** The command runs with this host pid (its process group and session id too: runc makes it a session leader). */
  startedOnHost(hostPid: number): void {
    this.started(hostControl(hostPid, namespacePid(hostPid)));
  }

  /** Its host pid, when it was started by runc exec. */
  get hostPid(): number | null {
    return this.control?.hostPid ?? null;
  }

  /** runta is about to end it for this reason (the first reason given wins). */
  markEnding(why: "timed_out" | "killed" | "client_gone"): void {
    this.ending ??= why;
  }

  /** Records the end. `code` is 128+n for death by signal n; null when the daemon could not learn it. */
  ended(exit: ProcessExit | null): void {
    if (!this.running) return;
    this.endedAt = new Date().toISOString();
    if (!exit) {
      this.endedBy = "unknown";
    } else {
      this.exitCode = exit.code;
      this.exitSignal = exit.signal ?? (exit.code > 128 && exit.code < 128 + 65 ? signalName(exit.code - 128) : null);
      if (exit.oomKilled) this.endedBy = "oom";
      else if (this.ending && (this.exitSignal !== null || this.ending === "timed_out")) this.endedBy = this.ending;
      else this.endedBy = this.exitSignal !== null ? "signalled" : "exited";
    }
    // Background jobs it left go on as the runtime's and its cgroup goes — unless it is being killed: the session's
    // SIGKILL ends the command before the cgroup's kill has read its members, and moving them out now would let a
    // `setsid` child escape that kill. Then the cgroup goes once the kill is done.
    const cg = this.cgroup;
    if (cg) void (this.killing ? this.killing.then(() => cg.remove()) : cg.release()).catch(() => undefined);
    this.onEnd?.(this);
  }

  /**
   * Sends `sig` to the command's process group (the command and the children it did not move elsewhere); KILL goes
   * to every process of the exec (its cgroup), as a timeout does.
   */
  signal(sig: ExecSignal): void {
    if (!this.running || this.control === null) {
      throw errors.precondition(`exec ${this.id} has ended (${this.endedBy ?? "exited"}); there is nothing to signal`, { exec_id: this.id });
    }
    if (sig === "KILL") return this.killAll("killed");
    if (sig === "TERM" || sig === "INT" || sig === "HUP" || sig === "QUIT") this.markEnding("killed");
    this.control.group(`SIG${sig}` as NodeJS.Signals);
  }

  /** SIGKILL to every process the exec started: its cgroup, and its session (background jobs in other groups). */
  killAll(why: "timed_out" | "killed" | "client_gone"): void {
    this.markEnding(why);
    if (!this.running) return;
    this.killing ??= this.cgroup ? this.cgroup.killAll().catch(() => undefined) : null;
    this.control?.session("SIGKILL");
  }

  info(): ExecInfo {
    const s = this.session;
    return {
      id: this.id,
      runtime_id: this.runtimeId,
      kind: this.init.kind,
      command: this.init.argv,
      user: this.init.user ?? null,
      pid: this.pid,
      tty: this.init.tty,
      status: this.running ? "running" : "ended",
      started_at: this.startedAt,
      ended_at: this.endedAt,
      exit_code: this.exitCode,
      signal: this.exitSignal,
      ended_by: this.endedBy,
      attached: s ? s.attached : null,
      grace_expires_at: s && this.running ? s.graceExpiresAt : null,
      ...(this.failure ? { failure: this.failure } : {}),
    };
  }
}

/** Options of {@link ExecRegistry}. */
export interface ExecRegistryOptions {
  /** Finished execs kept per runtime (default LIMITS.execHistoryPerRuntime). */
  historyPerRuntime?: number;
}

/** Every exec of every runtime, by runtime id then exec id, in start order. */
export class ExecRegistry {
  private readonly byRuntime = new Map<string, Map<string, ExecEntry>>();
  private readonly history: number;

  constructor(opts: ExecRegistryOptions = {}) {
    this.history = opts.historyPerRuntime ?? LIMITS.execHistoryPerRuntime;
  }

  /** Registers a new exec of a runtime. */
  add(runtimeId: string, init: ExecInit, opts: { id?: string; startedAt?: string } = {}): ExecEntry {
    const entry = new ExecEntry(runtimeId, init, { ...opts, onEnd: (e) => this.trim(e.runtimeId) });
    let execs = this.byRuntime.get(runtimeId);
    if (!execs) this.byRuntime.set(runtimeId, (execs = new Map()));
    execs.set(entry.id, entry);
    return entry;
  }

  /** Whether the runtime has an exec with this id. */
  has(runtimeId: string, id: string): boolean {
    return this.byRuntime.get(runtimeId)?.has(id) ?? false;
  }

  /**
   * Drops an exec that never ran (runc refused it): it is not part of the history, and its cgroup goes, with whatever
   * is in it (a spare the exec took but never used, which the agent is killing).
   */
  remove(entry: ExecEntry): void {
    this.byRuntime.get(entry.runtimeId)?.delete(entry.id);
    const cgroup = entry.cgroup;
    void cgroup?.killAll().then(() => cgroup.remove()).catch(() => undefined);
  }

  /** A runtime's execs, oldest first. */
  list(runtimeId: string): ExecEntry[] {
    return [...(this.byRuntime.get(runtimeId)?.values() ?? [])];
  }

  /** One exec, or `not_found` naming the runtime and the way to list its execs. */
  get(runtimeId: string, id: string, runtimeName = runtimeId): ExecEntry {
    const entry = this.byRuntime.get(runtimeId)?.get(id);
    if (!entry) throw errors.notFound(`no exec ${id} in runtime "${runtimeName}"; list them with: runta top ${runtimeName}`, { exec_id: id });
    return entry;
  }

  /** Forgets a runtime's execs (it was deleted). */
  forget(runtimeId: string): void {
    this.byRuntime.delete(runtimeId);
  }

  /** Drops the oldest finished execs past the history size. */
  private trim(runtimeId: string): void {
    const execs = this.byRuntime.get(runtimeId);
    if (!execs) return;
    let finished = 0;
    for (const e of execs.values()) if (!e.running) finished++;
    for (const e of execs.values()) {
      if (finished <= this.history) break;
      if (e.running) continue;
      execs.delete(e.id);
      finished--;
      void e.cleanup?.().catch(() => undefined);
    }
  }
}
