/**
 * What the inside of a runtime may not see or touch (/proc/interrupts masked, /sys/fs/cgroup read-only, as Docker has
 * them), a cgroup removed behind the daemon's back (the runtime is stopped and marked crashed with the reason, instead
 * of running without limits and answering with raw runc errors), and per-call runc logs a killed daemon left behind.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "vitest";
import { daemonSuite } from "../helpers/daemon-suite.js";

const d = daemonSuite().daemon;

test("/proc/interrupts reads empty and /sys/fs/cgroup cannot be written inside a runtime", async () => {
  const runta = d.client();
  await runta.runtimes.create("inside", { image: "busybox", memoryMiB: 64 });
  expect((await runta.runtimes.exec("inside", ["sh", "-c", "cat /proc/interrupts | wc -c"])).stdoutText.trim()).toBe("0");
  const touch = await runta.runtimes.exec("inside", ["touch", "/sys/fs/cgroup/planted"]);
  expect(touch.exit_code).toBe(1);
  expect(touch.stderrText).toContain("Read-only file system");
});

test("a cgroup removed behind the daemon's back: the runtime is stopped and crashed with the reason, and boots again", async () => {
  const runta = d.client();
  const rt = await runta.runtimes.create("uncaged", { image: "busybox", memoryMiB: 64 });
  const memDir = `/sys/fs/cgroup/memory/${d.cgroupParent}/${rt.id}`;
  const init = (JSON.parse(execFileSync("runc", ["--root", d.runcRoot, "state", rt.id], { encoding: "utf8" })) as { pid: number }).pid;
  // What a root user on the host might do: move the processes out, then remove the (now empty) cgroup.
  for (const pid of readFileSync(join(memDir, "cgroup.procs"), "utf8").split("\n").filter(Boolean)) writeFileSync("/sys/fs/cgroup/memory/cgroup.procs", pid);
  rmdirSync(memDir);
  await expect(runta.runtimes.exec("uncaged", ["true"])).rejects.toMatchObject({ code: "failed_precondition" });
  const now = (await runta.runtimes.get("uncaged")).record;
  expect(now.status).toBe("crashed");
  // The init was moved out first (as rmdir requires): that is what the daemon finds.
  expect(now.last_error).toMatch(/its cgroup was changed outside runta \(its init is in memory cgroup \/, not \/runta-test-/);
  expect(now.last_error).toContain("runta boot uncaged");
  // Killed (gone, or a zombie until its parent reaps it).
  const alive = () => {
    try {
      return !/^\d+ \(.*\) [ZX] /.test(readFileSync(`/proc/${init}/stat`, "utf8"));
    } catch {
      return false;
    }
  };
  for (let i = 0; i < 50 && alive(); i++) await new Promise((r) => setTimeout(r, 100));
  expect(alive()).toBe(false);
  await (await runta.runtimes.get("uncaged")).start();
  expect((await runta.runtimes.exec("uncaged", ["echo", "back"])).stdoutText).toBe("back\n");
});

test("per-call runc logs a killed daemon left in the data dir are removed at the next start", async () => {
  const stray = join(d.dataDir, "runtimes", "run-0f0f0f0f-0000-4000-8000-000000000000-deadbeef.log");
  await d.kill();
  writeFileSync(stray, "");
  await d.restart();
  expect(existsSync(stray)).toBe(false);
  expect(readdirSync(join(d.dataDir, "runtimes")).filter((n) => n.startsWith("run-"))).toEqual([]);
});
