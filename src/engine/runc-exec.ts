/**
 * One `runc exec` once `Runc.exec` (runc.ts) has started it: the pipes or pty of the command, its pid file
 * (it runs), the reaper's status file (how a detached exec ended), runc's log (why it did not start) and their removal.
 */
import type { ChildProcessByStdio } from "node:child_process";
import { watch, type FSWatcher } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import { basename, dirname } from "node:path";
import type { Readable, Writable } from "node:stream";
import type * as pty from "node-pty";
import { hostControl, type ExecControl, type ExecHandle } from "./execs/handle.js";
import { namespacePid, readPidFile } from "./proc.js";
import { classifyExecFailure, runcErrorMessage, type ExecFailure } from "./runc-failures.js";

/** runc's exit: the command's status (128+n for death by signal n), or runc's own failure (255). */
export interface RuncExit {
  code: number;
  signal: string | null;
}

/** The files of one exec, all under its directory. */
export interface ExecFiles {
  process: string;
  pid: string;
  log: string;
  status: string;
}

/** Removes an exec's files (its process JSON, pid file, runc log and status file). */
export async function removeExecFiles(files: ExecFiles): Promise<void> {
  await Promise.all([files.process, files.pid, files.log, files.status].map((f) => rm(f, { force: true })));
}

/** One `runc exec` in the foreground, as `Runc.exec` started it. */
export class RuncExec implements ExecHandle {
  /** Where runc writes the command's host pid (also its process group) once it runs. */
  readonly pidFile: string;
  /** Where the reaper of a detached exec writes the command's exit status when it ends. */
  readonly statusFile: string;
  /** Without a terminal: runc's pipes, which are the command's own stdin, stdout and stderr. */
  readonly pipes?: ChildProcessByStdio<Writable, Readable, Readable>;
  /** With a terminal: the pty runc copies the container's console to and from. */
  readonly pty?: pty.IPty;
  /** The command's host pid and signalling, once it runs. */
  control: ExecControl | null = null;

  constructor(
    private readonly files: ExecFiles,
    /** When runc exits; rejects when runc could not be started at all. */
    readonly exited: Promise<RuncExit>,
    io: { pipes?: ChildProcessByStdio<Writable, Readable, Readable>; pty?: pty.IPty },
    private readonly killRunc: () => void,
  ) {
    this.pidFile = files.pid;
    this.statusFile = files.status;
    this.pipes = io.pipes;
    this.pty = io.pty;
  }

  /**
   * Polls the pid file until it appears (the command runs: its host pid, signalled as a host process), runc ends
   * without writing it (runc failed: undefined) or `timeoutMs` pass (null).
   */
  async started(timeoutMs: number): Promise<ExecControl | undefined | null> {
    const pid = await this.pidOnceStarted(timeoutMs);
    if (typeof pid === "number") this.control ??= hostControl(pid, namespacePid(pid));
    return typeof pid === "number" ? this.control : pid;
  }

  private async pidOnceStarted(timeoutMs: number): Promise<number | undefined | null> {
    const deadline = Date.now() + timeoutMs;
    let runcDone = false;
    let wake: (() => void) | undefined;
    void this.exited.then(
      () => ((runcDone = true), wake?.()),
      () => ((runcDone = true), wake?.()),
    );
    // inotify says when runc renames the pid file into place, so a streamed exec answers without a polling delay;
    // the timer is the fallback (a directory that cannot be watched, an event missed).
    const name = basename(this.pidFile);
    let watcher: FSWatcher | undefined;
    try {
      watcher = watch(dirname(this.pidFile), (_event, file) => {
        if (file === name) wake?.();
      });
      watcher.on("error", () => undefined);
    } catch {
      // Polling alone, then.
    }
    try {
      for (let delay = 2; ; delay = Math.min(delay * 2, 20)) {
        const pid = await readPidFile(this.pidFile);
        if (pid !== null) return pid;
        if (runcDone) return (await readPidFile(this.pidFile)) ?? undefined;
        if (Date.now() > deadline) return null;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, delay);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
      }
    } finally {
      watcher?.close();
    }
  }

  /** SIGKILLs runc itself: the last resort, when the command (reached through its process group) does not end it. */
  kill(): void {
    try {
      this.killRunc();
    } catch {
      // Already gone.
    }
  }

  /**
   * Why runc ended without starting the command: its log's error, else what it printed (`output`), classified by
   * {@link classifyExecFailure}. `runtime` names the runtime in the messages (e.g. `runtime "web"`).
   */
  async failure(runtime: string, output = ""): Promise<ExecFailure> {
    const [log, exit] = await Promise.all([readFile(this.files.log, "utf8").catch(() => ""), this.exited.catch(() => null)]);
    const text = `${log}\n${output}`.trim();
    const message = text ? runcErrorMessage(text) : `runc exited with ${exit?.signal ?? exit?.code ?? "an error"} before starting the command`;
    return classifyExecFailure(message, runtime);
  }

  /** Removes the process JSON, the pid file and runc's log. */
  removeFiles(): Promise<void> {
    return removeExecFiles(this.files);
  }
}
