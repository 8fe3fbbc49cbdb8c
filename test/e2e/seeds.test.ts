/**
 * The seed documents' runtime fields through the built `bin/runta` against a real daemon on the default image:
 * what each sets is read back with inspect and `ps --json` (help-examples.test.ts runs the `--help` examples as written).
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "vitest";
import { cliSuite } from "../helpers/cli-suite.js";

const suite = cliSuite({ defaultImage: true });
const { runta, ok, inspect } = suite;

test("description: run --description, update (test/e2e/help-examples.test.ts runs their --help examples); inspect, ps --json and apply files carry it, apply changes it", async () => {
  await ok(["run", "--name", "etl", "--description", "nightly ETL, owner: data team"]);
  expect((await inspect("etl")).description).toBe("nightly ETL, owner: data team");
  await ok(["shutdown", "etl"]);
  expect(await ok(["update", "--description", "", "etl"])).toBe("etl: description cleared\n");
  expect(await ok(["update", "--description", "nightly ETL, owner: data team", "etl"])).toBe('etl: description "nightly ETL, owner: data team"\n');
  const { runtimes: listed } = JSON.parse(await ok(["ps", "-a", "--json"])) as { runtimes: Array<{ name: string; description: string }> };
  expect(listed.find((r) => r.name === "etl")?.description).toBe("nightly ETL, owner: data team");

  const bad = await runta(["update", "--description", "\x1b[2J", "etl"]);
  expect(bad.exitCode).toBe(2);

  const file = join(suite.home, "set.json");
  writeFileSync(file, JSON.stringify({ apiVersion: "runta/v1", kind: "SandboxSet", sandboxes: [{ name: "filed", resources: { memory_mib: 64 }, description: "from a file" }] }));
  await ok(["apply", "-f", file]);
  expect((await inspect("filed")).description).toBe("from a file");
  writeFileSync(file, JSON.stringify({ apiVersion: "runta/v1", kind: "SandboxSet", sandboxes: [{ name: "filed", description: "changed" }] }));
  expect(await ok(["apply", "-f", file, "--dry-run"])).toMatch(/~ filed\s+update: description "from a file" → "changed"/);
  expect((await inspect("filed")).description).toBe("from a file");
  expect(await ok(["apply", "-f", file])).toContain("filed: description updated");
  expect((await inspect("filed")).description).toBe("changed");
}, 300_000);

test("--exec-timeout 2: runta exec of sleep 300 is killed at about 2 s and says why; --timeout of its own outlasts it", async () => {
  await ok(["run", "--name", "jobs", "--exec-timeout", "2", "--memory", "64m"]);
  expect((await inspect("jobs")).exec_timeout_secs).toBe(2);
  const t0 = Date.now();
  const r = await runta(["exec", "jobs", "--", "sleep", "300"]);
  const ms = Date.now() - t0;
  expect(r.exitCode).not.toBe(0);
  expect(String(r.stderr)).toContain("ran into jobs's exec timeout and was killed");
  expect(ms).toBeGreaterThanOrEqual(1900);
  expect(ms).toBeLessThan(10_000);
  expect(await ok(["exec", "--timeout", "10", "jobs", "--", "sh", "-c", "sleep 3; echo done"])).toBe("done\n");
}, 120_000);

test("--lifetime 3: the runtime shuts down by itself, inspect says when, runta boot starts a new lifetime", async () => {
  await ok(["run", "--name", "scratch", "--lifetime", "3", "--memory", "64m"]);
  const rt = await inspect("scratch");
  expect(rt.lifetime_secs).toBe(3);
  expect(Date.parse(rt.shutdown_at) - Date.parse(rt.started_at)).toBe(3000);
  await expect.poll(async () => (await inspect("scratch")).status, { timeout: 8000, interval: 250 }).toBe("shutdown");
  await ok(["boot", "scratch"]);
  expect(Date.parse((await inspect("scratch")).shutdown_at)).toBeGreaterThan(Date.parse(rt.shutdown_at));
}, 60_000);

test("--idempotency-key: the same key and flags print the same runtime's id, other flags are refused", async () => {
  const first = await ok(["run", "--name", "once", "--idempotency-key", "deploy-42", "--memory", "64m"]);
  const again = await ok(["run", "--name", "once", "--idempotency-key", "deploy-42", "--memory", "64m"]);
  expect(again).toBe(first);
  const other = await runta(["run", "--name", "once", "--idempotency-key", "deploy-42", "--memory", "128m"]);
  expect(other.exitCode).not.toBe(0);
  expect(String(other.stderr)).toContain("Idempotency-Key was already used with a different request");
}, 60_000);
