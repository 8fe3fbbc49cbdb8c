/** The runc wrapper and the cgroup reader against fakes: a shell script standing in for runc, a directory for /sys/fs/cgroup. */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { RuntaError } from "../../src/api/index.js";
import { RuntimeCgroup, childCgroups, keyedValue, removeCgroupDirs } from "../../src/engine/cgroups.js";
import { RuncError, classifyExecFailure, execveFailure } from "../../src/engine/runc-failures.js";
import { Runc } from "../../src/engine/runc.js";
import { Bounded, SpawnTurns } from "../../src/engine/spawn-turns.js";

let dir: string;
let fake: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "runta-fake-runc-"));
  fake = join(dir, "runc");
  // Records its argv, then behaves per verb like runc 1.1 with --log-format json.
  writeFileSync(
    fake,
    `#!/bin/sh
echo "$@" >> ${dir}/calls
case "$*" in
  *" state missing"*) echo '{"level":"error","msg":"container does not exist","time":"t"}' >&2; exit 1 ;;
  *" state "*) echo '{"id":"c1","pid":42,"status":"running","bundle":"/b","rootfs":"/r"}' ;;
  *" list "*) echo 'null' ;;
  *" delete stuck"*) echo $$ > ${dir}/stuck.pid; exec sleep 600 ;;
  *" delete "*) echo '{"level":"error","msg":"container not running","time":"t"}' >&2; exit 1 ;;
  *" run "*) log=$(echo "$*" | sed -n 's/.*--log \\([^ ]*\\).*/\\1/p'); echo '{"level":"error","msg":"container_linux.go: starting container process caused: boom","time":"t"}' > "$log"; exit 1 ;;
esac
exit 0
`,
  );
  chmodSync(fake, 0o755);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("every call uses the private root and JSON logs", async () => {
  const runc = new Runc({ path: fake, root: "/run/x", logDir: dir });
  await runc.kill("c1", "TERM", { all: true });
  await runc.update("c1", { memoryBytes: 1024, cpuQuota: 50000, cpuPeriod: 100000 });
  const calls = readFileSync(join(dir, "calls"), "utf8").trim().split("\n");
  expect(calls[0]).toBe("--root /run/x --log-format json kill --all c1 TERM");
  expect(calls[1]).toBe("--root /run/x --log-format json update --memory 1024 --memory-swap 1024 --cpu-quota 50000 --cpu-period 100000 c1");
});

test("state parses runc's JSON, and a missing container is null rather than an error", async () => {
  const runc = new Runc({ path: fake, root: "/run/x", logDir: dir });
  expect(await runc.state("c1")).toEqual({ id: "c1", pid: 42, status: "running", bundle: "/b" });
  expect(await runc.state("missing")).toBeNull();
  expect(await runc.list()).toEqual([]);
});

test("a failure carries runc's own message", async () => {
  const runc = new Runc({ path: fake, root: "/run/x", logDir: dir });
  const err = await runc.delete("c1").catch((e: unknown) => e);
  expect(err).toBeInstanceOf(RuncError);
  expect((err as RuncError).runcMessage).toBe("container not running");
  expect((err as RuncError).message).toBe("runc delete failed: container not running");
});

test("a detached run reads the error from its per-call log file and removes the file", async () => {
  const runc = new Runc({ path: fake, root: "/run/x", logDir: dir });
  const err = await runc.run("c9", "/bundle", "/pid").catch((e: unknown) => e);
  expect((err as RuncError).runcMessage).toMatch(/starting container process caused: boom/);
  expect(readFileSync(join(dir, "calls"), "utf8")).toMatch(/run -d --pid-file \/pid -b \/bundle c9/);
  expect(readdirSync(dir).filter((f) => f.endsWith(".log"))).toEqual([]);
});

test("a missing runc binary is unavailable with the fix", async () => {
  const runc = new Runc({ path: join(dir, "nope"), root: "/run/x" });
  const err = await runc.delete("c1").catch((e: unknown) => e);
  expect(err).toBeInstanceOf(RuntaError);
  expect((err as RuntaError).code).toBe("unavailable");
  expect((err as RuntaError).message).toMatch(/was not found.*apt-get install runc/);
});

