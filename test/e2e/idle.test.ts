/**
 * Idle timeouts through the built `bin/runta` against a real daemon: `run --idle-timeout`, `ps` showing `suspended`
 * apart from `paused`, `inspect`'s idle object, `exec` waking a suspended runtime, `update --idle-timeout`, apply files.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "vitest";
import { cliSuite } from "../helpers/cli-suite.js";

const suite = cliSuite();
const { runta, ok, inspect } = suite;

/** The STATUS column of a runtime's row in `ps` (a pipe: tab-separated). */
const psStatus = async (name: string, all = false) =>
  (await ok(all ? ["ps", "-a"] : ["ps"]))
    .split("\n")
    .map((l) => l.split("\t"))
    .find((cols) => cols[1] === name)?.[3];

test("run --idle-timeout 5: ps shows it suspended (not paused) and inspect says why; runta exec wakes it; a user's pause stays paused", async () => {
  await ok(["run", "--name", "web", "--image", "busybox", "--memory", "64m", "--network", "none", "--idle-timeout", "5"]);
  await ok(["run", "--name", "held", "--image", "busybox", "--memory", "64m", "--network", "none", "--idle-timeout", "5"]);
  const rt = await inspect("web");
  expect(rt.idle_timeout_secs).toBe(5);
  expect(rt.idle).toMatchObject({ timeout_secs: 5, last_activity: "start", awake_because: null });
  expect(Date.parse(rt.idle.suspends_at)).toBeGreaterThan(Date.parse(rt.started_at));

  await ok(["pause", "held"]);
  await expect.poll(() => psStatus("web"), { timeout: 20_000, interval: 300 }).toBe("suspended");
  expect(await psStatus("held")).toBe("paused");
  const frozen = await inspect("web");
  expect(frozen).toMatchObject({ status: "suspended", pause_reason: "idle", idle: { suspends_at: null } });
  expect((await inspect("held")).pause_reason).toBe("user");

  expect(await ok(["exec", "web", "--", "echo", "awake"])).toBe("awake\n");
  expect((await inspect("web")).status).toBe("running");
  const refused = await runta(["exec", "held", "--", "true"]);
  expect(refused.exitCode).not.toBe(0);
  expect(String(refused.stderr)).toMatch(/paused.*runta resume held/);
}, 120_000);

test("update --idle-timeout sets, 0 and none remove; a timeout below 5 s is a usage error that says the range", async () => {
  await ok(["run", "--name", "svc", "--image", "busybox", "--memory", "64m", "--network", "none"]);
  expect((await inspect("svc")).idle).toBeNull();
  expect(await ok(["update", "--idle-timeout", "600", "svc"])).toMatch(/^svc: idle timeout 600s; suspends at \S+ if nothing happens\n$/);
  expect((await inspect("svc")).idle).toMatchObject({ timeout_secs: 600, last_activity: "settings" });
  expect(await ok(["update", "--idle-timeout", "0", "svc"])).toBe("svc: idle timeout removed\n");
  await ok(["update", "--idle-timeout", "60", "svc"]);
  expect(await ok(["update", "--idle-timeout", "none", "svc"])).toBe("svc: idle timeout removed\n");

  for (const args of [["run", "--name", "x", "--idle-timeout", "2"], ["update", "--idle-timeout", "3", "svc"], ["update", "--idle-timeout", "soon", "svc"]]) {
    const r = await runta(args);
    expect(r.exitCode, args.join(" ")).toBe(2);
    expect(String(r.stderr)).toMatch(/--idle-timeout must be a whole number of seconds between 5 and 604800/);
  }
  expect(String((await runta(["ps", "-a", "-q"])).stdout)).not.toContain("x\n");
}, 60_000);

test("apply files carry idle_timeout_secs at create and note a different one on an existing runtime", async () => {
  const file = join(suite.home, "set.json");
  writeFileSync(file, JSON.stringify({ apiVersion: "runta/v1", kind: "SandboxSet", sandboxes: [{ name: "filed", image: "busybox", resources: { memory_mib: 64 }, idle_timeout_secs: 300 }] }));
  await ok(["apply", "-f", file]);
  expect((await inspect("filed")).idle_timeout_secs).toBe(300);
  writeFileSync(file, JSON.stringify({ apiVersion: "runta/v1", kind: "SandboxSet", sandboxes: [{ name: "filed", image: "busybox", idle_timeout_secs: 60 }] }));
  expect(await ok(["apply", "-f", file, "--dry-run"])).toContain("idle_timeout_secs is 300, the file says 60; apply does not change it: runta update --idle-timeout 60 filed");
}, 60_000);
