/**
 * The buffered exec runner: drives one `runc exec` started by {@link Runc.exec} without a terminal, feeds it stdin,
 * keeps the first bytes of its output, and ends it on a timeout or when the caller left.
 *
 * runc's init calls setsid() for exec'd processes, so the command leads its own process group: killing `-pid` from
 * the host (where the pid-file pid is valid) takes its background children too. A non-tty `runc exec` copies the
 * command's output through its own pipes and exits only at EOF, so a background child still holding stdout
 * (`sleep 100 &`) would hold the answer until the timeout. So once the command itself is gone (its pid vanishes: runc
 * reaped it) and a short drain has passed, the rest of its process group is killed; runc then sees EOF and exits with
 * the command's own status. Children that detached their stdio are not waited for.
 */
import { existsSync } from "node:fs";
import { procStart, readPidFile, sleep } from "./proc.js";
import type { RuncExec } from "./runc.js";

/** Output and outcome of one buffered `runc exec`. */
export interface BufferedRun {
  /** Whether the command started (runc wrote the pid file). */
  started: boolean;
  exitCode: number;
  stdout: Buffer;
  stderr: Buffer;
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
}

/** Keeps the first `cap` bytes of a stream and drains the rest. */
class CappedBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  truncated = false;
  constructor(private readonly cap: number) {}
  push(chunk: Buffer): void {
    const room = this.cap - this.size;
    if (chunk.length > room) this.truncated = true;
    if (room <= 0) return;
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.chunks.push(kept);
    this.size += kept.length;
  }
  value(): Buffer {
    return Buffer.concat(this.chunks, this.size);
  }
}

/** How long output may keep arriving after the command exited (from children still holding its stdout). */
const DRAIN_AFTER_EXIT_MS = 100;
/** How often a running buffered exec checks whether its command is gone while runc still waits. */
const WATCH_INTERVAL_MS = 50;

/** Runs a started `runc exec` (pipes, no terminal) to its end and collects its output; rejects only when runc could not be started. */
export function runBuffered(runc: RuncExec, opts: BufferedOptions): Promise<BufferedRun> {
  const { stdin, timeoutMs, cap, signal } = opts;
  const child = runc.pipes!;
  const pidFile = runc.pidFile;
  return new Promise((resolve, reject) => {
    const out = new CappedBuffer(cap);
    const err = new CappedBuffer(cap);
    let timedOut = false;
    let exitCode: number | null = null;
    let exited = false;
    let finished = false;
    let openStreams = 2;

    const readPid = () => readPidFile(pidFile);
    const killCommand = async () => {
      // The pid file appears once the process started; wait for it briefly rather than orphan the command.
      for (let i = 0; i < 50; i++) {
        const pid = await readPid();
        if (pid) {
          try {
            process.kill(-pid, "SIGKILL");
          } catch {
            // Group already gone.
          }
          return;
        }
        if (exited) return;
        await sleep(10);
      }
      runc.kill();
    };
    const killAll = () => {
      void killCommand();
      // A process that left the group (setsid) could still hold the pipes: do not wait for it past this point.
      setTimeout(() => runc.kill(), 2000).unref();
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killAll();
    }, timeoutMs);
    // The caller went away (e.g. Ctrl-C on `runta exec`): nobody will read the result, so the command ends now.
    signal?.addEventListener("abort", killAll, { once: true });
    if (signal?.aborted) killAll();

    let mainPid: number | null = null;
    let mainGoneAt: number | null = null;
    let watching = false;
    const watch = setInterval(async () => {
      if (exited || watching) return;
      watching = true;
      try {
        mainPid ??= await readPid();
        if (!mainPid || procStart(mainPid) !== null) return;
        mainGoneAt ??= Date.now();
        if (Date.now() - mainGoneAt < DRAIN_AFTER_EXIT_MS) return;
        clearInterval(watch);
        // The group outlives its leader's pid while members remain, and the kernel never reuses such a pid.
        try {
          process.kill(-mainPid, "SIGKILL");
        } catch {
          // Nobody left.
        }
      } finally {
        watching = false;
      }
    }, WATCH_INTERVAL_MS);

    const stopWatching = () => {
      clearTimeout(timer);
      clearInterval(watch);
      signal?.removeEventListener("abort", killAll);
    };
    const finish = async () => {
      if (finished) return;
      finished = true;
      stopWatching();
      resolve({
        started: existsSync(pidFile),
        exitCode: exitCode ?? 255,
        stdout: out.value(),
        stderr: err.value(),
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
        // Background children may still hold the pipes open: stop waiting for them shortly after the command ended.
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
