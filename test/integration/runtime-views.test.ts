/**
 * What a program inside a runtime sees of its machine, against a real daemon, real runc and LXCFS on the default
 * image: memory, CPUs and uptime are the runtime's own (free, nproc, os.cpu_count, /proc/meminfo, /proc/uptime, top),
 * they follow a resize, and they survive daemon restarts (SIGTERM and SIGKILL); `df` names no host device or path;
 * the default image has the tools agents reach for first.
 */
import { readFileSync } from "node:fs";
import { expect, test } from "vitest";
import type { Runtime } from "../../src/client/index.js";
import { hostCores } from "../../src/engine/host.js";
import { SHARED_IMAGES_DIR } from "../helpers/daemon.js";
import { daemonSuite } from "../helpers/daemon-suite.js";
import { lxcfsPids } from "../helpers/lxcfs.js";

const d = daemonSuite({ defaultImage: true }).daemon;

/** stdout of a shell line in the runtime; fails the test on a non-zero exit. */
async function sh(rt: Runtime, line: string): Promise<string> {
  const r = await rt.exec(["bash", "-c", line]);
  expect(r.stderrText, line).toBe("");
  expect(r.exit_code, line).toBe(0);
  return r.stdoutText.trim();
}

/** The figures programs read, as one object. */
async function seen(rt: Runtime) {
  const out = await sh(
    rt,
    [
      "free -m | awk '/^Mem:/ {print $2}'",
      "nproc",
      "python3 -c 'import os; print(os.cpu_count())'",
      "awk '/^MemTotal:/ {print $2}' /proc/meminfo",
      "top -b -n 1 | awk '/MiB Mem/ {print int($4)}'",
    ].join("; "),
  );
  const [freeMib, nproc, cpuCount, memTotalKib, topMib] = out.split("\n").map(Number);
  return { freeMib, nproc, cpuCount, memTotalKib, topMib };
}

test("a 384 MiB / 0.5-vCPU runtime sees 384 MiB and 1 CPU in free, top, /proc/meminfo, nproc and os.cpu_count; its uptime is its own", async () => {
  const rt = await d.client().runtimes.create("small", { image: "default", memoryMiB: 384, vcpus: 0.5 });
  expect(await seen(rt)).toEqual({ freeMib: 384, nproc: 1, cpuCount: 1, memTotalKib: 384 * 1024, topMib: 384 });
  const hostUptime = Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]);
  const uptime = Number((await sh(rt, "cut -d' ' -f1 /proc/uptime")));
  expect(uptime).toBeLessThan(60);
  expect(hostUptime).toBeGreaterThan(uptime + 60);
  expect(await sh(rt, "cat /sys/devices/system/cpu/online | tr , '\\n' | wc -l")).toBe("1");
});

test("a resize shows at once: more memory and vCPUs, then fewer again", async () => {
  const rt = await d.client().runtimes.get("small");
  const cores = hostCores();
  await rt.resize({ memoryMiB: 1024, vcpus: cores });
  expect(await seen(rt)).toEqual({ freeMib: 1024, nproc: cores, cpuCount: cores, memTotalKib: 1024 * 1024, topMib: 1024 });
  await rt.resize({ memoryMiB: 384, vcpus: 0.5 });
  expect(await seen(rt)).toEqual({ freeMib: 384, nproc: 1, cpuCount: 1, memTotalKib: 384 * 1024, topMib: 384 });
});

test("runtimes of one vCPU are spread over the host's CPUs, not stacked on CPU 0", async () => {
  if (hostCores() < 2) return;
  const other = await d.client().runtimes.create("other", { image: "default", memoryMiB: 128, vcpus: 1 });
  const small = await d.client().runtimes.get("small");
  const cpuOf = (rt: Runtime) => sh(rt, "grep Cpus_allowed_list /proc/self/status | cut -f2");
  expect(await cpuOf(other)).not.toBe(await cpuOf(small));
  await other.delete();
});

test("the views survive a daemon stop (SIGTERM) and a crash (SIGKILL): LXCFS keeps running, the next daemon uses it", async () => {
  const [lxcfs] = lxcfsPids(d.dataDir);
  expect(lxcfs).toBeGreaterThan(0);
  await d.stop("SIGTERM");
  expect(lxcfsPids(d.dataDir)).toEqual([lxcfs]);
  await d.restart();
  let rt = await d.client().runtimes.get("small");
  expect((await seen(rt)).freeMib).toBe(384);
  await d.kill();
  await d.restart();
  expect(lxcfsPids(d.dataDir)).toEqual([lxcfs]);
  expect(d.logs()).toMatch(/lxcfs found running/);
  rt = await d.client().runtimes.get("small");
  expect((await seen(rt)).freeMib).toBe(384);
  // A runtime booted by the new daemon gets the views too, and a shut-down one gets them back at boot.
  const fresh = await d.client().runtimes.create("fresh", { image: "default", memoryMiB: 200, vcpus: 1 });
  expect((await seen(fresh)).freeMib).toBe(200);
  await rt.stop();
  await rt.start();
  expect((await seen(rt)).freeMib).toBe(384);
  await fresh.delete();
});

test("df lists no host device or host path (the init is a file of the runtime's own root, not a bind mount)", async () => {
  const rt = await d.client().runtimes.get("small");
  const df = await sh(rt, "df -P");
  expect(df).toMatch(/ \/$/m);
  expect(df).not.toMatch(/\/dev\/(vd|sd|nvme|xvd|loop)/);
  expect(df).not.toMatch(/runta|catatonit/);
  const mounts = await sh(rt, "cat /proc/self/mountinfo");
  expect(mounts).not.toMatch(/catatonit|runta-agent/);
  expect(mounts).not.toContain(d.dataDir);
  expect(mounts).not.toContain(SHARED_IMAGES_DIR);
  expect(await sh(rt, "ps -o comm= -p 1")).toBe("runta-agent");
});

test("the default image has pip, venv, curl, git, jq, less, xz, flock and setsid", async () => {
  const rt = await d.client().runtimes.get("small");
  const out = await sh(
    rt,
    [
      "pip3 --version | cut -d' ' -f1",
      "python3 -m venv /tmp/venv && /tmp/venv/bin/python -c 'import sys; print(sys.prefix)'",
      "curl --version | head -1 | cut -d' ' -f1",
      "git --version | cut -d' ' -f1-2",
      "echo '{\"a\": [1, 2]}' | jq -c .a",
      "echo paged | less -FX",
      "echo xz | xz | xz -d",
      "flock /tmp/lock -c 'echo locked'",
      "setsid -w sh -c 'echo own session'",
    ].join(" && "),
  );
  expect(out.split("\n")).toEqual(["pip", "/tmp/venv", "curl", "git version", "[1,2]", "paged", "xz", "locked", "own session"]);
});
