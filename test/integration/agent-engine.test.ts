/**
 * The exec agent as the init of real runtimes (real runc, namespaces, cgroups): execs go through it with the
 * isolation of `runc exec`, its socket is out of the runtime's reach, a runtime booted before it (catatonit) keeps
 * working through `runc exec`, and a hung agent puts its runtime on `runc exec`, logged.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
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
