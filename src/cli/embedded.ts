/**
 * The local daemon in the background: `runta daemon start|stop|status` and the embedded default
 * (DESIGN §6: with nothing configured and no local daemon answering, the CLI starts one and goes on).
 */
import { spawn } from "node:child_process";
import { accessSync, constants, mkdirSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { RuntaError } from "../api/errors.js";
import type { RuntaApi } from "../client/contract.js";
import type { LocalDaemonDefaults } from "../client/config.js";
import type { CliContext } from "./context.js";
import { spinner } from "./output.js";

/** How long a freshly spawned daemon gets to answer `ping` before we give up and point at its log. */
export const DAEMON_START_TIMEOUT_MS = 15_000;
/** How long `daemon stop` waits after SIGTERM. */
export const DAEMON_STOP_TIMEOUT_MS = 20_000;

/** A live runta daemon process as /proc shows it. */
export interface DaemonProcess {
  pid: number;
  /** How long ago it started (ms): a young daemon may still be opening its engine; an old one that does not answer hangs. */
  ageMs: number;
  /** It has written daemon.json, i.e. it got as far as listening. */
  listening: boolean;
}

/** Linux's USER_HZ, the unit of /proc/<pid>/stat's start time: 100 on every architecture runta runs on. */
const CLK_TCK = 100;

/**
 * Whether `pid` is really a runta daemon, not a zombie left by `kill -9` (kill(pid, 0) succeeds on one until it is
 * reaped) nor an unrelated process that got the pid after a reboot: it must be alive by its /proc state, run the
 * daemon (its command line), and, when daemon.json recorded it, have the same start time. Returns its age, or
 * undefined when it is none of ours.
 */
export function daemonProcess(pid: number, startTime?: number): { ageMs: number } | undefined {
  let stat: string;
  let cmdline: string;
  let uptime: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    uptime = readFileSync("/proc/uptime", "utf8");
  } catch {
    return undefined;
  }
  // The command name may contain spaces and parentheses: fields start after the last ')'. Start time is field 22.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  if (fields[0] === "Z" || fields[0] === "X") return undefined;
  const started = Number(fields[19]);
  if (startTime !== undefined && started !== startTime) return undefined;
  const argv = cmdline.split("\0");
  const isDaemon = argv.some((a) => a.endsWith("/server/main.js")) || (argv.some((a) => /(^|\/)runta(\.js)?$/.test(a)) && argv.includes("daemon") && argv.includes("run"));
  if (!isDaemon) return undefined;
  return { ageMs: Math.max(0, (Number(uptime.split(" ")[0]) - started / CLK_TCK) * 1000) };
}

/**
 * The daemon serving the data dir: named by our pid file, else by the daemon's own daemon.json (a daemon started by
 * `runta daemon run` or by hand). Undefined when neither names a live runta daemon.
 */
export function runningDaemon(local: LocalDaemonDefaults): DaemonProcess | undefined {
  let info: { pid?: number; start_time?: number } = {};
  try {
    info = JSON.parse(readFileSync(join(local.dataDir, "daemon.json"), "utf8")) as typeof info;
  } catch {
    // no daemon.json: not started, still starting, or stopped cleanly
  }
  const candidates: { pid: number; startTime?: number }[] = [];
  try {
    candidates.push({ pid: Number.parseInt(readFileSync(local.pidFile, "utf8").trim(), 10) });
  } catch {
    // no pid file
  }
  if (typeof info.pid === "number") candidates.push({ pid: info.pid, startTime: info.start_time });
  for (const c of candidates) {
    if (!Number.isInteger(c.pid) || c.pid <= 0) continue;
    const startTime = c.startTime ?? (c.pid === info.pid ? info.start_time : undefined);
    const proc = daemonProcess(c.pid, startTime);
    if (proc) return { pid: c.pid, ageMs: proc.ageMs, listening: c.pid === info.pid };
  }
  return undefined;
}

/** The pid of the daemon serving the data dir, or undefined (see {@link runningDaemon}). */
export function runningPid(local: LocalDaemonDefaults): number | undefined {
  return runningDaemon(local)?.pid;
}

