/** A second daemon does not share the first one's runc root or cgroup parent (issue 21, item 9). */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, test } from "vitest";
import { DEFAULTS, RuntaError } from "../../src/api/index.js";
import { procStart } from "../../src/engine/proc.js";
import { claimRuncRoot, stateDirsFor } from "../../src/server/state-dirs.js";

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), "runta-state-dirs-"));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

test("a new data dir gets its own runc root and cgroup parent, kept across starts; one with a database keeps the defaults", async () => {
  const a = tmp();
  const b = tmp();
  const da = await stateDirsFor(a);
  expect(da.runcRoot).toMatch(/^\/run\/runta-[0-9a-f]{10}\/runc$/);
  expect(da.cgroupParent).toMatch(/^runta-[0-9a-f]{10}$/);
  expect(da.runcRoot).not.toBe(DEFAULTS.runcRoot);
  expect((await stateDirsFor(b)).runcRoot).not.toBe(da.runcRoot);
  expect(await stateDirsFor(a)).toEqual(da);
  expect(JSON.parse(readFileSync(join(a, "state-dirs.json"), "utf8"))).toEqual(da);
  // An existing data dir from before: its runtimes live under the defaults, so it keeps them.
  const old = tmp();
  writeFileSync(join(old, "runta.db"), "");
  expect(await stateDirsFor(old)).toEqual({ runcRoot: DEFAULTS.runcRoot, cgroupParent: DEFAULTS.cgroupParent });
});

test("a runc root claimed by another live daemon is refused with the fix; a dead owner's claim is taken over", async () => {
  const root = join(tmp(), "runc");
  const other = spawn("sleep", ["30"], { stdio: "ignore" });
  try {
    await new Promise((r) => other.once("spawn", r));
    writeFileSync(`${root}.owner.json`, JSON.stringify({ pid: other.pid, start_time: procStart(other.pid!), data_dir: "/srv/other" }));
    const err = await claimRuncRoot(root, tmp()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuntaError);
    expect(err).toMatchObject({ code: "already_exists" });
    expect((err as Error).message).toMatch(new RegExp(`runc root ${root} belongs to the runta daemon \\(pid ${other.pid}\\) serving /srv/other; give this daemon its own with --runc-root`));
  } finally {
    other.kill("SIGKILL");
  }
  await new Promise((r) => other.once("exit", r));
  const release = await claimRuncRoot(root, tmp());
  expect(JSON.parse(readFileSync(`${root}.owner.json`, "utf8")).pid).toBe(process.pid);
  await release();
  expect(existsSync(`${root}.owner.json`)).toBe(false);
});
