/**
 * Exec into a running runtime: buffered (`POST …/exec`), streamed (the framed HTTP stream of plain `runta exec`, the
 * websocket of `exec -i/-t`) and detached (`exec -d`). The process spec is built once by spec.ts `buildExecProcess`,
 * started by the runtime's exec agent when it has one (agent/agents.ts) or by `Runc.exec`, and a failure to start
 * is classified once by `classifyExecFailure`. This adds what
 * belongs to a runtime: the exec objects of its registry (execs/), `-u` resolved in its /etc, the admission limits
 * of buffered execs, the output cap and timeout, the OOM-kill count of its cgroup; the idle keeper (idle/) counts the
 * running ones as activity.
 */
import { constants as osConstants } from "node:os";
import { LIMITS, RuntaError, errors, type ExecInfo, type ExecSignal } from "../api/index.js";
import type { RuntimeRecord } from "../store/record.js";
import type { RuntimeStore } from "../store/store.js";
import type { RuntimeAgents, Spare } from "./agent/agents.js";
import { runBuffered } from "./buffered-exec.js";
import { CapturedOutput, type CapturedExec } from "./exec-output.js";
import { RuntimeCgroup } from "./cgroups.js";
import { ExecCgroup } from "./execs/cgroup.js";
import { adoptDetached, readStatus, removeDetached, removeStrayExecFiles, saveDetached, type DetachedRecord } from "./execs/detached.js";
import { ExecRegistry, type ExecEntry } from "./execs/registry.js";
import { TerminalSession } from "./execs/session.js";
import { execTimeoutSecs } from "./execs/timeout.js";
import { tracked } from "./execs/tracked.js";
import { readRootfsEtc, resolveUser, type ResolvedUser } from "./execs/user.js";
import { processEnding, sameProcessAlive, signalName } from "./proc.js";
import { preconditionFor } from "./refusals.js";
import { runtimePaths } from "./rootfs.js";
import { execveFailure } from "./runc-failures.js";
import type { Runc } from "./runc.js";
import { buildExecProcess, type OciProcess } from "./spec.js";
import type { ExecHandle } from "./execs/handle.js";
import { startStreamExec } from "./stream-exec.js";
import type { DetachedSpec, ExecSpec, StreamProcess, StreamSpec } from "./types.js";
import { Bounded } from "./spawn-turns.js";

/** Streamed execs being started at once (from `runc exec` until the command runs); the rest wait their turn. */
const STREAM_STARTS_AT_ONCE = 4;

/** What exec needs of the engine. */
export interface ExecDeps {
  runc: Runc;
  /** The runtimes' exec agents: an exec goes through its runtime's agent when it has a usable one. */
  agents: RuntimeAgents;
  store: RuntimeStore;
  dataDir: string;
  cgroupParent: string;
  /** Buffered execs allowed at once, in all and per runtime. */
  maxBuffered: number;
  maxBufferedPerRuntime: number;
  /** Output all running buffered execs may hold at once (each reserves 2 × its cap). */
  outputBudgetBytes: number;
  /** The daemon's secrets' names, read at each exec (each is a stub variable inside; secrets/). */
  secretNames: () => readonly string[];
}

const SIGKILL_EXIT = 128 + osConstants.signals.SIGKILL;
/** How long runc may take to start a detached command before the exec is given up. */
const DETACHED_START_TIMEOUT_MS = 30_000;

/** The per-stream output cap of a buffered exec. */
function outputCap(spec: ExecSpec): number {
  return Math.min(spec.maxOutputBytes ?? LIMITS.execMaxOutputBytesDefault, LIMITS.execMaxOutputBytesHardMax);
}

/** Buffered, streamed and detached exec into running runtimes, and their exec objects. */
export class Execs {
  /** Buffered execs running now: in all, and per runtime id. */
  private bufferedTotal = 0;
  /** Output bytes reserved by the buffered execs running now. */
  private outputReserved = 0;
  private readonly streamStarts = new Bounded(STREAM_STARTS_AT_ONCE);
  private readonly bufferedPerRuntime = new Map<string, number>();
  /** Every exec of every runtime (running, and the last finished ones). */
  private readonly registry = new ExecRegistry();
  /** Runtimes whose detached execs from a previous daemon have been adopted. */
  private readonly adopted = new Set<string>();