test("cgroup v1: usage, limits and the OOM counter come from the controller files", async () => {
  const root = mkdtempSync(join(tmpdir(), "runta-fake-cg-"));
  const put = (ctrl: string, file: string, value: string) => {
    mkdirSync(join(root, ctrl, "p", "id1"), { recursive: true });
    writeFileSync(join(root, ctrl, "p", "id1", file), value + "\n");
  };
  put("memory", "memory.usage_in_bytes", "1000");
  put("memory", "memory.limit_in_bytes", "67108864");
  put("memory", "memory.memsw.limit_in_bytes", "67108864");
  put("memory", "memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 3");
  put("cpuacct", "cpuacct.usage", "5000");
  put("cpu", "cpu.cfs_quota_us", "20000");
  put("cpu", "cpu.cfs_period_us", "100000");
  put("pids", "pids.current", "4");
  const cg = new RuntimeCgroup("p", "id1", root);
  expect(cg.v2).toBe(false);
  expect(await cg.usage()).toEqual({ memoryBytes: 1000, memoryLimitBytes: 67108864, cpuUsageNs: 5000, pids: 4 });
  expect(await cg.limits()).toEqual({ memoryBytes: 67108864, memswBytes: 67108864, cpuQuota: 20000, cpuPeriod: 100000 });
  expect(await cg.oomKills()).toBe(3);
  expect(childCgroups("p", root)).toEqual(["id1"]);
  rmSync(root, { recursive: true, force: true });
});

test("cgroup v2: usage and limits come from the unified files", async () => {
  const root = mkdtempSync(join(tmpdir(), "runta-fake-cg2-"));
  writeFileSync(join(root, "cgroup.controllers"), "cpu memory pids\n");
  const d = join(root, "p", "id1");
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, "memory.current"), "2048\n");
  writeFileSync(join(d, "memory.max"), "1048576\n");
  writeFileSync(join(d, "memory.swap.max"), "0\n");
  writeFileSync(join(d, "cpu.stat"), "usage_usec 7\nuser_usec 5\n");
  writeFileSync(join(d, "cpu.max"), "50000 100000\n");
  writeFileSync(join(d, "pids.current"), "2\n");
  writeFileSync(join(d, "memory.events"), "low 0\nhigh 0\nmax 1\noom 1\noom_kill 1\n");
  const cg = new RuntimeCgroup("p", "id1", root);
  expect(cg.v2).toBe(true);
  expect(await cg.usage()).toEqual({ memoryBytes: 2048, memoryLimitBytes: 1048576, cpuUsageNs: 7000, pids: 2 });
  expect(await cg.limits()).toEqual({ memoryBytes: 1048576, memswBytes: 1048576, cpuQuota: 50000, cpuPeriod: 100000 });
  expect(await cg.oomKills()).toBe(1);
  rmSync(root, { recursive: true, force: true });
});

test("keyedValue reads flat-keyed cgroup files", () => {
  expect(keyedValue("a 1\noom_kill 12\n", "oom_kill")).toBe(12);
  expect(keyedValue("a 1\n", "oom_kill")).toBeUndefined();
});

test("removeCgroupDirs reports directories it could not remove", async () => {
  const root = mkdtempSync(join(tmpdir(), "runta-fake-cg3-"));
  mkdirSync(join(root, "memory", "p", "gone"), { recursive: true });
  expect(await removeCgroupDirs("p/gone", root)).toEqual([]);
  mkdirSync(join(root, "memory", "p", "full"), { recursive: true });
  writeFileSync(join(root, "memory", "p", "full", "tasks"), "1\n"); // a plain dir with a file: rmdir fails like a busy cgroup
  expect(await removeCgroupDirs("p/full", root)).toEqual([join(root, "memory", "p", "full")]);
  rmSync(root, { recursive: true, force: true });
});

