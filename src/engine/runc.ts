/**
 * A thin wrapper of the runc binary in the manner of containerd's go-runc: one method per verb, a private state
 * root, JSON logs so a failure carries runc's own message. Every runc command line is built here, `exec` included
 * (go-runc's `Exec`): buffered and streamed exec both start their process through {@link Runc.exec}, get a `RuncExec`
 * (runc-exec.ts) and read its failure through `classifyExecFailure` (runc-failures.ts, with runc's log parser and
 * `RuncError`). Nothing here knows about runtimes, names or the store.
 *
 * How `runc exec` behaves (runc 1.1): in the foreground it stays alive until the command ends and exits with its
 * status (128+n for death by signal n). Every exec'd process is made a session leader by runc (setsid), so its pid,
 * written to `--pid-file` once it runs, is also its process group: the host sees container pids, so `kill(-pid, sig)`
 * reaches the command and its children. With `terminal: true` (`-t`) runc allocates the container's console, copies
 * it to and from runc's own stdio (our pty), puts our side in raw mode and forwards SIGWINCH: resizing our pty
 * resizes the container's; when the command exits runc closes the console and exits at once. Without a terminal a
 * foreground runc would copy the command's output through pipes of its own until EOF, which a background job holding
 * stdout delays for as long as it lives; so a command without a terminal runs `--detach`ed under the reaper
 * (execs/reaper.ts), which hands our pipes straight to the command and exits with its status when it ends, leaving
 * its background jobs to the runtime's init. runc's own failures (no pid file) go to its `--log` file, apart from output.
 */