  constructor(private readonly deps: ExecDeps) {}

  /** The OCI process of an exec in `rec`: what the runtime adds (its env, root, the secrets' stubs) to the exec's own. */
  private processFor(rec: RuntimeRecord, spec: Omit<Parameters<typeof buildExecProcess>[0], "imageEnv" | "rootfs" | "secretNames">): OciProcess {
    return buildExecProcess({ ...spec, imageEnv: rec.env, rootfs: runtimePaths(this.deps.dataDir, rec.id).rootfs, secretNames: this.deps.secretNames() });
  }

  /**
   * Runs one command to its end with its output capped; refused with resource_exhausted past the admission limits.
   * The output's reservation stays taken until the caller's `release()` (once the answer is sent: the output is held
   * until then), or at once when the exec fails.
   */
  async buffered(rec: RuntimeRecord, spec: ExecSpec): Promise<CapturedExec> {
    const release = this.admit(rec, 2 * outputCap(spec));
    try {
      return { ...(await this.runBuffered(rec, spec)), release };
    } catch (err) {
      release();
      throw err;
    }
  }

  /**
   * Starts one streamed command, optionally under a pty; resolves once it runs. A terminal session with a grace
   * period outlives its client for that long (execs/session.ts); other streams are hung up when their client goes.
   */
  async stream(rec: RuntimeRecord, spec: StreamSpec): Promise<StreamProcess> {
    const paths = runtimePaths(this.deps.dataDir, rec.id);
    const cg = new RuntimeCgroup(this.deps.cgroupParent, rec.id);
    const user = await this.user(rec, spec.user);
    const process = this.processFor(rec, { ...spec, user });
    const spare = this.deps.agents.takeSpare(rec);
    const entry = this.registry.add(rec.id, { kind: spec.tty ? "terminal" : "stream", argv: spec.argv, user: spec.user, tty: spec.tty }, { id: spare?.execId });
    let proc;
    try {
      const cgroup = await this.cgroupFor(rec, entry, spare);
      proc = await this.streamStarts.run(() =>
        startStreamExec({
          cgroup,
          runc: this.deps.runc,
          containerId: rec.id,
          runtime: `runtime "${rec.name}"`,
          process,
          workDir: paths.execDir,
          oomCount: () => cg.oomKills(),
          launch: () => this.launch(rec, process, cgroup, { spare }),
        }),
      );
    } catch (err) {
      spare?.close();
      this.registry.remove(entry);
      throw this.raced(rec, err);
    }
    const tracker = tracked(proc, entry, { timeoutSecs: execTimeoutSecs(rec, spec.timeoutSecs) });
    const graceSecs = spec.graceSecs ?? LIMITS.execGraceSecsDefault;
    if (!spec.tty || graceSecs <= 0) return tracker;
    entry.session = new TerminalSession(tracker, entry, graceSecs * 1000, LIMITS.execReplayBytes);
    return entry.session.connect();
  }

