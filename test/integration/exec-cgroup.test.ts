/**
 * Every exec runs in a cgroup of its own under its runtime's (engine/execs/cgroup.ts), so what it started is reached
 * wherever it went: a `setsid` escapes the command's process group and session, never its cgroup. Timeouts, `kill`
 * and a daemon that crashed (SIGKILL) and restarted on the same data dir reach every process; detached execs survive
 * the restart with their timeout; an exec that ended normally leaves its background jobs to the runtime.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "vitest";
import type { ExecInfo } from "../../src/api/index.js";
import { daemonSuite } from "../helpers/daemon-suite.js";

const d = daemonSuite().daemon;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Host pids in the runtime (pids hierarchy: exec cgroups live in the freezer's only, so this counts every process). */
function runtimeProcs(id: string): number[] {
  const text = readFileSync(`/sys/fs/cgroup/pids/${d.cgroupParent}/${id}/cgroup.procs`, "utf8");
  return text.split("\n").filter(Boolean).map(Number);
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ");
  } catch {
    return "";
  }
}

/**
 * The runtime's spare (agent/agents.ts): a held child of its agent, alone in the cgroup the daemon made for the
 * runtime's next exec. Not a process any exec started, so not counted here.
 */
const SPARE = "runta-spare";

/** Command lines of the runtime's processes other than its init and its spare. */
function commands(id: string, initPid: number): string[] {
  return runtimeProcs(id)
    .filter((p) => p !== initPid)
    .map(commandOf)
    .filter((c) => c && c !== SPARE);
}

/** Exec cgroups left under the runtime's (freezer hierarchy on this cgroup v1 host), but the spare's. */
function execCgroups(id: string): string[] {
  const dir = `/sys/fs/cgroup/freezer/${d.cgroupParent}/${id}`;
  if (!existsSync(dir)) return [];
  const spareOnly = (name: string) => {
    let procs: number[];
    try {
      procs = readFileSync(join(dir, name, "cgroup.procs"), "utf8").split("\n").filter(Boolean).map(Number);
    } catch {
      return true; // Removed since the listing: not left.
    }
    return procs.length > 0 && procs.every((p) => commandOf(p) === SPARE);
  };
  return readdirSync(dir).filter((n) => n.startsWith("exec-") && !spareOnly(n));
}

async function until<T>(what: () => Promise<T> | T, ok: (v: T) => boolean, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  let v = await what();
  while (!ok(v) && Date.now() < end) {
    await sleep(100);
    v = await what();
  }
  return v;
}

/** The runtime's init, as runc knows it. */
function initPid(id: string): number {
  return (JSON.parse(execFileSync("runc", ["--root", d.runcRoot, "state", id], { encoding: "utf8" })) as { pid: number }).pid;
}

test("a timeout kills what the command moved to a session of its own (setsid), and the exec's cgroup goes", async () => {
  const runta = d.client();
  const rt = await runta.runtimes.create("setsid-escape", { image: "busybox", memoryMiB: 64 });
  const init = initPid(rt.id);
  const out = await runta.runtimes.exec(rt.id, ["sh", "-c", "setsid sleep 301 & sleep 302"], { timeoutSecs: 2 });
  expect(out.timed_out).toBe(true);
  expect(await until(() => commands(rt.id, init), (c) => c.length === 0)).toEqual([]);
  expect(await until(() => execCgroups(rt.id), (c) => c.length === 0)).toEqual([]);
});

test("an exec that ended leaves its background jobs running, as the runtime's", async () => {
  const runta = d.client();
  const rt = await runta.runtimes.create("bg-jobs", { image: "busybox", memoryMiB: 64 });
  const init = initPid(rt.id);
  const out = await runta.runtimes.exec(rt.id, ["sh", "-c", "setsid sleep 303 & exit 0"]);
  expect(out.exit_code).toBe(0);
  expect(await until(() => execCgroups(rt.id), (c) => c.length === 0)).toEqual([]);
  expect(commands(rt.id, init)).toEqual(["sleep 303"]);
});

test("kill KILL on a detached exec reaches its setsid'd children", async () => {
  const runta = d.client();
  const rt = await runta.runtimes.create("kill-all", { image: "busybox", memoryMiB: 64 });
  const init = initPid(rt.id);
  const ex = await runta.execs.start(rt.id, ["sh", "-c", "setsid sleep 304 & sleep 305"]);
  await until(() => commands(rt.id, init), (c) => c.length === 2);
  await runta.execs.signal(rt.id, ex.id, "KILL");
  expect(await until(() => commands(rt.id, init), (c) => c.length === 0)).toEqual([]);
  const after = await until(() => runta.execs.get(rt.id, ex.id), (e: ExecInfo) => e.status === "ended");
  expect(after).toMatchObject({ status: "ended", ended_by: "killed" });
});

test("a daemon killed mid-exec: the restarted daemon kills the buffered exec it can no longer serve, and a detached exec still dies at its deadline", async () => {
  let runta = d.client();
  const rt = await runta.runtimes.create("crash-execs", { image: "busybox", memoryMiB: 64 });
  const init = initPid(rt.id);
  // The buffered exec: 5 s timeout, the daemon dies at ~2 s. Its answer never comes (the connection dies).
  const buffered = runta.runtimes.exec(rt.id, ["sh", "-c", "setsid sleep 306 & sleep 307"], { timeoutSecs: 5 }).catch((e: Error) => e);
  const detached = await runta.execs.start(rt.id, ["sh", "-c", "setsid sleep 308 & sleep 309"], { timeoutSecs: 6 });
  const kept = await runta.execs.start(rt.id, ["sleep", "310"]);
  await until(() => commands(rt.id, init), (c) => c.length === 5);
  const started = Date.now();
  await sleep(2000);
  await d.kill();
  expect(await buffered).toBeInstanceOf(Error);
  expect(commands(rt.id, init).sort()).toEqual(["sleep 306", "sleep 307", "sleep 308", "sleep 309", "sleep 310"]);
  await d.restart();
  runta = d.client();

  // At start-up, before the detached exec's deadline: the buffered exec and its setsid'd child are gone at once.
  const soon = commands(rt.id, init).sort();
  expect(Date.now() - started).toBeLessThan(6000);
  expect(soon).toEqual(["sleep 308", "sleep 309", "sleep 310"]);
  // The detached exec with a timeout dies at its deadline (6 s after it started), children included; the other stays.
  const late = await until(() => commands(rt.id, init), (c) => c.length === 1);
  expect(late).toEqual(["sleep 310"]);
  expect(await until(() => runta.execs.get(rt.id, detached.id), (e: ExecInfo) => e.status === "ended")).toMatchObject({ ended_by: "timed_out" });
  expect(await runta.execs.get(rt.id, kept.id)).toMatchObject({ status: "running" });
  expect(d.logs()).toContain("killed execs the previous daemon was serving");
  // The dead daemon's runc files of the buffered exec are gone; the detached execs' own are kept.
  const execDir = join(d.dataDir, "runtimes", rt.id, "exec");
  const names = readdirSync(execDir);
  const records = names.filter((n) => n.endsWith(".exec.json")).map((n) => JSON.parse(readFileSync(join(execDir, n), "utf8")) as { statusFile: string | null });
  expect(records).toHaveLength(2);
  // Under runc exec each has its reaper's files; the runtime's agent keeps what it needs itself (statusFile null).
  const keptBases = records.flatMap((r) => (r.statusFile ? [r.statusFile.replace(/^.*\/|\.status$/g, "")] : []));
  expect(names.filter((n) => n.startsWith("exec-") && !keptBases.includes(n.replace(/\..*$/, "")))).toEqual([]);
});
