/**
 * Inside a runtime, through the built `bin/runta` against a real daemon on the default image: the trial's commands
 * (free -m, nproc, python's os.cpu_count, /proc/uptime, df, hostname -f) give the runtime's own answers, and
 * `--hostname` names it. The engine-level detail (restarts, resize, a dead LXCFS) is in
 * test/integration/runtime-views.test.ts and engine-lxcfs.test.ts.
 */
import { expect, test } from "vitest";
import { cliSuite } from "../helpers/cli-suite.js";

const { runta } = cliSuite({ defaultImage: true });

/** `runta exec <rt> -- bash -c <line>`: its stdout, after checking it succeeded quietly. */
async function inside(rt: string, line: string): Promise<string> {
  const r = await runta(["exec", rt, "--", "bash", "-c", line]);
  expect(r.stderr, line).toBe("");
  expect(r.exitCode, line).toBe(0);
  return String(r.stdout);
}

test("a 384 MiB / 0.5-vCPU runtime: free -m, nproc, os.cpu_count() and /proc/uptime are its own", async () => {
  expect((await runta(["run", "--name", "small", "--memory", "384m", "--cpus", "0.5"])).exitCode).toBe(0);
  const out = await inside("small", "free -m | awk '/^Mem:/ {print $2}'; nproc; python3 -c 'import os; print(os.cpu_count())'; cut -d' ' -f1 /proc/uptime");
  const [mem, nproc, cpus, uptime] = out.trim().split("\n");
  expect([mem, nproc, cpus]).toEqual(["384", "1", "1"]);
  expect(Number(uptime)).toBeLessThan(60);
});

test("df shows the runtime's own disk and no host device", async () => {
  const df = await inside("small", "df -h");
  expect(df).toMatch(/^overlay\s+\S+\s+\S+\s+\S+\s+\S+\s+\/$/m);
  expect(df).not.toMatch(/\/dev\/(vd|sd|nvme|xvd|loop)|catatonit|\/etc\//);
});

test("the hostname is the name by default, --hostname sets another; hostname -f works with both", async () => {
  expect(await inside("small", "hostname; hostname -f")).toBe("small\nsmall\n");
  expect((await runta(["run", "--name", "api", "--hostname", "api.internal", "--memory", "64m"])).exitCode).toBe(0);
  expect(await inside("api", "hostname; hostname -f; hostname -s; getent hosts api.internal | awk '{print $2}'")).toBe("api.internal\napi.internal\napi\napi.internal\n");
  const [rt] = JSON.parse(String((await runta(["inspect", "api"])).stdout));
  expect(rt.hostname).toBe("api.internal");
  // Kept across shutdown and boot (the files are written again at every boot).
  expect((await runta(["shutdown", "api"])).exitCode).toBe(0);
  expect((await runta(["boot", "api"])).exitCode).toBe(0);
  expect(await inside("api", "hostname -f")).toBe("api.internal\n");
});

test("a hostname that is not one is a usage error naming the flag", async () => {
  for (const bad of ["-lead", "under_score", "a..b", "x".repeat(64)]) {
    const r = await runta(["run", "--name", "bad", "--hostname", bad]);
    expect(r.exitCode, bad).toBe(2);
    expect(String(r.stderr), bad).toMatch(/--hostname .* must be letters, digits and '-'/);
  }
});