  /**
   * Starts a command detached from any client: no pipes (output discarded), no timeout unless asked, and free of the
   * daemon (it survives a restart, see execs/detached.ts). Resolves with its exec object once it runs; a command that
   * is not found or not executable resolves ended with 127/126.
   */
  async detached(rec: RuntimeRecord, spec: DetachedSpec): Promise<ExecInfo> {
    await this.adopt(rec);
    const paths = runtimePaths(this.deps.dataDir, rec.id);
    const cg = new RuntimeCgroup(this.deps.cgroupParent, rec.id);
    const user = await this.user(rec, spec.user);
    const proc = this.processFor(rec, { ...spec, tty: false, user });
    const oomBefore = await cg.oomKills();
    const spare = this.deps.agents.takeSpare(rec);
    const entry = this.registry.add(rec.id, { kind: "detached", argv: spec.argv, user: spec.user, tty: false }, { id: spare?.execId });
    let runc: ExecHandle;
    try {
      const cgroup = await this.cgroupFor(rec, entry, spare);
      runc = await this.launch(rec, proc, cgroup, { detached: true, execId: entry.id, spare });
    } catch (err) {
      spare?.close();
      this.registry.remove(entry);
      throw this.raced(rec, err);
    }
    const control = await runc.started(DETACHED_START_TIMEOUT_MS);
    if (control === null) {
      runc.kill();
      await runc.removeFiles();
      this.registry.remove(entry);
      throw errors.unavailable(`the command did not start within ${DETACHED_START_TIMEOUT_MS / 1000} s; check the runtime with 'runta inspect'`);
    }
    if (control === undefined) {
      const failure = await runc.failure(`runtime "${rec.name}"`);
      await runc.removeFiles();
      if (failure instanceof RuntaError) {
        this.registry.remove(entry);
        throw this.raced(rec, failure);
      }
      entry.failure = failure.message;
      entry.ended({ code: failure.exitCode, signal: null, oomKilled: false });
      return entry.info();
    }
    entry.started(control);
    const timeoutSecs = execTimeoutSecs(rec, spec.timeoutSecs);
    // The deadline is saved with the exec, so a daemon that restarted meanwhile still kills it on time.
    const deadline = timeoutSecs ? Date.now() + timeoutSecs * 1000 : null;
    await saveDetached(paths.execDir, entry, runc.statusFile ?? null, deadline);
    entry.cleanup = () => Promise.all([runc.removeFiles(), removeDetached(paths.execDir, entry.id)]).then(() => undefined);
    const timer = deadline ? setTimeout(() => entry.killAll("timed_out"), deadline - Date.now()) : undefined;
    timer?.unref();
    void runc.exited.then(
      async (exit) => {
        clearTimeout(timer);
        const oomKilled = exit.code === SIGKILL_EXIT && (await cg.oomKills().catch(() => oomBefore)) > oomBefore;
        entry.ended({ code: exit.code, signal: null, oomKilled });
      },
      async () => {
        clearTimeout(timer);
        const code = runc.statusFile ? await readStatus(runc.statusFile) : null;
        entry.ended(code === null ? null : { code, signal: null, oomKilled: false });
      },
    );
    return entry.info();
  }

  /** The runtime's execs, oldest first. */
  async list(rec: RuntimeRecord): Promise<ExecInfo[]> {
    await this.adopt(rec);
    return this.registry.list(rec.id).map((e) => e.info());
  }

  /** One exec, or not_found. */
  async get(rec: RuntimeRecord, id: string): Promise<ExecInfo> {
    return (await this.entry(rec, id)).info();
  }

  /** Signals an exec's process group; failed_precondition once it ended. */
  async signal(rec: RuntimeRecord, id: string, sig: ExecSignal): Promise<ExecInfo> {
    const entry = await this.entry(rec, id);
    entry.signal(sig);
    return entry.info();
  }

  /** Takes over a terminal session whose client went away. */
  async attach(rec: RuntimeRecord, id: string): Promise<{ proc: StreamProcess; replay: Buffer }> {
    const entry = await this.entry(rec, id);
    if (!entry.session) {
      throw errors.precondition(`exec ${id} is not a terminal session (it is ${entry.init.kind}); only exec -it sessions can be reattached`, { exec_id: id });
    }
    const { view, replay } = entry.session.attach();
    return { proc: view, replay };
  }

