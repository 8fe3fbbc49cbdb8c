/**
 * Idle timeouts through the real daemon and runc: a runtime with nothing running is suspended (frozen by runc, status
 * `suspended`, pause reason `idle`) after its timeout; an exec wakes it without a resume; a running exec keeps it
 * awake and inspect says so; reads do not wake it; a daemon restart neither resets an idle runtime's clock nor
 * suspends one whose detached exec still runs.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { expect, test } from "vitest";
import { daemonSuite } from "../helpers/daemon-suite.js";

const execFileAsync = promisify(execFile);
const d = daemonSuite().daemon;

const get = async (name: string) => (await d.client().runtimes.get(name, { usage: false })).info;
const statusOf = async (name: string) => (await get(name)).status;

async function runcStatus(id: string): Promise<string> {
  const { stdout } = await execFileAsync("runc", ["--root", d.runcRoot, "state", id]);
  return (JSON.parse(stdout) as { status: string }).status;
}

async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${d.endpoint}${path}`, {
    method,
    headers: { Authorization: `Bearer ${d.token}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

const SUSPENDED = { timeout: 20_000, interval: 250 };

test("idle for its timeout it is suspended (frozen, reason idle); inspect does not wake it; an exec does, without a resume", async () => {
  const runta = d.client();
  const rt = await runta.runtimes.create("sleepy", { image: "busybox", memoryMiB: 64, network: "none", idleTimeoutSecs: 5 });
  expect(rt.info.idle_timeout_secs).toBe(5);
  expect(rt.info.idle).toMatchObject({ timeout_secs: 5, active: { execs: 0, terminals: 0, ingress: 0, egress: 0 }, awake_because: null });
  expect(rt.info.idle!.suspends_at).not.toBeNull();
  await rt.exec("echo kept > /state");

  await expect.poll(() => statusOf("sleepy"), SUSPENDED).toBe("suspended");
  expect(await runcStatus(rt.id)).toBe("paused");
  const frozen = await get("sleepy");
  expect(frozen.pause_reason).toBe("idle");
  expect(frozen.idle).toMatchObject({ suspends_at: null, awake_because: null });
  // Reading calls leave it frozen.
  await runta.runtimes.list();
  await runta.runtimes.get("sleepy");
  expect(await runcStatus(rt.id)).toBe("paused");

  const out = await runta.runtimes.exec("sleepy", "cat /state");
  expect(out.stdoutText).toBe("kept\n");
  const woke = await get("sleepy");
  expect(woke.status).toBe("running");
  expect(woke.pause_reason).toBeNull();
  expect(woke.idle!.suspends_at).not.toBeNull();
  expect(["exec", "resume"]).toContain(woke.idle!.last_activity);
  expect(await runcStatus(rt.id)).toBe("running");
  await runta.runtimes.delete("sleepy");
}, 90_000);

test("a running exec keeps it awake and inspect says why; once it ends the runtime suspends; a flood of execs wakes it once", async () => {
  const runta = d.client();
  await runta.runtimes.create("busy", { image: "busybox", memoryMiB: 64, network: "none", idleTimeoutSecs: 5 });
  const job = await runta.execs.start("busy", ["sleep", "600"]);
  // Well past the timeout, it is still running: the exec is activity.
  await new Promise((r) => setTimeout(r, 8000));
  const info = await get("busy");
  expect(info.status).toBe("running");
  expect(info.idle).toMatchObject({ active: { execs: 1 }, awake_because: "1 exec running", suspends_at: null });

  await runta.execs.signal("busy", job.id, "KILL");
  await expect.poll(() => statusOf("busy"), SUSPENDED).toBe("suspended");

  const results = await Promise.all(Array.from({ length: 12 }, (_, i) => runta.runtimes.exec("busy", `echo ${i}`)));
  expect(results.map((r) => r.stdoutText)).toEqual(Array.from({ length: 12 }, (_, i) => `${i}\n`));
  expect(d.logs().split("\n").filter((l) => l.includes("woke a suspended runtime") && l.includes('"name":"busy"'))).toHaveLength(1);
  await runta.runtimes.delete("busy");
}, 90_000);

test("a user's pause is not woken by an exec; resume, shutdown and rm work on a suspended runtime; PATCH sets and clears the timeout", async () => {
  const runta = d.client();
  await runta.runtimes.create("frozen", { image: "busybox", memoryMiB: 64, network: "none" });
  expect((await get("frozen")).idle).toBeNull();

  const tooShort = await api("PATCH", "/v1/runtimes/frozen", { idle_timeout_secs: 2 });
  expect(tooShort.status).toBeGreaterThanOrEqual(400);
  expect(tooShort.json.error.message).toMatch(/idle_timeout_secs.*between 5 and 604800/);
  const set = await api("PATCH", "/v1/runtimes/frozen", { idle_timeout_secs: 5 });
  expect(set.status).toBe(200);
  expect(set.json.data.idle).toMatchObject({ timeout_secs: 5, last_activity: "settings" });

  await runta.runtimes.pause("frozen");
  expect((await get("frozen")).pause_reason).toBe("user");
  await expect(runta.runtimes.exec("frozen", "true")).rejects.toMatchObject({ code: "failed_precondition" });
  await runta.runtimes.resume("frozen");

  await expect.poll(() => statusOf("frozen"), SUSPENDED).toBe("suspended");
  expect((await runta.runtimes.resume("frozen")).status).toBe("running");
  await expect.poll(() => statusOf("frozen"), SUSPENDED).toBe("suspended");
  expect((await runta.runtimes.stop("frozen", { graceSecs: 1 })).status).toBe("shutdown");
  expect((await runta.runtimes.start("frozen")).status).toBe("running");
  await expect.poll(() => statusOf("frozen"), SUSPENDED).toBe("suspended");

  const cleared = await api("PATCH", "/v1/runtimes/frozen", { idle_timeout_secs: null });
  expect(cleared.json.data).toMatchObject({ idle_timeout_secs: null, idle: null, status: "suspended" });
  expect((await runta.runtimes.delete("frozen")).name).toBe("frozen");
}, 120_000);

test("a daemon restart neither resets an idle runtime's clock nor suspends one whose detached exec still runs", async () => {
  const runta = d.client();
  await runta.runtimes.create("quiet", { image: "busybox", memoryMiB: 64, network: "none", idleTimeoutSecs: 8 });
  await runta.runtimes.create("worker", { image: "busybox", memoryMiB: 64, network: "none", idleTimeoutSecs: 8 });
  await runta.execs.start("worker", ["sleep", "600"]);
  // Let the daemon write both runtimes' last activity (its first look), then crash it.
  await new Promise((r) => setTimeout(r, 2000));
  const killedAt = Date.now();
  await d.kill();
  await new Promise((r) => setTimeout(r, 8000));
  await d.restart();
  // The clock ran on from before the restart (the last activity is the one written before the crash)...
  expect(Date.parse((await get("quiet")).last_activity_at!)).toBeLessThan(killedAt);
  await expect.poll(() => statusOf("quiet"), SUSPENDED).toBe("suspended");
  await new Promise((r) => setTimeout(r, 3000));
  const worker = await get("worker");
  expect(worker.status).toBe("running");
  expect(worker.idle).toMatchObject({ active: { execs: 1 }, awake_because: "1 exec running" });
  await d.client().runtimes.delete("quiet");
  await d.client().runtimes.delete("worker");
}, 120_000);

test("a terminal session keeps it awake while attached (inspect counts it); the websocket of exec -it wakes a suspended runtime", async () => {
  const runta = d.client();
  const rt = await runta.runtimes.create("shell", { image: "busybox", memoryMiB: 64, network: "none", idleTimeoutSecs: 5 });
  await expect.poll(() => statusOf("shell"), SUSPENDED).toBe("suspended");
  const term = rt.execStream("sh", { tty: true, rows: 24, cols: 80 });
  let out = "";
  term.on("stdout", (b) => (out += b.toString()));
  term.write("echo $((6*7))\n");
  await expect.poll(() => out, { timeout: 15_000 }).toContain("42");
  await new Promise((r) => setTimeout(r, 7000));
  const info = await get("shell");
  expect(info.status).toBe("running");
  expect(info.idle).toMatchObject({ active: { execs: 1, terminals: 1 }, awake_because: "1 exec running (1 attached terminal)", suspends_at: null });
  term.write("exit\n");
  expect((await term.wait()).code).toBe(0);
  await expect.poll(() => statusOf("shell"), SUSPENDED).toBe("suspended");
  await runta.runtimes.delete("shell");
}, 90_000);

test("cp, a checkpoint and a resize work on a suspended runtime and leave it suspended", async () => {
  const runta = d.client();
  const rt = await runta.runtimes.create("cold", { image: "busybox", memoryMiB: 64, network: "none", idleTimeoutSecs: 5 });
  await expect.poll(() => statusOf("cold"), SUSPENDED).toBe("suspended");
  await rt.files.write("/note", "written while suspended\n");
  expect((await rt.files.read("/note")).toString()).toBe("written while suspended\n");
  const cp = await runta.runtimes.checkpoint("cold", "cold-cp");
  expect(cp.state).toBe("ready");
  expect((await runta.runtimes.resize("cold", { memoryMiB: 96 })).resources.requests.memory_mib).toBe(96);
  expect(await runcStatus(rt.id)).toBe("paused");
  expect(await statusOf("cold")).toBe("suspended");
  expect((await runta.runtimes.exec("cold", "cat /note")).stdoutText).toBe("written while suspended\n");
  await runta.runtimes.delete("cold");
  await runta.checkpoints.remove("cold-cp");
}, 90_000);

test("seed 004's config.lifecycle.idleTimeoutMinutes is the idle timeout in minutes; seed 002's secret_ids is refused saying what to do, creating nothing", async () => {
  const body = { name: "seed-idle", image: "busybox", network: "none", resources: { requests: { memory_mib: 64 } } };
  const created = await api("POST", "/v1/runtimes", { ...body, config: { lifecycle: { idleTimeoutMinutes: 2 } } });
  expect(created.status).toBe(201);
  expect(created.json.data).toMatchObject({ idle_timeout_secs: 120, idle: { timeout_secs: 120 } });
  expect((await get("seed-idle")).idle_timeout_secs).toBe(120);
  const both = await api("POST", "/v1/runtimes", { ...body, name: "seed-both", idle_timeout_secs: 60, config: { lifecycle: { idleTimeoutMinutes: 2 } } });
  expect(both.status).toBe(400);
  expect(both.json.error).toMatchObject({ code: "invalid_argument", details: { field: "config.lifecycle.idleTimeoutMinutes" } });
  for (const refused of [{ secret_ids: ["2489E9AD-2EE2-8E00-8EC9-32D5F69181C0"] }, { config: { secrets: { secret_ids: ["2489E9AD-2EE2-8E00-8EC9-32D5F69181C0"] } } }]) {
    const res = await api("POST", "/v1/runtimes", { ...body, name: "seed-secrets", ...refused });
    expect(res.status).toBe(400);
    expect(res.json.error.message).toMatch(/secret_ids: runta does not attach secrets to a runtime.*runta secret rule set RUNTIME/);
  }
  const names = (await d.client().runtimes.list()).map((r) => r.name);
  expect(names).toContain("seed-idle");
  expect(names).not.toContain("seed-both");
  expect(names).not.toContain("seed-secrets");
  await d.client().runtimes.delete("seed-idle");
}, 60_000);
