/**
 * The daemon's LXCFS: a FUSE filesystem whose /proc/meminfo, /proc/cpuinfo, /proc/stat, /proc/uptime, … answer with
 * the limits and usage of the cgroup of whoever reads them. Bind-mounted over those files in every runtime, it makes
 * `free`, `top`, `nproc`-like counts, `os.cpu_count()` and `uptime` show the runtime's memory limit, its vCPUs
 * (`--enable-cfs`: ceil(quota/period), within its cpuset) and its own uptime instead of the host's; a resize shows at
 * the next read, as the files are computed on every read.
 *
 * One instance per daemon data dir, mounted at `<dataDir>/lxcfs` (no systemd unit needed, and two daemons on a host
 * never share one). It is started detached, in its own session, so it outlives the daemon: running runtimes hold
 * bind mounts into it, and a stopped LXCFS would leave them with "Transport endpoint is not connected". The next
 * daemon uses the instance it finds answering at that path; it is unmounted (which ends it) only when a daemon
 * stops with no container running. Without lxcfs (not installed, or it fails to start) runtimes still start, with
 * the host's figures in /proc; that is logged once.
 */
import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync } from "node:fs";
import { mkdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../../log.js";
import { resolveExecutable } from "../host.js";
import { mountPoints, unmount } from "../mounts.js";
import { sleep, waitProcessExit } from "../proc.js";

/** Files LXCFS virtualises that runc lets a container bind over /proc and /sys (its allow-list for exactly this). */
const VIEW_FILES = [
  "proc/meminfo",
  "proc/cpuinfo",
  "proc/stat",
  "proc/uptime",
  "proc/loadavg",
  "proc/diskstats",
  "proc/swaps",
  "sys/devices/system/cpu/online",
];

/** A bind mount of one LXCFS file over the runtime's own. */
export interface ViewMount {
  destination: string;
  source: string;
}

const START_TIMEOUT_MS = 5_000;
const PROBE_TIMEOUT_MS = 2_000;

export class Lxcfs {
  private views: ViewMount[] = [];
  /** Why there are no views (logged once per reason). */
  private unavailable: string | null = null;
  private starting: Promise<void> | null = null;

  private constructor(
    readonly dir: string,
    private readonly opts: { dataDir: string; binary: string; logger: Logger },
  ) {}

  /** Adopts the instance answering at `<dataDir>/lxcfs`, or starts one. Never throws: without LXCFS there are no views. */
  static async open(opts: { dataDir: string; binary?: string; logger: Logger }): Promise<Lxcfs> {
    const lxcfs = new Lxcfs(join(opts.dataDir, "lxcfs"), { dataDir: opts.dataDir, binary: opts.binary ?? "lxcfs", logger: opts.logger });
    await lxcfs.ensure();
    return lxcfs;
  }

  /**
   * The bind mounts for a runtime about to boot. Checks first that the instance still answers (a read of one small
   * file): a dead one is replaced, since binding a dead FUSE file would make runc fail to start the container.
   */
  async mounts(): Promise<ViewMount[]> {
    await this.ensure();
    return this.views;
  }

  private ensure(): Promise<void> {
    this.starting ??= this.check().finally(() => (this.starting = null));
    return this.starting;
  }

  private async check(): Promise<void> {
    // The boot path's fast case: one small read, no mount table scan.
    if (this.views.length && (await this.answers())) return;
    const mounted = (await mountPoints()).includes(this.dir);
    if (mounted && (await this.answers())) {
      if (!this.views.length) this.found("found running");
      return;
    }
    if (mounted) {
      // Dead (killed, crashed): runtimes booted on it keep unreadable /proc files until their next boot.
      this.opts.logger.warn("lxcfs at this data dir stopped answering; starting a new one (runtimes booted before see unreadable /proc files until they boot again)", { dir: this.dir });
      await unmount([this.dir]).catch(() => undefined);
    }
    this.views = [];
    const why = await this.start();
    if (why) return this.off(why);
    this.found("started");
  }

  private found(how: string): void {
    this.views = VIEW_FILES.filter((f) => existsSync(join(this.dir, f))).map((f) => ({ destination: `/${f}`, source: join(this.dir, f) }));
    this.unavailable = null;
    this.opts.logger.info(`lxcfs ${how}: runtimes see their own memory, CPUs and uptime in /proc`, { dir: this.dir, files: this.views.length });
  }

  private off(why: string): void {
    this.views = [];
    if (this.unavailable === why) return;
    this.unavailable = why;
    this.opts.logger.warn(`lxcfs unavailable: ${why}; runtimes start without it and show the host's memory, CPUs and uptime in /proc`);
  }

  /** Whether the mounted instance serves its files (a dead FUSE daemon fails at once with ENOTCONN). */
  private async answers(): Promise<boolean> {
    const probe = readFile(join(this.dir, "proc", "uptime"), "utf8").then(
      (t) => t.length > 0,
      () => false,
    );
    return Promise.race([probe, sleep(PROBE_TIMEOUT_MS).then(() => false)]);
  }

  /** Starts a detached instance and waits for its mount; returns why not, or null. */
  private async start(): Promise<string | null> {
    const binary = resolveExecutable(this.opts.binary);
    if (!binary.includes("/") || !existsSync(binary)) return `${this.opts.binary} is not installed (apt-get install lxcfs)`;
    await mkdir(this.dir, { recursive: true, mode: 0o755 });
    const logFile = join(this.opts.dataDir, "lxcfs.log");
    const log = openSync(logFile, "a");
    let exited: string | null = null;
    try {
      const child = spawn(binary, ["--enable-cfs", "--enable-loadavg", "--pidfile", join(this.opts.dataDir, "lxcfs.pid"), this.dir], {
        detached: true,
        stdio: ["ignore", log, log],
      });
      child.once("error", (err) => (exited = err.message));
      child.once("exit", (code, signal) => (exited = `exited with ${signal ?? code}`));
      child.unref();
    } finally {
      closeSync(log);
    }
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline && !exited) {
      if ((await mountPoints()).includes(this.dir) && (await this.answers())) return null;
      await sleep(20);
    }
    const tail = (await readFile(logFile, "utf8").catch(() => "")).trim().split("\n").slice(-3).join(" | ");
    await unmount([this.dir]).catch(() => undefined);
    return `${binary} ${exited ?? `did not mount within ${START_TIMEOUT_MS / 1000} s`}${tail ? ` (${logFile}: ${tail})` : ""}`;
  }

  /**
   * With `stop` (no container of this daemon is running, so nothing holds its files), ends LXCFS and unmounts it.
   * SIGKILL: it keeps no state, an unmount alone does not end it, and on SIGTERM it waits up to 5 s for its load
   * average thread. Otherwise leaves it running for the runtimes and the next daemon.
   */
  async close(opts: { stop: boolean }): Promise<void> {
    await this.starting?.catch(() => undefined);
    if (!opts.stop) return;
    const pidFile = join(this.opts.dataDir, "lxcfs.pid");
    const pid = Number((await readFile(pidFile, "utf8").catch(() => "")).trim()) || null;
    // The pid file may be stale (a host reboot): signal only an lxcfs serving this very directory.
    const ours = pid !== null && (await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")).split("\0").includes(this.dir);
    if (ours) {
      process.kill(pid, "SIGKILL");
      if (!(await waitProcessExit(pid, null, 5_000))) this.opts.logger.warn("lxcfs did not exit on SIGKILL", { pid });
    }
    await unmount([this.dir]).catch((err: Error) => this.opts.logger.warn("could not unmount lxcfs", { dir: this.dir, error: err.message }));
    await rm(pidFile, { force: true });
  }
}
