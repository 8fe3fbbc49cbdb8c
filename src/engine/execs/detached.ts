/**
 * Detached execs belong to the runtime, not to the daemon: each leaves a small record next to its runc files
 * (`<runtime>/exec/<id>.exec.json`), so a daemon that restarted lists them again. Under runc exec its reaper writes
 * the command's status to a file when it ends; under the runtime's agent the agent keeps the status of the detached
 * execs it started and tells a daemon that asks (agent/client.ts agentWait). Either way an exec that ended while the
 * daemon was down reports its exit code; one whose status was lost (the host rebooted, the reaper was killed, the
 * runtime rebooted) ends as "unknown".
 */
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { procStart, sameProcessAlive } from "../proc.js";
import type { AgentExec } from "../agent/client.js";
import { parseStatusFile } from "./reaper.js";
import type { ExecCgroup } from "./cgroup.js";
import type { ExecEntry, ExecRegistry } from "./registry.js";

/** What survives a daemon restart of one detached exec. */
export interface DetachedRecord {
  id: string;
  argv: string[];
  user: string | null;
  startedAt: string;
  /** Its host pid (runc exec), or null when the runtime's agent started it. */
  hostPid: number | null;
  /** The command's start time (/proc stat): with the pid, it names the process for good. */
  startTime: number | null;
  /** Where the reaper writes its status (runc exec), or null (the agent keeps it). */
  statusFile: string | null;
  /** When its timeout kills it (ms since the epoch), or null without one; absent in records of older daemons. */
  deadline?: number | null;
  /** Started by the runtime's agent: ask the agent how it is. */
  agent?: boolean;
}

/** How often an adopted exec (no longer our child) is checked for its end. */
const ADOPTED_POLL_MS = 1000;
/** How long the agent may take to answer after a detached exec. */
const ADOPT_ANSWER_MS = 5000;
const SUFFIX = ".exec.json";

const recordPath = (dir: string, id: string) => join(dir, `${id}${SUFFIX}`);

/** Writes the record of a detached exec that just started (`statusFile` null: the runtime's agent started it). */
export async function saveDetached(dir: string, entry: ExecEntry, statusFile: string | null, deadline: number | null): Promise<void> {
  const hostPid = entry.hostPid;
  const rec: DetachedRecord = {
    id: entry.id,
    argv: entry.init.argv,
    user: entry.init.user ?? null,
    startedAt: entry.startedAt,
    hostPid,
    startTime: hostPid === null ? null : procStart(hostPid),
    statusFile,
    deadline,
    ...(statusFile === null ? { agent: true } : {}),
  };
  await writeFile(recordPath(dir, entry.id), JSON.stringify(rec), { mode: 0o600 });
}

/** Removes what a detached exec left on disk (its record and status file). */
export async function removeDetached(dir: string, id: string, statusFile?: string | null): Promise<void> {
  await Promise.all([rm(recordPath(dir, id), { force: true }), statusFile ? rm(statusFile, { force: true }) : undefined]);
}

/** The exit status a reaper left, or null. */
export async function readStatus(statusFile: string): Promise<number | null> {
  return parseStatusFile(await readFile(statusFile, "utf8").catch(() => ""));
}

/**
 * Registers the detached execs a previous daemon left in `dir` for runtime `runtimeId`: ended ones with their
 * status (or unknown), running ones watched until they end and killed at their deadline (one that passed while no
 * daemon ran: now). `cgroup` names an exec's cgroup (execs/cgroup.ts); `askAgent` reaches the runtime's agent for
 * the execs it started. Returns the records adopted.
 */
export async function adoptDetached(
  dir: string,
  runtimeId: string,
  registry: ExecRegistry,
  cgroup: (execId: string) => ExecCgroup,
  askAgent: (execId: string) => Promise<AgentExec | null>,
): Promise<DetachedRecord[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const adopted: DetachedRecord[] = [];
  for (const name of names.filter((n) => n.endsWith(SUFFIX)).sort()) {
    let rec: DetachedRecord;
    try {
      rec = JSON.parse(await readFile(join(dir, name), "utf8")) as DetachedRecord;
    } catch {
      continue;
    }
    if (registry.has(runtimeId, rec.id)) continue;
    const entry = registry.add(runtimeId, { kind: "detached", argv: rec.argv, user: rec.user ?? undefined, tty: false }, { id: rec.id, startedAt: rec.startedAt });
    entry.cgroup = cgroup(rec.id);
    entry.cleanup = () => removeDetached(dir, rec.id, rec.statusFile);
    adopted.push(rec);
    let timer: NodeJS.Timeout | undefined;
    const killAtDeadline = () => {
      if (typeof rec.deadline !== "number") return;
      timer = setTimeout(() => entry.killAll("timed_out"), Math.max(0, rec.deadline - Date.now()));
      timer.unref();
    };
    if (rec.agent) {
      const agent = await askAgent(rec.id);
      const control = agent ? await agent.started(ADOPT_ANSWER_MS) : null;
      if (!agent || !control) {
        // Ended while no daemon listened (the agent kept its status), or unknown to the agent (the runtime rebooted).
        const exit = agent && control === undefined && !agent.unknown ? await agent.exited : null;
        agent?.abandon();
        entry.ended(exit ? { code: exit.code, signal: null, oomKilled: false } : null);
        continue;
      }
      entry.started(control);
      killAtDeadline();
      void agent.exited.then((exit) => {
        clearTimeout(timer);
        entry.ended({ code: exit.code, signal: null, oomKilled: false });
      });
      continue;
    }
    const statusFile = rec.statusFile!;
    const settle = async () => {
      clearTimeout(timer);
      const code = await readStatus(statusFile);
      entry.ended(code === null ? null : { code, signal: null, oomKilled: false });
    };
    if (!sameProcessAlive(rec.hostPid, rec.startTime)) {
      await settle();
      continue;
    }
    entry.startedOnHost(rec.hostPid!);
    killAtDeadline();
    const poll = setInterval(() => {
      if (sameProcessAlive(rec.hostPid, rec.startTime) && entry.running) return;
      clearInterval(poll);
      void settle();
    }, ADOPTED_POLL_MS);
    poll.unref();
  }
  return adopted;
}

/**
 * Removes the runc files (`exec-*.json/.pid/.log/.status`) of execs a previous daemon served and will never clean up
 * (it died meanwhile), keeping those of the detached execs in `kept`.
 */
export async function removeStrayExecFiles(dir: string, kept: DetachedRecord[]): Promise<void> {
  const keep = new Set(kept.flatMap((r) => (r.statusFile ? [basename(r.statusFile).replace(/\.status$/, "")] : [])));
  const names = await readdir(dir).catch(() => [] as string[]);
  const stray = names.filter((n) => /^exec-[0-9a-f]+\.(json|pid|log|status|status\.tmp)$/.test(n) && !keep.has(n.replace(/\..*$/, "")));
  await Promise.all(stray.map((n) => rm(join(dir, n), { force: true })));
}