  /**
   * At start-up, for a runtime that still runs: lists again the detached execs a previous daemon started (their
   * timeouts re-armed) and kills every other exec it was serving — buffered, streamed and terminal execs belong to a
   * client connection that died with that daemon, and their timeouts with it. Returns how many were killed.
   */
  async recover(rec: RuntimeRecord): Promise<number> {
    const kept = await this.adopt(rec);
    const { cgroupParent } = this.deps;
    let killed = 0;
    for (const id of await ExecCgroup.leftovers(cgroupParent, rec.id)) {
      if (this.registry.has(rec.id, id)) continue;
      const cg = new ExecCgroup(cgroupParent, rec.id, id);
      if ((await cg.procs()).length > 0) killed++;
      await cg.killAll();
      await cg.remove();
    }
    await removeStrayExecFiles(runtimePaths(this.deps.dataDir, rec.id).execDir, kept);
    return killed;
  }

  /** Forgets a deleted runtime's execs. */
  forget(runtimeId: string): void {
    this.registry.forget(runtimeId);
    this.adopted.delete(runtimeId);
  }

  private async entry(rec: RuntimeRecord, id: string): Promise<ExecEntry> {
    await this.adopt(rec);
    return this.registry.get(rec.id, id, rec.name);
  }

  /** Running execs (all kinds) and terminal sessions with a client attached: what the idle keeper counts. */
  activity(runtimeId: string): { execs: number; terminals: number } {
    let execs = 0;
    let terminals = 0;
    for (const e of this.registry.list(runtimeId)) {
      if (!e.running) continue;
      execs++;
      // A terminal session in its grace period (client gone) still runs, so it counts as an exec, not a terminal.
      if (e.init.tty && (e.session ? e.session.attached : true)) terminals++;
    }
    return { execs, terminals };
  }

  /** Once per runtime and daemon: lists again the detached execs a previous daemon started; returns their records. */
  async adopt(rec: RuntimeRecord): Promise<DetachedRecord[]> {
    if (this.adopted.has(rec.id)) return [];
    this.adopted.add(rec.id);
    const cgroup = (execId: string) => new ExecCgroup(this.deps.cgroupParent, rec.id, execId);
    return adoptDetached(runtimePaths(this.deps.dataDir, rec.id).execDir, rec.id, this.registry, cgroup, (id) => this.deps.agents.wait(rec, id));
  }

  /**
   * Starts a process in its exec cgroup: through the runtime's agent (by the spare already in the cgroup, or a child
   * it holds until the daemon has put it there), or by `runc exec --cgroup` when the runtime has no usable agent
   * (agent/agents.ts).
   */
  private launch(rec: RuntimeRecord, proc: OciProcess, cgroup: ExecCgroup, opts: { detached?: boolean; execId?: string; spare?: Spare } = {}): Promise<ExecHandle> {
    const execDir = runtimePaths(this.deps.dataDir, rec.id).execDir;
    const viaRunc = () => this.deps.runc.exec(rec.id, proc, execDir, { detached: opts.detached, cgroup: cgroup.runcArg });
    return this.deps.agents.exec(rec, proc, viaRunc, { ...opts, join: (hostPid) => cgroup.join(hostPid) });
  }

  /**
   * What an exec that could not start answers when its runtime stopped meanwhile (a stop, pause or delete racing it:
   * its cgroup gone, its agent ended, runc refusing): 409 with the state, 404 once removed, 409 asking for a retry
   * when it has booted again since. `err` as it is while the runtime still runs the boot the exec was admitted on.
   */
  private raced(rec: RuntimeRecord, err: unknown): unknown {
    const now = this.deps.store.get(rec.id);
    if (!now) return errors.notFound(`runtime "${rec.name}" was removed while the exec was starting`);
    if (now.status !== "running") return preconditionFor(now, "exec");
    if (now.initPid !== rec.initPid || now.initStartTime !== rec.initStartTime) {
      return errors.precondition(`runtime "${rec.name}" restarted while the exec was starting; run the command again`, { status: now.status });
    }
    // A stop in flight: its record still says running until the stop ends, but its init is gone or exiting.
    if (!sameProcessAlive(now.initPid, now.initStartTime) || processEnding(now.initPid)) {
      return errors.precondition(`runtime "${rec.name}" stopped while the exec was starting; check it with 'runta inspect ${rec.name}'`);
    }
    return err;
  }

