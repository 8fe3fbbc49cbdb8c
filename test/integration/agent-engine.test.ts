/**
 * The exec agent as the init of real runtimes (real runc, namespaces, cgroups): execs go through it with the
 * isolation of `runc exec`, its socket is out of the runtime's reach, a runtime booted before it (catatonit) keeps
 * working through `runc exec`, and a hung agent puts its runtime on `runc exec`, logged.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, expect, test } from "vitest";
import { RuncEngine } from "../../src/engine/runc-engine.js";
import { agentSocketPath } from "../../src/engine/agent/agents.js";
import { engineSuite } from "../helpers/engine-env.js";

const suite = engineSuite();

async function sh(rt: string, line: string, user?: string): Promise<string> {
  const r = await suite.engine.exec(rt, { argv: ["sh", "-c", line], user });
  expect(r.exit_code, `${line}: ${r.stderr}`).toBe(0);
  return r.stdout.trim();
}

const record = (name: string) => suite.engine.store.all().find((r) => r.name === name)!;
/** An exec's parent: 1 when the agent (PID 1) started it, 0 under runc exec (its parent is outside the runtime). */
const parentOfExec = (rt: string) => sh(rt, "awk '/^PPid/ {print $2}' /proc/self/status");

beforeAll(async () => {
  await suite.engine.create({ name: "ag", image: "busybox", memoryMib: 64 });
});

test("the agent is PID 1 and starts execs as its children, in the runtime's namespaces and cgroup, with exec's limits", async () => {
  expect(await sh("ag", "tr '\\0' ' ' < /proc/1/cmdline")).toBe("/.runta/runta-agent");
  expect(await parentOfExec("ag")).toBe("1");
  // The runtime's cgroups, at the root of its cgroup namespace, and in the freezer hierarchy the exec's own cgroup
  // below it (execs/cgroup.ts), which the daemon put it in before it ran anything.
  const cgroups = await sh("ag", "cat /proc/self/cgroup");
  expect(cgroups).toMatch(/:freezer:\/exec-[0-9a-f]{12}$/m);
  expect(new Set(cgroups.split("\n").filter((l) => !l.includes(":freezer:")).map((l) => l.split(":")[2]))).toEqual(new Set(["/"]));
  const status = await sh("ag", "cat /proc/self/status");
  expect(status).toMatch(/^Seccomp:\s+2$/m);
  expect(status).toMatch(/^NoNewPrivs:\s+1$/m);
  expect(status).toMatch(/^CapInh:\s+0+$/m);
  expect(status).toMatch(/^CapAmb:\s+0+$/m);
  const caps = (s: string, k: string) => new RegExp(`^${k}:\\s+([0-9a-f]+)$`, "m").exec(s)![1];
  expect(caps(status, "CapEff")).toBe(caps(status, "CapBnd"));
  const nobody = await sh("ag", "cat /proc/self/status; id -u; id -g", "nobody");
  expect(caps(nobody, "CapEff")).toBe("0000000000000000");
  expect(caps(nobody, "CapPrm")).toBe("0000000000000000");
  expect(caps(nobody, "CapBnd")).toBe(caps(status, "CapBnd"));
  expect(nobody.split("\n").slice(-2)).toEqual(["65534", "65534"]);
  // A session and process group of its own, as runc exec gives.
  expect(await sh("ag", "awk '{print ($1 == $5 && $5 == $6)}' /proc/$$/stat")).toBe("1");
  const limits = await sh("ag", "ulimit -n");
  expect(Number(limits)).toBeGreaterThan(1024);
});

