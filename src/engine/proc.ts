/**
 * Host process facts and signals, shared by the engine (buffered and streamed exec, lifecycle, images) and the
 * daemon. The host sees container processes by their host pids, so all of this works on runtimes' processes too.
 */
import { readdirSync, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { constants as osConstants } from "node:os";

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Whether a process with this pid exists (EPERM means it exists but is not ours to signal). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * The fields of /proc/<pid>/stat after the command name (state, ppid, pgrp, session, …, starttime at index 19), or
 * null when the process is gone. Synchronous on purpose: procfs never waits on a disk, and callers make one read per
 * runtime (through libuv's 4-thread pool 200 of them took 13–39 ms, read directly about 2 ms).
 */
export function procStatFields(pid: number | string): string[] | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // The command name may contain spaces and parentheses: fields start after the last ')'.
  return text.slice(text.lastIndexOf(")") + 2).split(" ");
}

/** Start time of a live process (null when gone or a zombie): with the pid, it names one process for good. */
export function procStart(pid: number): number | null {
  const fields = procStatFields(pid);
  if (!fields || fields[0] === "Z" || fields[0] === "X") return null;
  return Number(fields[19]);
}

/** The kernel's PF_EXITING: the process is in exit(), its files already closed. */
const PF_EXITING = 0x4;

/**
 * Whether the process is gone or on its way out. A pid namespace's init that exited shows as alive (not yet a zombie)
 * while the kernel kills and reaps the rest of its namespace, with its sockets already closed: an exec agent that
 * ended its connections then reads as alive to {@link sameProcessAlive}, but not to this.
 */
export function processEnding(pid: number | null): boolean {
  const fields = pid ? procStatFields(pid) : null;
  if (!fields || fields[0] === "Z" || fields[0] === "X") return true;
  return (Number(fields[6]) & PF_EXITING) !== 0;
}

/** Sends a signal to a process group; a group that is already gone is fine. */
export function killGroup(pgid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pgid, sig);
  } catch {
    // ESRCH: the group already ended, which is what the caller wanted.
  }
}

/** The pid in a pid file (runc's --pid-file), or null while it is missing or empty. */
export async function readPidFile(path: string): Promise<number | null> {
  try {
    const pid = Number((await readFile(path, "utf8")).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** Signal name for a number without the SIG prefix, as in the stream frames: 9 → `KILL`. */
export function signalName(n: number): string | null {
  const entry = Object.entries(osConstants.signals).find(([, v]) => v === n);
  return entry ? entry[0].replace(/^SIG/, "") : null;
}

/** Number of a signal name (`SIGKILL` → 9); 0 for none. */
export function signalNumber(sig: NodeJS.Signals | null): number {
  return sig ? (osConstants.signals[sig] ?? 0) : 0;
}

/** Whether the process is still the one recorded (same pid and start time, not a zombie). */
export function sameProcessAlive(pid: number | null, startTime: number | null): boolean {
  if (!pid) return false;
  const now = procStart(pid);
  return now !== null && (startTime === null || now === startTime);
}

/**
 * {@link sameProcessAlive} for checks made in bulk (a list of hundreds of runtimes): reading /proc/<pid>/stat costs
 * 10–30 µs a process, most of a list of 200; a signal-0 probe costs about 1 µs. A process is checked in full (pid
 * and start time) at most once per `verifyMs`; in between, a probe saying the pid still exists stands for it. The gap
 * this leaves: within `verifyMs` of a full check the process died and its pid went to a new process (or it is a
 * zombie nobody reaped yet); it then reads as alive until the next full check. Callers that act on the answer use
 * the full check.
 */
export class AliveCache {
  private readonly verified = new Map<number, { start: number | null; at: number }>();

  constructor(private readonly verifyMs = 1000) {}

  /** Whether `pid` still is the process recorded with `startTime`. */
  alive(pid: number | null, startTime: number | null): boolean {
    if (!pid) return false;
    const now = performance.now();
    const seen = this.verified.get(pid);
    if (seen && seen.start === startTime && now - seen.at < this.verifyMs && pidAlive(pid)) return true;
    const alive = sameProcessAlive(pid, startTime);
    if (alive) this.verified.set(pid, { start: startTime, at: now });
    else this.verified.delete(pid);
    // Entries of removed runtimes are never asked again: drop the expired ones once the map grows.
    if (this.verified.size > 4096) for (const [p, v] of this.verified) if (now - v.at >= this.verifyMs) this.verified.delete(p);
    return alive;
  }
}

/** Polls until the process is gone (or a zombie); false after `timeoutMs`. Short sleeps first: an init usually dies within a few ms. */
export async function waitProcessExit(pid: number | null, startTime: number | null, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let delay = 1;
  while (sameProcessAlive(pid, startTime)) {
    if (Date.now() >= deadline) return false;
    await sleep(delay);
    delay = Math.min(delay * 2, 50);
  }
  return true;
}

/**
 * Sends a signal to every process of a session (the exec'd command is a session leader, so its session holds all it
 * started, background jobs in other process groups included). Found by scanning /proc: the host sees container pids.
 */
export function killSession(sid: number, sig: NodeJS.Signals): number {
  let killed = 0;
  for (const pid of sessionMembers(sid)) {
    try {
      process.kill(pid, sig);
      killed++;
    } catch {
      // Exited meanwhile.
    }
  }
  return killed;
}

/** Pids whose session id is `sid`, read from /proc/<pid>/stat. */
export function sessionMembers(sid: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    // Fields after the command name: state ppid pgrp session ...
    const fields = procStatFields(entry);
    if (fields && Number(fields[3]) === sid) members.push(Number(entry));
  }
  return members;
}

/** The pid inside the runtime's pid namespace for a host pid (the last NSpid field), or null when it is gone. */
export function namespacePid(hostPid: number): number | null {
  try {
    const m = /^NSpid:\s+(.*)$/m.exec(readFileSync(`/proc/${hostPid}/status`, "utf8"));
    const pids = m?.[1]?.trim().split(/\s+/).map(Number);
    return pids?.length ? pids[pids.length - 1]! : null;
  } catch {
    return null;
  }
}
