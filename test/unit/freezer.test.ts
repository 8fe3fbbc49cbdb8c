/** The cgroup freezer written by the daemon (engine/freezer.ts), on fake cgroup roots: what it writes, when it is done. */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "vitest";
import { RuntimeFreezer, freezeDir } from "../../src/engine/freezer.js";

test("cgroup v1: a runtime is frozen and thawed through its freezer.state in the freezer hierarchy", async () => {
  const root = mkdtempSync(join(tmpdir(), "fz-v1-"));
  const dir = join(root, "freezer/runta/rt1");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "freezer.state"), "THAWED\n");
  const freezer = new RuntimeFreezer("runta", root);
  await freezer.freeze("rt1");
  expect(readFileSync(join(dir, "freezer.state"), "utf8")).toBe("FROZEN");
  await freezer.thaw("rt1");
  expect(readFileSync(join(dir, "freezer.state"), "utf8")).toBe("THAWED");
});

test("cgroup v2: a freeze resolves only once cgroup.events says frozen, and a thaw once it says thawed", async () => {
  const root = mkdtempSync(join(tmpdir(), "fz-v2-"));
  writeFileSync(join(root, "cgroup.controllers"), "cpu memory pids\n");
  const dir = join(root, "runta/rt1");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "cgroup.events"), "populated 1\nfrozen 0\n");
  const freezer = new RuntimeFreezer("runta", root);
  let settled = false;
  const freezing = freezer.freeze("rt1").then(() => (settled = true));
  await new Promise((r) => setTimeout(r, 30));
  expect(readFileSync(join(dir, "cgroup.freeze"), "utf8")).toBe("1");
  expect(settled).toBe(false);
  writeFileSync(join(dir, "cgroup.events"), "populated 1\nfrozen 1\n");
  await freezing;
  const thawing = freezer.thaw("rt1");
  await new Promise((r) => setTimeout(r, 10));
  writeFileSync(join(dir, "cgroup.events"), "populated 1\nfrozen 0\n");
  await thawing;
  expect(readFileSync(join(dir, "cgroup.freeze"), "utf8")).toBe("0");
});

test("a freeze that never takes hold is undone and fails naming the cgroup; a missing cgroup fails at once", async () => {
  const root = mkdtempSync(join(tmpdir(), "fz-stuck-"));
  const dir = join(root, "stuck");
  mkdirSync(dir);
  writeFileSync(join(dir, "cgroup.events"), "populated 1\nfrozen 0\n");
  await expect(freezeDir(dir, true)).rejects.toThrow(`cannot freeze ${dir}: its processes did not all freeze after 1000 tries`);
  // Not left half frozen: thawed again (the thaw's own wait is satisfied by the unchanged events file).
  expect(readFileSync(join(dir, "cgroup.freeze"), "utf8")).toBe("0");
  await expect(new RuntimeFreezer("runta", root).freeze("gone")).rejects.toThrow(/cannot freeze .*freezer\/runta\/gone: ENOENT/);
});