/** The runtime's spare (agent/agents.ts), seen from the host: its host pid and the freezer cgroup it waits in. */
async function spareOf(name: string): Promise<{ pid: number; cgroup: string } | null> {
  const rec = record(name);
  for (let i = 0; i < 100; i++) {
    const procs = readFileSync(`/sys/fs/cgroup/pids/${suite.env.cgroupParent}/${rec.id}/cgroup.procs`, "utf8").split("\n").filter(Boolean).map(Number);
    for (const pid of procs) {
      let cmdline = "";
      let cgroups = "";
      try {
        cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").replace(/\0+$/, "");
        cgroups = readFileSync(`/proc/${pid}/cgroup`, "utf8");
      } catch {
        continue;
      }
      const freezer = /:freezer:(.*)$/m.exec(cgroups)?.[1] ?? "";
      // Ready once the daemon moved it into the next exec's cgroup (the agent is told so just after).
      if (cmdline === "runta-spare" && /\/exec-[0-9a-f]{12}$/.test(freezer)) return { pid, cgroup: freezer.replace(/^.*\//, "") };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return null;
}

test("after an exec a spare waits in the next exec's own cgroup; that exec takes it, and one killed meanwhile costs a fresh fork", async () => {
  await sh("ag", "true");
  const spare = await spareOf("ag");
  expect(spare, "a spare after an exec").not.toBeNull();
  // It is ready once the daemon has told the agent it is placed, a moment after the move (later under load): an exec
  // before that forks afresh, and the spare waits for the next one.
  let took = await suite.engine.exec("ag", { argv: ["sh", "-c", "echo $$; cat /proc/self/cgroup"] });
  for (let i = 0; i < 20 && `exec-${took.exec_id}` !== spare!.cgroup; i++) {
    await new Promise((r) => setTimeout(r, 250));
    took = await suite.engine.exec("ag", { argv: ["sh", "-c", "echo $$; cat /proc/self/cgroup"] });
  }
  expect(took.exit_code).toBe(0);
  // The exec is the spare itself, as its own exec id names the cgroup the spare waited in.
  expect(`exec-${took.exec_id}`).toBe(spare!.cgroup);
  expect(took.stdout).toMatch(new RegExp(`:freezer:/${spare!.cgroup}$`, "m"));
  // A spare that dies before it is used (the runtime's root killed it, or the OOM killer did): the next exec still
  // runs, forked afresh and held until the daemon moved it into that exec's cgroup.
  const next = await spareOf("ag");
  expect(next).not.toBeNull();
  process.kill(next!.pid, "SIGKILL");
  const fresh = await suite.engine.exec("ag", { argv: ["sh", "-c", "cat /proc/self/cgroup"] });
  expect(fresh.exit_code).toBe(0);
  expect(fresh.stdout).toMatch(new RegExp(`:freezer:/exec-${fresh.exec_id}$`, "m"));
  expect(await parentOfExec("ag")).toBe("1");
});

test("a runtime's processes cannot reach the agent's socket: not in its filesystem, not through /proc/1, not by ptrace", async () => {
  const rec = record("ag");
  const socket = agentSocketPath(join(suite.env.dataDir, "runtimes", rec.id));
  expect(existsSync(socket)).toBe(true);
  expect(await sh("ag", "find / -xdev -type s 2>/dev/null | wc -l")).toBe("0");
  expect(await sh("ag", "ls -A /.runta")).toBe("runta-agent");
  // The agent is not dumpable: its fds cannot be opened or even read as links.
  const fd = await suite.engine.exec("ag", { argv: ["sh", "-c", "cat /proc/1/fd/3; readlink /proc/1/fd/3"] });
  expect(fd.exit_code).not.toBe(0);
  expect(fd.stderr).toMatch(/Permission denied|No such device/);
  const mem = await suite.engine.exec("ag", { argv: ["sh", "-c", "head -c1 /proc/1/mem"] });
  expect(mem.exit_code).not.toBe(0);
});

test("a process of the runtime that gets hold of the socket is refused, and nothing is started", async () => {
  const rec = record("ag");
  const socket = agentSocketPath(join(suite.env.dataDir, "runtimes", rec.id));
  // Join the runtime's pid namespace (keeping the host's mounts, so the socket is in reach) and ask for a spawn.
  const spawnFrame = "Buffer.concat([Buffer.from([16,0,0,0,p.length]),p])";
  const payload = `const p=Buffer.from("a=touch\\0a=/tmp/escaped\\0e=PATH=/bin\\0c=/\\0");`;
  // The spawn goes out once the agent has spoken (or after a second): the refusal comes first, at accept.
  const client =
    `${payload}const s=require("net").connect(${JSON.stringify(socket)});let b=Buffer.alloc(0);` +
    `const ask=()=>s.write(${spawnFrame},()=>{});const t=setTimeout(ask,1000);` +
    `s.on("data",d=>{b=Buffer.concat([b,d]);clearTimeout(t);ask()});s.on("error",()=>{});s.on("close",()=>process.stdout.write(b.subarray(5).toString()))`;
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn("nsenter", ["--target", String(rec.initPid), "--pid", "--", process.execPath, "-e", client], { stdio: ["ignore", "pipe", "pipe"] });
    let text = "";
    child.stdout.on("data", (d: Buffer) => (text += d));
    child.on("error", reject);
    child.on("close", () => resolve(text));
  });
  expect(out).toMatch(/refused: only the runta daemon/);
  expect(await sh("ag", "ls /tmp/escaped 2>&1 || true")).toMatch(/No such file/);
});

test("a runtime booted with catatonit (before the agent, or with it off) is exec'd into by runc exec", async () => {
  await suite.close();
  const old = await RuncEngine.open({ ...suite.env, logger: suite.logger, execAgent: null });
  try {
    await old.create({ name: "old", image: "busybox", memoryMib: 64 });
  } finally {
    await old.close();
  }
  await suite.open();
  expect(await sh("old", "tr '\\0' ' ' < /proc/1/cmdline")).toBe("/.runta/catatonit -P");
  expect(await parentOfExec("old")).toBe("0");
  expect(existsSync(agentSocketPath(join(suite.env.dataDir, "runtimes", record("old").id)))).toBe(false);
  // Its next boot brings the agent in.
  await suite.engine.stop("old", { graceSecs: 0 });
  await suite.engine.start("old");
  expect(await parentOfExec("old")).toBe("1");
});

test("an agent that does not answer puts its runtime on runc exec until it boots again, and the log says so", async () => {
  const rec = record("ag");
  process.kill(rec.initPid!, "SIGSTOP");
  try {
    expect(await parentOfExec("ag")).toBe("0");
  } finally {
    process.kill(rec.initPid!, "SIGCONT");
  }
  expect(suite.logs.join("\n")).toMatch(/exec agent of runtime "ag" is unusable \(it did not answer within 5 s\); its execs fall back to runc exec/);
  expect(await parentOfExec("ag")).toBe("0");
  await suite.engine.stop("ag", { graceSecs: 0 });
  await suite.engine.start("ag");
  expect(await parentOfExec("ag")).toBe("1");
});