  /**
   * Gives a new exec its own cgroup under the runtime's (execs/cgroup.ts), which runc or the agent puts the command
   * in: the spare's, made ahead with the spare in it, or a new one.
   */
  private async cgroupFor(rec: RuntimeRecord, entry: ExecEntry, spare?: Spare): Promise<ExecCgroup> {
    entry.cgroup = spare?.cgroup ?? (await ExecCgroup.create(this.deps.cgroupParent, rec.id, entry.id));
    return entry.cgroup;
  }

  /** `-u USER[:GROUP]` resolved in the runtime's own /etc/passwd and /etc/group; undefined for the default (root). */
  private async user(rec: RuntimeRecord, spec: string | undefined): Promise<ResolvedUser | undefined> {
    if (spec === undefined) return undefined;
    const rootfs = runtimePaths(this.deps.dataDir, rec.id).rootfs;
    const [passwd, group] = await Promise.all([readRootfsEtc(rootfs, "passwd"), readRootfsEtc(rootfs, "group")]);
    return resolveUser(spec, passwd, group, rec.name);
  }

  /**
   * Counts a buffered exec in, or refuses it with resource_exhausted (429, retry after 1 s) when the daemon or the
   * runtime already runs as many as allowed, or when its output reservation (`outputBytes`: twice its cap) does not
   * fit in what the running ones left of the budget. Returns the release, to call once it ended.
   */
  private admit(rec: RuntimeRecord, outputBytes: number): () => void {
    const { maxBuffered: total, maxBufferedPerRuntime: perRuntime, outputBudgetBytes: budget } = this.deps;
    if (this.bufferedTotal >= total) {
      throw errors.exhausted(`too many execs are running on this daemon (at most ${total} at once); retry when some have finished`, { limit: total });
    }
    const mine = this.bufferedPerRuntime.get(rec.id) ?? 0;
    if (mine >= perRuntime) {
      throw errors.exhausted(`too many execs are running in runtime "${rec.name}" (at most ${perRuntime} at once); retry when some have finished`, {
        limit: perRuntime,
        runtime: rec.name,
      });
    }
    if (this.outputReserved + outputBytes > budget) {
      const mib = (n: number) => Math.round(n / 1048576);
      throw errors.exhausted(
        `the running execs hold ${mib(this.outputReserved)} of the daemon's ${mib(budget)} MiB of exec output; retry shortly, or ask for less with max_output_bytes`,
        { output_budget_bytes: budget, reserved_bytes: this.outputReserved, requested_bytes: outputBytes, retry_after_secs: 1 },
      );
    }
    this.bufferedTotal++;
    this.outputReserved += outputBytes;
    this.bufferedPerRuntime.set(rec.id, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.bufferedTotal--;
      this.outputReserved -= outputBytes;
      const left = (this.bufferedPerRuntime.get(rec.id) ?? 1) - 1;
      if (left > 0) this.bufferedPerRuntime.set(rec.id, left);
      else this.bufferedPerRuntime.delete(rec.id);
    };
  }

