/**
 * `runta apply -f` / `runta delete -f` through the built CLI against a real daemon and runc (isolated, see
 * test/helpers/daemon.ts): create from a file, re-apply (no change), edit memory and re-apply (live resize read back
 * from the runtime), dry-run touches nothing, delete -f. Needs `npm run build` first.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "vitest";
import { cliSuite } from "../helpers/cli-suite.js";

const suite = cliSuite();
const { runta, inspect } = suite;

function deployment(memory: Record<string, number>, extra: Record<string, unknown> = {}): string {
  const path = join(suite.home, "deployment.json");
  writeFileSync(
    path,
    JSON.stringify({
      apiVersion: "runta/v1",
      kind: "SandboxSet",
      sandboxes: Object.entries(memory).map(([name, memory_mib]) => ({ name, image: "busybox", resources: { vcpus: 0.5, memory_mib }, ...extra })),
    }),
  );
  return path;
}


test("--dry-run prints the plan and creates nothing", async () => {
  const r = await runta(["apply", "--dry-run", "-f", deployment({ web: 64, api: 96 })]);
  expect(r.exitCode, String(r.stderr)).toBe(0);
  expect(r.stdout).toContain("2 to create");
  expect(JSON.parse(String((await runta(["ps", "-a", "--json"])).stdout))).toEqual({ runtimes: [] });
});

test("apply creates what the file names, running, with its resources", async () => {
  const r = await runta(["apply", "-f", deployment({ web: 64, api: 96 })]);
  expect(r.exitCode, String(r.stderr)).toBe(0);
  expect(r.stdout).toMatch(/web: created \([0-9a-f-]{36}\)/);
  expect(r.stdout).toContain("Apply complete: 2 created, 0 resized, 0 unchanged.");
  expect(await inspect("web")).toMatchObject({ status: "running", image: "busybox", resources: { requests: { vcpus: 0.5, memory_mib: 64 } } });
  expect(await inspect("api")).toMatchObject({ status: "running", resources: { requests: { memory_mib: 96 } } });
});

test("re-applying the same file changes nothing and says so", async () => {
  const before = (await inspect("web")).revision;
  const r = await runta(["apply", "-f", deployment({ web: 64, api: 96 })]);
  expect(r.exitCode, String(r.stderr)).toBe(0);
  expect(r.stdout).toContain("No changes: all 2 runtimes in");
  expect((await inspect("web")).revision).toBe(before);
});

test("an edited memory is resized live and read back from the runtime", async () => {
  const id = (await inspect("web")).id;
  const r = await runta(["apply", "-f", deployment({ web: 128, api: 96 })]);
  expect(r.exitCode, String(r.stderr)).toBe(0);
  expect(r.stdout).toMatch(/~ web\s+resize: memory 64 → 128 MiB/);
  expect(r.stdout).toContain("web: resized (now 0.5 vCPUs, 128 MiB)");
  const web = await inspect("web");
  expect(web).toMatchObject({ id, status: "running", resources: { requests: { memory_mib: 128 } } });
  // The limit the kernel enforces, as the daemon reads it from the runtime's cgroup.
  expect(web.usage.memory_limit_bytes).toBe(128 * 1024 * 1024);
});

test("--json prints plan and results; auto_resize is reported plainly", async () => {
  const r = await runta(["apply", "--json", "--dry-run", "-f", deployment({ web: 128, api: 96 }, { auto_resize: { memory_max_mib: 512 } })]);
  expect(r.exitCode, String(r.stderr)).toBe(0);
  const j = JSON.parse(String(r.stdout));
  expect(j.plan.map((a: { action: string }) => a.action)).toEqual(["unchanged", "unchanged"]);
  expect(j.plan[0].notes[0]).toContain("runta does not resize automatically");
});

test("a changed env value is a conflict (the daemon compares digests, never sends values); --dry-run exits as apply does", async () => {
  const doc = (value: string) => {
    const path = join(suite.home, "env.json");
    writeFileSync(path, JSON.stringify({ apiVersion: "runta/v1", kind: "SandboxSet", sandboxes: [{ name: "envy", image: "busybox", resources: { vcpus: 0.5, memory_mib: 64 }, env: { MODE: value } }] }));
    return path;
  };
  expect((await runta(["apply", "-f", doc("blue")])).exitCode).toBe(0);
  expect(String((await runta(["apply", "-f", doc("blue")])).stdout)).toContain("No changes");
  const dry = await runta(["apply", "--dry-run", "-f", doc("green")]);
  const real = await runta(["apply", "-f", doc("green")]);
  for (const r of [dry, real]) {
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toBe(`runta: envy: env values differ from ${doc("green")} and cannot change in place — runta rm envy, then apply again\n`);
  }
  expect(dry.stdout).toContain("0 unchanged, 1 with conflicts");
  expect(real.stdout).toContain('! envy  env values differ (same names ["MODE"])');
  expect(real.stdout).toContain("Apply finished with failures: 0 created, 0 resized, 0 unchanged, 1 with conflicts left as they are.");
  expect((await runta(["exec", "envy", "--", "sh", "-c", "echo $MODE"])).stdout).toBe("blue\n");
  expect((await runta(["rm", "envy"])).exitCode).toBe(0);
});

test("an entry without resources leaves them alone; an image that does not exist is an error, also with --dry-run", async () => {
  const path = join(suite.home, "partial.json");
  writeFileSync(path, JSON.stringify({ apiVersion: "runta/v1", kind: "SandboxSet", sandboxes: [{ name: "web", image: "busybox" }, { name: "nova", image: "no-such-image" }] }));
  for (const args of [["apply", "--dry-run", "-f", path], ["apply", "-f", path]]) {
    const r = await runta(args);
    expect(r.exitCode, args.join(" ")).toBe(1);
    expect(r.stderr).toBe(`runta: nova: image "no-such-image" does not exist — build or import it first (runta image ls lists images)\n`);
    expect(r.stdout).toMatch(/= web\s+unchanged/);
  }
  expect((await inspect("web")).resources.requests).toMatchObject({ vcpus: 0.5, memory_mib: 128 });
  expect((await runta(["ps", "-a", "-q", "--filter", "name=nova"])).stdout).toBe("");
});

test("an invalid file is rejected whole with JSON pointers; nothing changes", async () => {
  const path = join(suite.home, "bad.json");
  writeFileSync(path, JSON.stringify({ apiVersion: "runta/v9", kind: "SandboxSet", sandboxes: [{ name: "web", resources: { memory_mib: 1 } }, { name: "web" }] }));
  const r = await runta(["apply", "-f", path]);
  expect(r.exitCode).toBe(1);
  const lines = String(r.stderr).trim().split("\n");
  expect(lines).toEqual([
    `runta: ${path}#/apiVersion: must be "runta/v1"`,
    expect.stringContaining(`${path}#/sandboxes/0/resources/memory_mib: must be between`),
    `runta: ${path}#/sandboxes/1/name: duplicate name "web" (also at /sandboxes/0/name)`,
  ]);
  expect((await inspect("web")).resources.requests.memory_mib).toBe(128);
});

test("-f - reads the file from stdin", async () => {
  const doc = JSON.stringify({ apiVersion: "runta/v1", kind: "SandboxSet", sandboxes: [{ name: "web", image: "busybox", resources: { vcpus: 0.5, memory_mib: 128 } }] });
  const r = await runta(["apply", "-f", "-"], { input: doc });
  expect(r.exitCode, String(r.stderr)).toBe(0);
  expect(r.stdout).toContain("No changes");
});

test("delete -f --dry-run touches nothing; delete -f removes and reports missing ones", async () => {
  const path = deployment({ web: 128, api: 96, gone: 64 });
  const dry = await runta(["delete", "--dry-run", "-f", path]);
  expect(dry.exitCode).toBe(0);
  expect(dry.stdout).toBe("web: would be deleted (running)\napi: would be deleted (running)\ngone: not found, nothing to delete\n");
  const r = await runta(["delete", "-f", path]);
  expect(r.exitCode, String(r.stderr)).toBe(0);
  expect(r.stdout).toBe("web: deleted\napi: deleted\ngone: not found, nothing to delete\n");
  expect((await runta(["ps", "-a", "-q"])).stdout).toBe("");
  const strict = await runta(["delete", "--strict", "-f", path]);
  expect(strict.exitCode).toBe(1);
  expect(String(strict.stderr).trim().split("\n")).toHaveLength(3);
});
