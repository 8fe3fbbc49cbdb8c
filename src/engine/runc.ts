/**
 * A thin wrapper of the runc binary in the manner of containerd's go-runc: one method per verb, a private state
 * root, JSON logs so a failure carries runc's own message. Nothing here knows about runtimes, names or the store.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { RuntaError } from "../api/index.js";

/** A container as `runc list --format json` reports it. */
export interface RuncContainer {
  id: string;
  pid: number;
  status: "created" | "running" | "pausing" | "paused" | "stopped" | string;
  bundle: string;
}

/** A failed runc call: `runcMessage` is runc's own error text, `exitCode` its exit status. */
export class RuncError extends RuntaError {
  readonly runcMessage: string;
  readonly exitCode: number | null;
  constructor(verb: string, runcMessage: string, exitCode: number | null) {
    super("internal", `runc ${verb} failed: ${runcMessage}`);
    this.name = "RuncError";
    this.runcMessage = runcMessage;
    this.exitCode = exitCode;
  }
}

/** Options of {@link Runc}. */
export interface RuncOptions {
  /** Path of the runc binary (default `runc` from PATH). */
  path?: string;
  /** runc's state root (`--root`). */
  root: string;
  /** Directory for the per-call log files of detached calls (default: the state root). */
  logDir?: string;
}

/** The message of the last error-level line of runc's JSON log output; falls back to the raw text. */
export function runcErrorMessage(text: string): string {
  let message = "";
  for (const line of text.split("\n")) {
    const trimmed = line.trim();
    if (!trimmed) continue;
    try {
      const entry = JSON.parse(trimmed) as { level?: string; msg?: string };
      if ((entry.level === "error" || entry.level === "fatal") && entry.msg) message = entry.msg;
    } catch {
      // runc also prints plain lines (e.g. `exec failed: ...`) next to its JSON log.
      if (!message) message = trimmed;
    }
  }
  return message || text.trim() || "no error message";
}

/** Wraps one runc binary and one state root. */
export class Runc {
  readonly path: string;
  readonly root: string;
  readonly logDir: string;

  constructor(opts: RuncOptions) {
    this.path = opts.path ?? "runc";
    this.root = opts.root;
    this.logDir = opts.logDir ?? opts.root;
  }

  /** The global flags every call starts with. */
  globalArgs(logFile?: string): string[] {
    const args = ["--root", this.root, "--log-format", "json"];
    if (logFile) args.push("--log", logFile);
    return args;
  }

  /**
   * Creates and starts a container detached (`runc run -d`). The container inherits runc's stdio, so all three are
   * /dev/null and errors are read from a per-call log file; the daemon holds nothing of the container.
   */
  async run(id: string, bundle: string, pidFile: string): Promise<void> {
    const logFile = join(this.logDir, `run-${id}-${randomBytes(4).toString("hex")}.log`);
    try {
      const { code } = await this.spawnRunc([...this.globalArgs(logFile), "run", "-d", "--pid-file", pidFile, "-b", bundle, id], "ignore");
      if (code !== 0) {
        const log = await readFile(logFile, "utf8").catch(() => "");
        throw new RuncError("run", runcErrorMessage(log), code);
      }
    } finally {
      await rm(logFile, { force: true });
    }
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

  /** Freezes every process of the container (cgroup freezer). */
  async pause(id: string): Promise<void> {
    await this.call("pause", [id]);
  }

  /** Thaws a paused container. */
  async resume(id: string): Promise<void> {
    await this.call("resume", [id]);
  }

  /** Changes a running container's limits. runc orders the cgroup v1 memory and memsw writes itself. */
  async update(id: string, res: { memoryBytes?: number; cpuQuota?: number; cpuPeriod?: number }): Promise<void> {
    const args: string[] = [];
    if (res.memoryBytes !== undefined) args.push("--memory", String(res.memoryBytes), "--memory-swap", String(res.memoryBytes));
    if (res.cpuQuota !== undefined) args.push("--cpu-quota", String(res.cpuQuota));
    if (res.cpuPeriod !== undefined) args.push("--cpu-period", String(res.cpuPeriod));
    await this.call("update", [...args, id]);
  }

  /** The argv of `runc exec` for a process file; the caller spawns it with the stdio it needs. */
  execArgs(id: string, processFile: string, pidFile: string, opts: { tty?: boolean; logFile?: string } = {}): string[] {
    return [...this.globalArgs(opts.logFile), "exec", ...(opts.tty ? ["-t"] : []), "--process", processFile, "--pid-file", pidFile, id];
  }

  /** `runc --version` output. */
  async version(): Promise<string> {
    const { code, stdout, stderr } = await this.spawnRunc(["--version"], "pipe");
    if (code !== 0) throw new RuncError("--version", stderr.trim(), code);
    return stdout;
  }

  /** Runs one short runc verb and returns its stdout; a failure becomes a {@link RuncError} with runc's message. */
  private async call(verb: string, args: string[]): Promise<string> {
    const { code, stdout, stderr } = await this.spawnRunc([...this.globalArgs(), verb, ...args], "pipe");
    if (code !== 0) throw new RuncError(verb, runcErrorMessage(stderr), code);
    return stdout;
  }

  private spawnRunc(args: string[], stdio: "pipe" | "ignore"): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      const child = spawn(this.path, args, { stdio: stdio === "ignore" ? "ignore" : ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout?.setEncoding("utf8").on("data", (d: string) => (stdout += d));
      child.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr += d));
      child.on("error", (err: NodeJS.ErrnoException) => reject(runcUnavailable(this.path, err)));
      child.on("close", (code) => resolve({ code, stdout, stderr }));
    });
  }
}

/** The error for a runc binary that cannot be started at all. */
export function runcUnavailable(path: string, err: NodeJS.ErrnoException): RuntaError {
  const why = err.code === "ENOENT" ? "was not found" : err.code === "EACCES" ? "is not executable" : `cannot be started (${err.message})`;
  return new RuntaError("unavailable", `runc at ${path} ${why}; install it with 'apt-get install runc' or pass the right runc path`, {
    cause: err,
  });
}
