/** The per-exec cgroup's layout (engine/execs/cgroup.ts) and the start-up sweep of runc files, on a fake cgroup root. */
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "vitest";
import { ExecCgroup } from "../../src/engine/execs/cgroup.js";
import { removeStrayExecFiles, type DetachedRecord } from "../../src/engine/execs/detached.js";

test("on a cgroup v1 host an exec's cgroup is a child of the runtime's in the freezer hierarchy only", async () => {
  const root = mkdtempSync(join(tmpdir(), "cg-v1-"));
  mkdirSync(join(root, "freezer/runta/rt1"), { recursive: true });
  const cg = await ExecCgroup.create("runta", "rt1", "abc", root);
  expect(cg.dir).toBe(join(root, "freezer/runta/rt1/exec-abc"));
  expect(cg.runcArg).toBe("freezer:exec-abc");
  expect(readdirSync(join(root, "freezer/runta/rt1"))).toEqual(["exec-abc"]);
  await ExecCgroup.create("runta", "rt1", "abc", root); // idempotent
  mkdirSync(join(root, "freezer/runta/rt1/not-an-exec"));
  expect(await ExecCgroup.leftovers("runta", "rt1", root)).toEqual(["abc"]);
  expect(await ExecCgroup.leftovers("runta", "gone", root)).toEqual([]);
});

test("on a cgroup v2 host it is a child in the unified hierarchy, named alone for runc --cgroup", async () => {
  const root = mkdtempSync(join(tmpdir(), "cg-v2-"));
  writeFileSync(join(root, "cgroup.controllers"), "cpu memory pids\n");
  mkdirSync(join(root, "runta/rt1"), { recursive: true });
  const cg = await ExecCgroup.create("runta", "rt1", "abc", root);
  expect(cg.dir).toBe(join(root, "runta/rt1/exec-abc"));
  expect(cg.runcArg).toBe("exec-abc");
});

test("a runtime whose cgroup is gone cannot get an exec cgroup", async () => {
  const root = mkdtempSync(join(tmpdir(), "cg-gone-"));
  mkdirSync(join(root, "freezer"), { recursive: true });
  await expect(ExecCgroup.create("runta", "rt1", "abc", root)).rejects.toMatchObject({ code: "ENOENT" });
});

test("the start-up sweep removes the runc files of served execs and keeps the detached execs' own", async () => {
  const dir = mkdtempSync(join(tmpdir(), "execdir-"));
  for (const f of ["exec-aa.json", "exec-aa.pid", "exec-aa.log", "exec-bb.json", "exec-bb.pid", "exec-bb.status", "exec-cc.status.tmp", "d1.exec.json"]) {
    writeFileSync(join(dir, f), "");
  }
  const kept = [{ statusFile: join(dir, "exec-bb.status") } as DetachedRecord];
  await removeStrayExecFiles(dir, kept);
  expect(readdirSync(dir).sort()).toEqual(["d1.exec.json", "exec-bb.json", "exec-bb.pid", "exec-bb.status"]);
});