import { spawn, type ChildProcessByStdio } from "node:child_process";
import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import { access, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";
import * as pty from "node-pty";
import { RuntaError, errors } from "../api/index.js";
import { reaperArgv } from "./execs/reaper.js";
import { signalName, signalNumber } from "./proc.js";
import { RuncExec, removeExecFiles, type ExecFiles, type RuncExit } from "./runc-exec.js";
import { RuncError, runcErrorMessage, runcUnavailable } from "./runc-failures.js";
import { spawnTurns } from "./spawn-turns.js";
import type { OciProcess } from "./spec.js";

/** The environment runc itself runs with (the command's own comes from its process spec). */
const RUNC_ENV = { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" };

/** A container as `runc list --format json` reports it. */
export interface RuncContainer {
  id: string;
  pid: number;
  status: "created" | "running" | "pausing" | "paused" | "stopped" | string;
  bundle: string;
}


/** Options of {@link Runc}. */
export interface RuncOptions {
  /** Path of the runc binary (default `runc` from PATH). */
  path?: string;
  /** runc's state root (`--root`). */
  root: string;
  /** Directory for the per-call log files of detached calls (default: the state root). */
  logDir?: string;
  /** How long one runc call (not exec: that lives as long as its command) may take before it is killed. */
  callTimeoutMs?: number;
}

/**
 * Default deadline of one runc call. `runc run -d` of a big runtime on a loaded host takes seconds; a call that takes
 * a minute is stuck (a pause on a cgroup that never freezes, a kill on a process in D state) and would hold the
 * runtime's lock, and every operation queued behind it, forever.
 */
export const RUNC_CALL_TIMEOUT_MS = 60_000;

/** Wraps one runc binary and one state root. */
export class Runc {
  readonly path: string;
  readonly root: string;
  readonly logDir: string;
  readonly callTimeoutMs: number;

  constructor(opts: RuncOptions) {
    this.path = opts.path ?? "runc";
    this.root = opts.root;
    this.logDir = opts.logDir ?? opts.root;
    this.callTimeoutMs = opts.callTimeoutMs ?? RUNC_CALL_TIMEOUT_MS;
  }

  /** The global flags every call starts with. */
  globalArgs(logFile?: string): string[] {
    const args = ["--root", this.root, "--log-format", "json"];
    if (logFile) args.push("--log", logFile);
    return args;
  }

  /**
   * Creates and starts a container detached (`runc run -d`) under the reaper (execs/reaper.ts), which stays as the
   * init's parent and writes its exit status to `statusFile` when it ends (`runta wait`); it runs in a session of its
   * own, so it outlives the daemon as the container does. The container's stdio is /dev/null and errors are read
   * from a per-call log file; the daemon holds nothing of the container once runc is done.
   */
  async run(id: string, bundle: string, pidFile: string, statusFile: string, opts: { agent?: { binary: string; socket: string } } = {}): Promise<void> {
    const logFile = join(this.logDir, `run-${id}-${randomBytes(4).toString("hex")}.log`);
    // With the exec agent as init: its launcher binds the agent socket as fd 3, and runc passes it on to the init.
    const launcher = opts.agent ? [opts.agent.binary, "--listen", opts.agent.socket, "--"] : [];
    const preserve = opts.agent ? ["--preserve-fds", "1"] : [];
    try {
      const args = [...this.globalArgs(logFile), "run", "-d", ...preserve, "--pid-file", pidFile, "-b", bundle, id];
      const { code } = await this.spawnRunc("run", args, "ignore", { reaped: { pidFile, statusFile }, launcher });
      if (code !== 0) {
        const log = await readFile(logFile, "utf8").catch(() => "");
        throw new RuncError("run", runcErrorMessage(log), code);
      }
    } finally {
      await rm(logFile, { force: true });
    }
  }

  /**
   * Removes the per-call log files of `run` a previous daemon left when it died mid-call (it removes each when the
   * call ends). Only at open: no call is in flight then.
   */
  async removeStaleLogs(): Promise<void> {
    const names = await readdir(this.logDir).catch(() => [] as string[]);
    await Promise.all(names.filter((n) => /^run-.*\.log$/.test(n)).map((n) => rm(join(this.logDir, n), { force: true })));
  }

  /** State of one container, or `null` if runc does not know it. */
  async state(id: string): Promise<RuncContainer | null> {
    try {
      const out = await this.call("state", [id]);
      const s = JSON.parse(out) as RuncContainer;
      return { id: s.id, pid: s.pid, status: s.status, bundle: s.bundle };
    } catch (err) {
      if (err instanceof RuncError && /does not exist|not exist/.test(err.runcMessage)) return null;
      throw err;
    }
  }

  /** Every container in the state root. */
  async list(): Promise<RuncContainer[]> {
    const out = await this.call("list", ["--format", "json"]);
    const parsed = JSON.parse(out.trim() || "null") as RuncContainer[] | null;
    return (parsed ?? []).map((c) => ({ id: c.id, pid: c.pid, status: c.status, bundle: c.bundle }));
  }

  /** Sends a signal (name without SIG, e.g. `TERM`) to the init, or to every process with `all`. */
  async kill(id: string, signal: string, opts: { all?: boolean } = {}): Promise<void> {
    await this.call("kill", [...(opts.all ? ["--all"] : []), id, signal]);
  }

  /** Removes a stopped container's state and cgroup. Deliberately no `-f`: that path sleeps 100 ms inside runc. */
  async delete(id: string, opts: { force?: boolean } = {}): Promise<void> {
    await this.call("delete", [...(opts.force ? ["--force"] : []), id]);
  }

  // No pause/resume: the daemon writes the cgroup freezer itself (freezer.ts), as runc would, without a spawn.

  /** Changes a running container's limits. runc orders the cgroup v1 memory and memsw writes itself. */
  async update(id: string, res: { memoryBytes?: number; cpuQuota?: number; cpuPeriod?: number; cpus?: string }): Promise<void> {
    const args: string[] = [];
    if (res.memoryBytes !== undefined) args.push("--memory", String(res.memoryBytes), "--memory-swap", String(res.memoryBytes));
    if (res.cpuQuota !== undefined) args.push("--cpu-quota", String(res.cpuQuota));
    if (res.cpuPeriod !== undefined) args.push("--cpu-period", String(res.cpuPeriod));
    if (res.cpus !== undefined) args.push("--cpuset-cpus", res.cpus);
    await this.call("update", [...args, id]);
  }

  /**
   * Starts `runc exec` of one process in container `id` and returns once runc runs (not once the command does: its
   * pid file appears then). The process spec decides the rest: `terminal` gives `-t` and a pty of `consoleSize` (runc
   * needs a terminal on its own stdio, in the foreground); without it runc runs detached under the reaper with our
   * pipes as the command's stdio, or with `detached` with none at all (output discarded) and free of the daemon, so
   * it survives a daemon restart and leaves the command's status in {@link RuncExec.statusFile}. The process JSON,
   * pid file, runc's log and the status file are files under `dir`, removed by {@link RuncExec.removeFiles}.
   * `cgroup` is a sub-cgroup of the container's to run the command in (`--cgroup`, see execs/cgroup.ts).
   */
  async exec(id: string, proc: OciProcess, dir: string, opts: { detached?: boolean; cgroup?: string } = {}): Promise<RuncExec> {
    // Checked first: a pty would start its shell anyway and only then fail to exec runc, with a worse message.
    await access(this.path, constants.X_OK).catch((err: NodeJS.ErrnoException) => {
      throw runcUnavailable(this.path, err);
    });
    const base = join(dir, `exec-${randomBytes(6).toString("hex")}`);
    const files = { process: `${base}.json`, pid: `${base}.pid`, log: `${base}.log`, status: `${base}.status` };
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(files.process, JSON.stringify(proc), { mode: 0o600 });
    const mode = proc.terminal ? ["-t"] : ["--detach"];
    // The exec's own sub-cgroup (execs/cgroup.ts), joined before the command runs: nothing it starts can leave it.
    const cgroup = opts.cgroup ? ["--cgroup", opts.cgroup] : [];
    const args = [...this.globalArgs(files.log), "exec", ...mode, ...cgroup, "--process", files.process, "--pid-file", files.pid, id];
    await spawnTurns.next();
    try {
      if (proc.terminal) return this.execPty(args, files, proc.consoleSize);
      return this.execReaped([this.path, ...args], files, opts.detached === true);
    } catch (err) {
      await removeExecFiles(files);
      throw errors.unavailable(`could not run runc at ${this.path}: ${(err as Error).message}; check the runc path`, err);
    }
  }

  private execReaped(runcArgv: string[], files: ExecFiles, detached: boolean): RuncExec {
    const [file, ...args] = reaperArgv(runcArgv, files.pid, detached ? files.status : "");
    // detached (own process group): a Ctrl-C at the daemon's terminal does not reach it. A detached exec also gets
    // no pipes and is unref'd: the daemon may stop, the command goes on.
    const child = spawn(file!, args, { stdio: detached ? "ignore" : ["pipe", "pipe", "pipe"], env: RUNC_ENV, detached: true });
    if (detached) child.unref();
    // Writing to a command that already closed its stdin is not an error worth crashing for.
    child.stdin?.on("error", () => {});
    const exited = new Promise<RuncExit>((resolve, reject) => {
      child.once("error", (err: NodeJS.ErrnoException) => reject(runcUnavailable(file!, err)));
      child.once("exit", (code, signal) => resolve({ code: code ?? 128 + signalNumber(signal), signal: signal ? signalName(signalNumber(signal)) : null }));
    });
    const pipes = detached ? undefined : (child as ChildProcessByStdio<Writable, Readable, Readable>);
    return new RuncExec(files, exited, { pipes }, () => child.kill("SIGKILL"));
  }

  private execPty(args: string[], files: ExecFiles, size: OciProcess["consoleSize"]): RuncExec {
    // Our side of the pty goes raw before runc starts, so keystrokes sent before runc sets raw mode itself are not
    // echoed, line-buffered or turned into signals for runc by our line discipline. (runc then keeps OPOST|ONLCR on
    // our side and clears ONLCR on the container's console; output written in the first milliseconds, before runc
    // clears it, arrives as \r\r\n, which a terminal renders exactly like \r\n.)
    const term = pty.spawn("/bin/sh", ["-c", 'stty raw -echo && exec "$0" "$@"', this.path, ...args], {
      // TERM of runc and stty on our side of the pty only; the command's TERM is in its process spec.
      name: "xterm-256color",
      // The spec builder sized the console; runc gives the container's console our pty's size.
      rows: size?.height,
      cols: size?.width,
      cwd: "/",
      env: RUNC_ENV,
      // Buffers, not strings: a program's output is bytes and must not be re-encoded.
      encoding: null,
    });
    const exited = new Promise<RuncExit>((resolve) => {
      term.onExit(({ exitCode, signal }) => {
        // runc killed by a signal (a hangup's last resort) has no exit code of its own: report it the shell way.
        resolve(signal ? { code: 128 + signal, signal: signalName(signal) } : { code: exitCode, signal: null });
      });
    });
    return new RuncExec(files, exited, { pty: term }, () => term.kill("SIGKILL"));
  }

  /** `runc --version` output. */
  async version(): Promise<string> {
    const { code, stdout, stderr } = await this.spawnRunc("--version", ["--version"], "pipe");
    if (code !== 0) throw new RuncError("--version", stderr.trim(), code);
    return stdout;
  }

  /** Runs one short runc verb and returns its stdout; a failure becomes a {@link RuncError} with runc's message. */
  private async call(verb: string, args: string[]): Promise<string> {
    const { code, stdout, stderr } = await this.spawnRunc(verb, [...this.globalArgs(), verb, ...args], "pipe");
    if (code !== 0) throw new RuncError(verb, runcErrorMessage(stderr), code);
    return stdout;
  }

  /**
   * Runs runc to its end, or kills it (SIGKILL) at the call deadline and rejects with deadline_exceeded naming the
   * verb: the runtime's lock is released and the operations queued behind the stuck call proceed. `reaped`: runc
   * runs under a detached reaper that outlives it (Runc.run), and "its end" is the reaper's `started` line (code 0) or
   * the reaper's exit with runc's failure.
   */
  private async spawnRunc(
    verb: string,
    args: string[],
    stdio: "pipe" | "ignore",
    opts: { reaped?: { pidFile: string; statusFile: string }; launcher?: string[] } = {},
  ): Promise<{ code: number | null; stdout: string; stderr: string }> {
    await spawnTurns.next();
    return new Promise((resolve, reject) => {
      const reaped = opts.reaped;
      const command = [...(opts.launcher ?? []), this.path, ...args];
      const [file, ...argv] = reaped ? reaperArgv(command, reaped.pidFile, reaped.statusFile, true) : command;
      const child = reaped
        ? spawn(file!, argv, { stdio: ["ignore", "pipe", "ignore"], env: RUNC_ENV, detached: true })
        : spawn(file!, argv, { stdio: stdio === "ignore" ? "ignore" : ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      let settled = false;
      const settle = (result: { code: number | null; stdout: string; stderr: string } | Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (result instanceof Error) reject(result);
        else resolve(result);
      };
      const secs = Math.round(this.callTimeoutMs / 100) / 10;
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        settle(
          new RuntaError("deadline_exceeded", `runc ${verb} did not finish within ${secs} s and was killed; the runtime may be stuck: retry, or remove it with 'runta rm -f'`, {
            details: { runc_verb: verb, timeout_secs: secs },
          }),
        );
      }, this.callTimeoutMs);
      child.stdout?.setEncoding("utf8").on("data", (d: string) => {
        stdout += d;
        if (reaped && stdout.includes("started\n")) {
          // runc is done; the reaper stays with the container, on its own.
          child.stdout?.destroy();
          child.unref();
          settle({ code: 0, stdout: "", stderr });
        }
      });
      child.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr += d));
      child.on("error", (err: NodeJS.ErrnoException) => settle(runcUnavailable(file!, err)));
      if (reaped) {
        // No `started` before the reaper's stdout closed: runc failed, and the reaper's exit code is runc's.
        const exited = new Promise<number>((r) => child.once("exit", (code) => r(code ?? 255)));
        child.stdout?.once("close", () => void exited.then((code) => settle({ code, stdout, stderr })));
      } else {
        child.on("close", (code: number | null) => settle({ code, stdout, stderr }));
      }
    });
  }
}
