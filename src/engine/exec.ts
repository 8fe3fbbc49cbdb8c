/**
 * Exec into a running runtime, buffered (`POST …/exec`) and streamed (websocket, `exec -it`): the process spec is
 * built once by spec.ts `buildExecProcess`, runc is started once by `Runc.exec`, and its failure classified once by
 * `classifyExecFailure`. This adds what belongs to a runtime: the admission limits of buffered execs, the output cap
 * and timeout, the OOM-kill count of its cgroup, and its last-activity time.
 */
import { constants as osConstants } from "node:os";
import { LIMITS, RuntaError, errors, type ExecResult } from "../api/index.js";
import type { RuntimeRecord, RuntimeStore } from "../store/store.js";
import { runBuffered } from "./buffered-exec.js";
import { RuntimeCgroup } from "./cgroups.js";
import { signalName } from "./proc.js";
import { preconditionFor } from "./refusals.js";
import { runtimePaths } from "./rootfs.js";
import type { Runc } from "./runc.js";
import { buildExecProcess } from "./spec.js";
import { startStreamExec } from "./stream-exec.js";
import type { ExecSpec, StreamProcess, StreamSpec } from "./types.js";

/** What exec needs of the engine. */
export interface ExecDeps {
  runc: Runc;
  store: RuntimeStore;
  dataDir: string;
  cgroupParent: string;
  /** Buffered execs allowed at once, in all and per runtime. */
  maxBuffered: number;
  maxBufferedPerRuntime: number;
}

const SIGKILL_EXIT = 128 + osConstants.signals.SIGKILL;

/** Buffered and streamed exec into running runtimes (the caller checked the record is running). */
export class Execs {
  /** Buffered execs running now: in all, and per runtime id. */
  private bufferedTotal = 0;
  private readonly bufferedPerRuntime = new Map<string, number>();

  constructor(private readonly deps: ExecDeps) {}

  /** Runs one command to its end with its output capped; refused with resource_exhausted past the admission limits. */
  async buffered(rec: RuntimeRecord, spec: ExecSpec): Promise<ExecResult> {
    const release = this.admit(rec);
    try {
      return await this.runBuffered(rec, spec);
    } finally {
      release();
    }
  }

  /** Starts one streamed command, optionally under a pty; resolves once it runs. */
  stream(rec: RuntimeRecord, spec: StreamSpec): Promise<StreamProcess> {
    const paths = runtimePaths(this.deps.dataDir, rec.id);
    const cg = new RuntimeCgroup(this.deps.cgroupParent, rec.id);
    this.deps.store.touchActivity(rec.id, new Date().toISOString());
    return startStreamExec({
      runc: this.deps.runc,
      containerId: rec.id,
      runtime: `runtime "${rec.name}"`,
      process: buildExecProcess({ ...spec, imageEnv: rec.env, rootfs: paths.rootfs }),
      workDir: paths.execDir,
      oomCount: () => cg.oomKills(),
    });
  }

  /**
   * Counts a buffered exec in, or refuses it with resource_exhausted when the daemon or the runtime already runs as
   * many as allowed (each holds up to twice its output cap in memory). Returns the release, to call once it ended.
   */
  private admit(rec: RuntimeRecord): () => void {
    const { maxBuffered: total, maxBufferedPerRuntime: perRuntime } = this.deps;
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
    this.bufferedTotal++;
    this.bufferedPerRuntime.set(rec.id, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.bufferedTotal--;
      const left = (this.bufferedPerRuntime.get(rec.id) ?? 1) - 1;
      if (left > 0) this.bufferedPerRuntime.set(rec.id, left);
      else this.bufferedPerRuntime.delete(rec.id);
    };
  }

  /** The buffered exec proper, once counted in. */
  private async runBuffered(rec: RuntimeRecord, spec: ExecSpec): Promise<ExecResult> {
    const paths = runtimePaths(this.deps.dataDir, rec.id);
    const timeoutMs = (spec.timeoutSecs ?? LIMITS.execTimeoutSecsDefault) * 1000;
    const cap = Math.min(spec.maxOutputBytes ?? LIMITS.execMaxOutputBytesDefault, LIMITS.execMaxOutputBytesHardMax);
    const proc = buildExecProcess({ argv: spec.argv, cwd: spec.cwd, env: spec.env, tty: false, imageEnv: rec.env, rootfs: paths.rootfs });
    const cg = new RuntimeCgroup(this.deps.cgroupParent, rec.id);
    const oomBefore = await cg.oomKills();
    const startedAt = Date.now();
    const runc = await this.deps.runc.exec(rec.id, proc, paths.execDir);
    try {
      const run = await runBuffered(runc, { stdin: spec.stdin, timeoutMs, cap, signal: spec.signal });
      const duration_ms = Date.now() - startedAt;
      this.deps.store.touchActivity(rec.id, new Date().toISOString());
      if (!run.started && !run.timedOut) {
        // runc failed before the command ran: 127/126 like a shell's, a missing cwd is the caller's mistake, a runtime
        // that stopped meanwhile says so with the fix; anything else is runc's failure.
        const failure = await runc.failure(`runtime "${rec.name}"`, run.stderr.toString("utf8"));
        if (failure instanceof RuntaError) {
          const now = this.deps.store.get(rec.id);
          if (failure.code !== "invalid_argument" && now && now.status !== "running") throw preconditionFor(now, "exec");
          throw failure;
        }
        return {
          exit_code: failure.exitCode,
          signal: null,
          stdout: "",
          stderr: `runta: ${failure.message}\n`,
          duration_ms,
          stdout_truncated: false,
          stderr_truncated: false,
          timed_out: false,
          oom_killed: false,
        };
      }
      const exitCode = run.timedOut ? SIGKILL_EXIT : run.exitCode;
      const signal = run.timedOut ? "KILL" : exitCode > 128 && exitCode < 128 + 65 ? signalName(exitCode - 128) : null;
      // The OOM killer sends SIGKILL; a counter that moved during another exec's death alone does not count.
      const oomKilled = exitCode === SIGKILL_EXIT && (await cg.oomKills()) > oomBefore;
      return {
        exit_code: exitCode,
        signal,
        stdout: run.stdout.toString("utf8"),
        stderr: run.stderr.toString("utf8"),
        duration_ms,
        stdout_truncated: run.stdoutTruncated,
        stderr_truncated: run.stderrTruncated,
        timed_out: run.timedOut,
        oom_killed: oomKilled,
      };
    } finally {
      await runc.removeFiles();
    }
  }
}