test("a bare program name is resolved to an absolute path (sbin included), so child processes do not depend on PATH", async () => {
  const { resolveExecutable } = await import("../../src/engine/host.js");
  expect(resolveExecutable("sh")).toMatch(/^\/.*\/sh$/);
  expect(resolveExecutable("/opt/custom/runc")).toBe("/opt/custom/runc");
  expect(resolveExecutable("no-such-program-xyz")).toBe("no-such-program-xyz");
});

test("a runc call that hangs is killed at its deadline with a clear error, and the next call runs (issue 21, item 4)", async () => {
  const runc = new Runc({ path: fake, root: "/run/x", logDir: dir, callTimeoutMs: 300 });
  const started = Date.now();
  const err = await runc.delete("stuck").catch((e: unknown) => e);
  expect(Date.now() - started).toBeLessThan(3000);
  expect(err).toBeInstanceOf(RuntaError);
  expect(err).toMatchObject({ code: "deadline_exceeded", details: { runc_verb: "delete", timeout_secs: 0.3 } });
  expect((err as Error).message).toMatch(/^runc delete did not finish within 0.3 s and was killed/);
  // The hanging fake was killed, not left behind.
  const pid = Number(readFileSync(join(dir, "stuck.pid"), "utf8"));
  await new Promise((r) => setTimeout(r, 100));
  expect(() => process.kill(pid, 0)).toThrow();
  expect(await runc.state("c1")).toMatchObject({ status: "running" });
});

test("exec racing stop or pause is a failed_precondition naming the state, never internal (issue 21, item 8)", () => {
  const stopped = classifyExecFailure("cannot exec in a stopped container", 'runtime "web"');
  expect(stopped).toMatchObject({ code: "failed_precondition", message: 'runtime "web" is not running; start it before exec' });
  const paused = classifyExecFailure("cannot exec in a paused container (use --ignore-paused to override)", 'runtime "web"');
  expect(paused).toMatchObject({ code: "failed_precondition", message: 'runtime "web" is paused; resume it before exec' });
});

test("spawn turns hand out one turn per event-loop iteration, in order (issue 21, item 5)", async () => {
  const turns = new SpawnTurns();
  const order: number[] = [];
  const all = Array.from({ length: 5 }, (_, i) => turns.next().then(() => order.push(i)));
  // Each iteration polls I/O before the next turn: after one immediate, at most one turn was given.
  await new Promise((r) => setImmediate(r));
  expect(turns.given).toBeLessThanOrEqual(1);
  await Promise.all(all);
  expect(order).toEqual([0, 1, 2, 3, 4]);
});

test("bounded starts run at most max tasks at once, the rest in arrival order, failures included (issue 21, item 5)", async () => {
  const bounded = new Bounded(2);
  let now = 0;
  let peak = 0;
  const order: number[] = [];
  const task = (i: number) =>
    bounded.run(async () => {
      peak = Math.max(peak, ++now);
      order.push(i);
      await new Promise((r) => setTimeout(r, 10));
      now--;
      if (i === 1) throw new Error("boom");
      return i;
    });
  const results = await Promise.allSettled([0, 1, 2, 3, 4].map(task));
  expect(peak).toBe(2);
  expect(order).toEqual([0, 1, 2, 3, 4]);
  expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled", "fulfilled", "fulfilled"]);
});

describe("execveFailure", () => {
  test("reads runc init's line about an execve that failed after the start as 126/127", () => {
    expect(execveFailure(1, "exec /bad: exec format error\n")).toEqual({ exitCode: 126, message: "/bad: exec format error" });
    expect(execveFailure(1, "exec /usr/bin/echo: argument list too long\n")).toEqual({ exitCode: 126, message: "/usr/bin/echo: argument list too long" });
    expect(execveFailure(1, "exec /script: no such file or directory\r\n")).toMatchObject({ exitCode: 127 });
  });
  test("leaves a command's own output and status alone", () => {
    expect(execveFailure(2, "exec /bad: exec format error\n")).toBeNull();
    expect(execveFailure(1, "hello\nexec /bad: exec format error\n")).toBeNull();
    expect(execveFailure(1, "exec /bad: something else\n")).toBeNull();
  });
});