function onPath(binary: string, env: NodeJS.ProcessEnv): boolean {
  for (const dir of (env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(delimiter)) {
    try {
      accessSync(join(dir, binary), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

/** Checks what the daemon needs before spawning it, so the user gets the fix instead of a log to read. */
export function checkCanRunDaemon(ctx: CliContext): void {
  const isRoot = ctx.deps.isRoot ?? (() => process.getuid?.() === 0);
  if (!isRoot()) {
    throw new RuntaError(
      "permission_denied",
      "runta needs root to run runtimes — try sudo runta …, or point RUNTA_ENDPOINT/RUNTA_TOKEN at a running daemon",
    );
  }
  for (const bin of ["runc", "catatonit"]) {
    if (!onPath(bin, ctx.env)) {
      throw new RuntaError("failed_precondition", `${bin} is not installed — install it with: apt-get install runc catatonit`);
    }
  }
}

/** Spawns the daemon detached, logging to the log file; resolves with its pid once it answers `ping`. */
export async function startDaemonProcess(ctx: CliContext, local: LocalDaemonDefaults, probe: RuntaApi): Promise<number> {
  checkCanRunDaemon(ctx);
  mkdirSync(local.dataDir, { recursive: true, mode: 0o700 });
  mkdirSync(dirname(local.logFile), { recursive: true });
  const log = openSync(local.logFile, "a", 0o600);
  const main = fileURLToPath(new URL("../server/main.js", import.meta.url));
  // The token is never passed on argv or env: the daemon creates/reads it under its data dir.
  const env = { ...ctx.env };
  delete env.RUNTA_TOKEN;
  const child = spawn(process.execPath, [main, "--data-dir", local.dataDir, "--listen", local.listen], {
    detached: true,
    stdio: ["ignore", log, log],
    env,
  });
  closeSync(log);
  let exited: string | undefined;
  child.on("exit", (code, signal) => (exited = signal ? `killed by ${signal}` : `exited with code ${code}`));
  child.on("error", (err) => (exited = err.message));
  const pid = child.pid;
  child.unref();
  if (pid !== undefined) writeFileSync(local.pidFile, `${pid}\n`, { mode: 0o644 });

  const deadline = Date.now() + DAEMON_START_TIMEOUT_MS;
  while (Date.now() < deadline && exited === undefined) {
    if (await probe.ping(1000)) return pid!;
    await new Promise((r) => setTimeout(r, 150));
  }
  if (exited === undefined && pid !== undefined) process.kill(pid, "SIGTERM");
  rmSync(local.pidFile, { force: true });
  const reason = lastDaemonError(local.logFile) ?? exited ?? `no answer at ${local.endpoint} within ${DAEMON_START_TIMEOUT_MS / 1000} s`;
  throw new RuntaError("unavailable", `the runta daemon did not start (${reason}) — see its log: ${local.logFile}`);
}

/** The daemon's own one-line reason ("runta daemon: …") from the end of its log, when it left one. */
function lastDaemonError(logFile: string): string | undefined {
  try {
    const lines = readFileSync(logFile, "utf8").slice(-16_384).split("\n");
    return lines.reverse().find((l) => l.startsWith("runta daemon: "))?.slice("runta daemon: ".length);
  } catch {
    return undefined;
  }
}

/** The embedded default: start the local daemon in the background (spinner on a TTY) or explain why not. */
export async function ensureLocalDaemon(ctx: CliContext, opts: { autoStart: boolean; probe: RuntaApi }): Promise<void> {
  const local = ctx.config().local;
  if (!opts.autoStart) {
    throw new RuntaError(
      "unavailable",
      `no runta daemon answers at ${local.endpoint} (the local default) — start one with runta daemon start`,
    );
  }
  const running = runningDaemon(local);
  if (running && (running.listening || running.ageMs >= DAEMON_START_TIMEOUT_MS)) throw hungDaemon(running.pid, local);
  const progress = await spinner(ctx, "starting runta daemon…");
  try {
    if (running) {
      // A daemon started moments ago is still coming up: give it the rest of its start time instead of spawning a second.
      const deadline = Date.now() + DAEMON_START_TIMEOUT_MS - running.ageMs;
      while (!(await opts.probe.ping(1000))) {
        if (Date.now() >= deadline || !daemonProcess(running.pid)) throw hungDaemon(running.pid, local);
        await new Promise((r) => setTimeout(r, 150));
      }
    } else {
      await startDaemonProcess(ctx, local, opts.probe);
    }
    progress.succeed(`runta daemon started (log: ${local.logFile})`);
  } catch (err) {
    progress.fail();
    throw err;
  }
}

/** A daemon process that is alive but does not answer: say so at once, with what to do (never wait it out). */
function hungDaemon(pid: number, local: LocalDaemonDefaults): RuntaError {
  const state = daemonProcess(pid) ? "is running but does not answer" : "ended before it answered";
  return new RuntaError(
    "unavailable",
    `the runta daemon (pid ${pid}) ${state} at ${local.endpoint} — see its log ${local.logFile}; restart it: runta daemon stop (kill -9 ${pid} if that hangs), then runta daemon start`,
  );
}

/** Stops the background daemon: SIGTERM, then wait for it to exit. Returns the pid, or undefined if none ran. */
export async function stopDaemonProcess(local: LocalDaemonDefaults): Promise<number | undefined> {
  const pid = runningPid(local);
  if (pid === undefined) {
    rmSync(local.pidFile, { force: true });
    return undefined;
  }
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + DAEMON_STOP_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (!daemonProcess(pid)) {
      rmSync(local.pidFile, { force: true });
      return pid;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new RuntaError(
    "deadline_exceeded",
    `the runta daemon (pid ${pid}) did not exit within ${DAEMON_STOP_TIMEOUT_MS / 1000} s of SIGTERM — check ${local.logFile}, or kill -9 ${pid}`,
  );
}
