/**
 * The buffered exec runner: drives one exec started without a terminal (by `runc exec` or the runtime's agent), feeds it stdin, keeps
 * the first bytes of its output, and ends it on a timeout or when the caller left.
 *
 * The exec ends when its command does (the reaper exits with its status). A background job the command started keeps
 * running and may still hold the pipes: output is drained for a short while after the exit, then the pipes are closed
 * and the job goes on without them. A timeout or a caller that left kills every process the command started (its
 * exec cgroup: a `setsid` does not escape it) and its whole session.
 */
import type { ExecHandle } from "./execs/handle.js";
import { CapturedOutput } from "./exec-output.js";

/** Output and outcome of one buffered `runc exec`. */
export interface BufferedRun {
  /** Whether the command started (runc wrote the pid file, or the agent said so). */
  started: boolean;
  exitCode: number;
  /** The first `cap` bytes of each stream, as the chunks they came in (never joined: exec-output.ts). */
  stdout: CapturedOutput;
  stderr: CapturedOutput;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  timedOut: boolean;
}

/** How a buffered exec runs: stdin to feed, when to give up, the per-stream cap, and an abort for a caller that left. */
export interface BufferedOptions {
  stdin?: Buffer;
  timeoutMs: number;
  cap: number;
  signal?: AbortSignal;
  /** Kills every process the command started, wherever it moved (its exec cgroup, execs/cgroup.ts). */
  killTree?: () => Promise<void>;
}

/** How long output may keep arriving after the command exited (from background jobs still holding its stdout). */
const DRAIN_AFTER_EXIT_MS = 100;

/** Runs a started exec (pipes, no terminal) to its end and collects its output; rejects only when runc could not be started. */
export function runBuffered(runc: ExecHandle, opts: BufferedOptions): Promise<BufferedRun> {
  const { stdin, timeoutMs, cap, signal, killTree } = opts;
  const child = runc.pipes!;
  return new Promise((resolve, reject) => {
    const out = new CapturedOutput(cap);
    const err = new CapturedOutput(cap);
    let timedOut = false;
    let exitCode: number | null = null;
    let exited = false;
    let finished = false;
    let openStreams = 2;

    const killCommand = async () => {
      await killTree?.().catch(() => undefined);
      // The command may be a few ms from running; wait for it briefly rather than orphan it.
      const control = await runc.started(500);
      if (control) {
        control.group("SIGKILL");
        control.session("SIGKILL");
      } else if (!exited) runc.kill();
    };
    const timer = setTimeout(() => {
      timedOut = true;
      void killCommand();
    }, timeoutMs);
    // The caller went away (e.g. Ctrl-C on `runta exec`): nobody will read the result, so the command ends now.
    const onAbort = () => void killCommand();
    signal?.addEventListener("abort", onAbort, { once: true });
    if (signal?.aborted) onAbort();

    const stopWatching = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    };
    const finish = async () => {
      if (finished) return;
      finished = true;
      stopWatching();
      resolve({
        started: !!(await runc.started(0)),
        exitCode: exitCode ?? 255,
        stdout: out,
        stderr: err,
        stdoutTruncated: out.truncated,
        stderrTruncated: err.truncated,
        timedOut,
      });
    };
    const streamDone = () => {
      openStreams -= 1;
      if (openStreams === 0 && exited) void finish();
    };
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    child.stdout.on("close", streamDone);
    child.stderr.on("close", streamDone);
    runc.exited.then(
      (exit) => {
        exited = true;
        exitCode = exit.code;
        if (openStreams === 0) return void finish();
        // Background jobs may still hold the pipes open: stop waiting for them shortly after the command ended.
        setTimeout(() => {
          child.stdout.destroy();
          child.stderr.destroy();
          void finish();
        }, DRAIN_AFTER_EXIT_MS).unref();
      },
      (e: unknown) => {
        stopWatching();
        finished = true;
        reject(e);
      },
    );
    if (stdin?.length) child.stdin.end(stdin);
    else child.stdin.end();
  });
}