  /** The buffered exec proper, once counted in. */
  private async runBuffered(rec: RuntimeRecord, spec: ExecSpec): Promise<Omit<CapturedExec, "release">> {
    const timeoutMs = (execTimeoutSecs(rec, spec.timeoutSecs) ?? LIMITS.execTimeoutSecsDefault) * 1000;
    const cap = outputCap(spec);
    const user = await this.user(rec, spec.user);
    const proc = this.processFor(rec, { argv: spec.argv, cwd: spec.cwd, env: spec.env, tty: false, user });
    const cg = new RuntimeCgroup(this.deps.cgroupParent, rec.id);
    const oomBefore = await cg.oomKills();
    const startedAt = Date.now();
    const spare = this.deps.agents.takeSpare(rec);
    const entry = this.registry.add(rec.id, { kind: "buffered", argv: spec.argv, user: spec.user, tty: false }, { id: spare?.execId });
    const encoding = spec.outputEncoding ?? "utf8";
    let runc;
    let cgroup: ExecCgroup;
    try {
      cgroup = await this.cgroupFor(rec, entry, spare);
      runc = await this.launch(rec, proc, cgroup, { spare });
    } catch (err) {
      spare?.close();
      this.registry.remove(entry);
      throw this.raced(rec, err);
    }
    // The pid appears a few ms after runc starts; `top` shows the exec meanwhile, without one.
    void runc.started(timeoutMs).then((control) => control && entry.started(control));
    spec.signal?.addEventListener("abort", () => entry.markEnding("client_gone"), { once: true });
    try {
      const run = await runBuffered(runc, { stdin: spec.stdin, timeoutMs, cap, signal: spec.signal, killTree: () => cgroup.killAll() });
      const duration_ms = Date.now() - startedAt;
      if (!run.started && !run.timedOut) {
        // runc failed before the command ran: 127/126 like a shell's, a missing cwd is the caller's mistake, a runtime
        // that stopped meanwhile says so with the fix; anything else is runc's failure.
        const failure = await runc.failure(`runtime "${rec.name}"`, run.stderr.toBuffer().toString("utf8"));
        if (failure instanceof RuntaError) {
          this.registry.remove(entry);
          throw failure.code === "invalid_argument" ? failure : this.raced(rec, failure);
        }
        entry.ended({ code: failure.exitCode, signal: null, oomKilled: false });
        const stderr = CapturedOutput.of(Buffer.from(`runta: ${failure.message}\n`));
        const stdout = CapturedOutput.of(Buffer.alloc(0));
        const result = { exec_id: entry.id, exit_code: failure.exitCode, signal: null, duration_ms, stdout_truncated: false, stderr_truncated: false, timed_out: false, oom_killed: false };
        return { result: { ...result, ...outputFlags(stdout, stderr, encoding) }, stdout, stderr };
      }
      if (run.timedOut) entry.markEnding("timed_out");
      // runc started the command but its execve failed: 126/127 and runta's message, as for a command runc refused.
      // (Its stderr is runc's or the agent's few lines then, so joining it to read them costs nothing.)
      const execve = run.timedOut || run.stdout.length > 0 ? null : execveFailure(run.exitCode, run.stderr.toBuffer().toString("utf8"));
      if (execve) {
        run.exitCode = execve.exitCode;
        run.stderr = CapturedOutput.of(Buffer.from(`runta: ${execve.message}\n`));
      }
      const exitCode = run.timedOut ? SIGKILL_EXIT : run.exitCode;
      const signal = run.timedOut ? "KILL" : exitCode > 128 && exitCode < 128 + 65 ? signalName(exitCode - 128) : null;
      // The OOM killer sends SIGKILL; a counter that moved during another exec's death alone does not count.
      const oomKilled = exitCode === SIGKILL_EXIT && (await cg.oomKills()) > oomBefore;
      entry.ended({ code: exitCode, signal, oomKilled });
      const result = {
        exec_id: entry.id,
        exit_code: exitCode,
        signal,
        duration_ms,
        stdout_truncated: run.stdoutTruncated,
        stderr_truncated: run.stderrTruncated,
        timed_out: run.timedOut,
        oom_killed: oomKilled,
      };
      return { result: { ...result, ...outputFlags(run.stdout, run.stderr, encoding) }, stdout: run.stdout, stderr: run.stderr };
    } catch (err) {
      entry.ended(null);
      throw err;
    } finally {
      await runc.removeFiles();
    }
  }
}

/** The answer's fields about its output: how it is encoded (text, invalid UTF-8 replaced, or base64) and whether it was valid UTF-8. */
function outputFlags(stdout: CapturedOutput, stderr: CapturedOutput, encoding: "utf8" | "base64") {
  return { output_encoding: encoding, stdout_invalid_utf8: !stdout.validUtf8, stderr_invalid_utf8: !stderr.validUtf8 };
}
