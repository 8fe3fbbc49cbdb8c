/**
 * The runc engine against real runc, overlayfs and cgroups (root only). Each test file gets its own data dir, runc
 * root and cgroup parent (test/helpers/engine-env.ts) and ends with a leak check.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import { RuntaError } from "../../src/api/index.js";
import { RuncEngine } from "../../src/engine/runc-engine.js";
import { engineSuite, type EngineEnv } from "../helpers/engine-env.js";

const suite = engineSuite();
const { logger } = suite;
let env: EngineEnv;
let engine: RuncEngine;
beforeAll(() => void ({ env, engine } = suite));

/** Runs a shell line in a runtime and returns trimmed stdout; fails the test on a non-zero exit. */
async function sh(rt: string, line: string): Promise<string> {
  const r = await engine.exec(rt, { argv: ["sh", "-c", line] });
  expect(r.exit_code, `${line}: ${r.stderr}`).toBe(0);
  return r.stdout.trim();
}

async function rejectsWith(p: Promise<unknown>, code: string, message?: RegExp): Promise<RuntaError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RuntaError);
  expect((err as RuntaError).code).toBe(code);
  if (message) expect((err as RuntaError).message).toMatch(message);
  return err as RuntaError;
}

function cgroupFile(controller: string, id: string, file: string): string {
  return readFileSync(join("/sys/fs/cgroup", controller, env.cgroupParent, id, file), "utf8").trim();
}

const rootfsOf = (id: string) => join(env.dataDir, "runtimes", id, "rootfs");

describe("create", () => {
  test("applies vCPU, memory (no swap), pids and /dev/shm limits, visible in the cgroup files", async () => {
    const rt = await engine.create({ name: "limits", image: "busybox", vcpus: 0.2, memoryMib: 64 });
    expect(rt.status).toBe("running");
    expect(rt.resources.requests).toEqual({ vcpus: 0.2, memory_mib: 64, disk_size_gib: 10 });
    expect(cgroupFile("cpu", rt.id, "cpu.cfs_quota_us")).toBe("20000");
    expect(cgroupFile("cpu", rt.id, "cpu.cfs_period_us")).toBe("100000");
    expect(cgroupFile("memory", rt.id, "memory.limit_in_bytes")).toBe(String(64 * 1024 * 1024));
    expect(cgroupFile("memory", rt.id, "memory.memsw.limit_in_bytes")).toBe(String(64 * 1024 * 1024));
    expect(cgroupFile("pids", rt.id, "pids.max")).toBe("1024");
    expect(await sh("limits", "df -k /dev/shm | tail -1 | awk '{print $2}'")).toBe(String(64 * 1024));
  });

  test("PID 1 is the exec agent, the hostname is the name, the network is loopback and its own veth", async () => {
    expect(await sh("limits", "tr '\\0' ' ' < /proc/1/cmdline")).toBe("/.runta/runta-agent");
    expect(await sh("limits", "hostname")).toBe("limits");
    const ifaces = await sh("limits", "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '");
    expect(ifaces.split("\n").sort()).toEqual(["eth0", "lo"]);
  });

  test("hardening: seccomp filter, no_new_privs, reduced capabilities, cgroup namespace, masked paths", async () => {
    const status = await sh("limits", "cat /proc/self/status");
    expect(status).toMatch(/^Seccomp:\s+2$/m);
    expect(status).toMatch(/^NoNewPrivs:\s+1$/m);
    // CAP_SYS_ADMIN (bit 21) is not in the bounding set.
    const capBnd = BigInt("0x" + /^CapBnd:\s+([0-9a-f]+)$/m.exec(status)![1]);
    expect(capBnd & (1n << 21n)).toBe(0n);
    // In its own cgroup namespace the runtime sees itself at the root.
    expect(await sh("limits", "grep memory /proc/self/cgroup")).toMatch(/:memory:\/$/);
    // Masked: /proc/timer_list reads as empty (it is /dev/null), /sys/firmware is an empty tmpfs; /proc/sys is read-only.
    expect(await sh("limits", "wc -c < /proc/timer_list")).toBe("0");
    expect(await sh("limits", "ls /sys/firmware | wc -l")).toBe("0");
    const ro = await engine.exec("limits", { argv: ["sh", "-c", "echo 1 > /proc/sys/kernel/domainname"] });
    expect(ro.exit_code).not.toBe(0);
    expect(ro.stderr).toMatch(/Read-only file system/);
  });

  test("capabilities are exactly the spec's set, none inheritable or ambient; /dev holds only the standard nodes; mknod fails", async () => {
    const caps = await sh("limits", "grep ^Cap /proc/self/status");
    // chown, dac_override, fowner, fsetid, kill, setgid, setuid, setpcap, net_bind_service, sys_chroot, audit_write, setfcap.
    const mask = [0, 1, 3, 4, 5, 6, 7, 8, 10, 18, 29, 31].reduce((m, bit) => m | (1n << BigInt(bit)), 0n).toString(16).padStart(16, "0");
    expect(caps.split("\n").map((l) => l.replace(/\s+/, " "))).toEqual([
      "CapInh: 0000000000000000",
      `CapPrm: ${mask}`,
      `CapEff: ${mask}`,
      `CapBnd: ${mask}`,
      "CapAmb: 0000000000000000",
    ]);
    const nodes = await sh("limits", "find /dev -xdev \\( -type c -o -type b \\) | sort | xargs ls -l | awk '{print $1, $5, $6, $NF}'");
    expect(nodes.split("\n")).toEqual([
      "crw-rw-rw- 1, 7 /dev/full",
      "crw-rw-rw- 1, 3 /dev/null",
      "crw-rw-rw- 1, 8 /dev/random",
      "crw-rw-rw- 5, 0 /dev/tty",
      "crw-rw-rw- 1, 9 /dev/urandom",
      "crw-rw-rw- 1, 5 /dev/zero",
    ]);
    for (const node of ["c 1 1", "b 8 0"]) {
      const r = await engine.exec("limits", { argv: ["sh", "-c", `mknod /tmp/node ${node}`] });
      expect(r.exit_code).not.toBe(0);
      expect(r.stderr).toMatch(/Operation not permitted/);
    }
    // /proc/kcore and /proc/keys are masked too (read as empty).
    expect(await sh("limits", "wc -c < /proc/keys; cat /proc/kcore | wc -c")).toBe("0\n0");
  });

  test("a fork bomb stops at the pids limit (or the memory limit) inside its runtime, and the runtime is removed at once", async () => {
    for (const memoryMib of [64, 512]) {
      const rt = await engine.create({ name: `bomb${memoryMib}`, image: "busybox", memoryMib });
      const r = await engine.exec(rt.name, { argv: ["sh", "-c", "for i in $(seq 2000); do sleep 100 & done 2>/dev/null"], timeoutSecs: 60 });
      expect(r.timed_out).toBe(false);
      const forksRefused = Number(/^max (\d+)$/m.exec(cgroupFile("pids", rt.id, "pids.events"))![1]);
      // 64 MiB runs out of memory before 1024 processes; 512 MiB reaches the pids limit.
      if (memoryMib === 64) expect(r.oom_killed || forksRefused > 0).toBe(true);
      else expect(forksRefused).toBeGreaterThan(0);
      expect(Number(cgroupFile("pids", rt.id, "pids.current"))).toBeLessThanOrEqual(1024);
      const started = Date.now();
      await engine.delete(rt.name);
      expect(Date.now() - started).toBeLessThan(5000);
    }
    expect((await engine.exec("limits", { argv: ["true"] })).exit_code).toBe(0);
  });

  test("seccomp denies namespace creation and mount with EPERM, and ordinary programs still work", async () => {
    // A user namespace needs no capability: only the seccomp filter stops it.
    const u = await engine.exec("limits", { argv: ["unshare", "-U", "true"] });
    expect(u.exit_code).not.toBe(0);
    expect(u.stderr).toMatch(/Operation not permitted/);
    const m = await engine.exec("limits", { argv: ["mount", "-t", "tmpfs", "none", "/mnt"] });
    expect(m.exit_code).not.toBe(0);
    expect(await sh("limits", "echo $((6*7)) | cat; ls / >/dev/null; sleep 0.01 & wait; echo ok")).toBe("42\nok");
  });

  test("generates a docker-style name when none is given", async () => {
    const rt = await engine.create({ image: "busybox", memoryMib: 32 });
    expect(rt.name).toMatch(/^[a-z]+_[a-z]+$|^rt-[0-9a-f]{6}$/);
    await engine.delete(rt.id);
  });

  test("a taken name is already_exists and leaves the first runtime alone", async () => {
    await rejectsWith(engine.create({ name: "limits", image: "busybox" }), "already_exists", /already exists/);
    expect((await engine.get("limits")).status).toBe("running");
  });

  test("idempotency key: same request returns the same runtime, another request is already_exists", async () => {
    const a = await engine.create({ name: "idem", image: "busybox", memoryMib: 32, idempotencyKey: "k1", requestHash: "h1" });
    const b = await engine.create({ name: "idem", image: "busybox", memoryMib: 32, idempotencyKey: "k1", requestHash: "h1" });
    expect(b.id).toBe(a.id);
    await rejectsWith(engine.create({ name: "other", image: "busybox", idempotencyKey: "k1", requestHash: "h2" }), "already_exists", /Idempotency-Key/);
    await engine.delete("idem");
  });

  test("wait:false returns at creating and finishes in the background", async () => {
    const rt = await engine.create({ name: "bg", image: "busybox", memoryMib: 32 }, { wait: false });
    expect(rt.status).toBe("creating");
    // Lifecycle operations queue behind the creation, so this sees the finished runtime.
    const paused = await engine.pause("bg");
    expect(paused.status).toBe("paused");
    await engine.delete("bg");
  });
});

describe("bad input leaves nothing behind", () => {
  const cases: Array<[string, Parameters<RuncEngine["create"]>[0], string, RegExp]> = [
    ["path traversal", { name: "../etc", image: "busybox" }, "invalid_argument", /invalid runtime name/],
    ["control characters", { name: "a\nb", image: "busybox" }, "invalid_argument", /control characters/],
    ["300 characters", { name: "a".repeat(300), image: "busybox" }, "invalid_argument", /300 characters long/],
    ["too many vCPUs", { name: "cpu", image: "busybox", vcpus: 999 }, "invalid_argument", /vcpus must be between/],
    ["too little memory", { name: "mem", image: "busybox", memoryMib: 1 }, "invalid_argument", /memory_mib must be/],
    ["more memory than the host", { name: "mem2", image: "busybox", memoryMib: 262_144 }, "invalid_argument", /this host's memory/],
    ["unknown image", { name: "img", image: "nosuch" }, "not_found", /runta image ls/],
  ];
  for (const [what, spec, code, message] of cases) {
    test(what, async () => {
      const before = (await readdir(join(env.dataDir, "runtimes"))).filter((n) => !n.endsWith(".log")).length;
      const err = await rejectsWith(engine.create(spec), code, message);
      if (/vcpus|memory/.test(what)) expect(err.httpStatus).toBe(422);
      expect((await readdir(join(env.dataDir, "runtimes"))).filter((n) => !n.endsWith(".log")).length).toBe(before);
      if (spec.name && !/\n|\//.test(spec.name)) await rejectsWith(engine.get(spec.name), "not_found");
    });
  }

  test("a runtime runc fails to start (after mount and cgroup setup) is cleaned up fully; wait:false keeps it in error", async () => {
    // A non-executable file as the init: runc mounts the root, creates the cgroup, then fails to exec PID 1.
    const notExecutable = join(env.dataDir, "not-an-init");
    writeFileSync(notExecutable, "#!/bin/sh\n", { mode: 0o644 });
    const broken = await RuncEngine.open({ ...env, initPath: notExecutable, execAgent: null, logger });
    try {
      const runtimesBefore = await readdir(join(env.dataDir, "runtimes"));
      const leaksBefore = await env.runtimeLeaks();
      await rejectsWith(broken.create({ name: "nostart", image: "busybox", memoryMib: 32 }), "internal", /runc run failed: .*permission denied/);
      await rejectsWith(broken.get("nostart"), "not_found");
      expect(await readdir(join(env.dataDir, "runtimes"))).toEqual(runtimesBefore);
      // Containers, mounts and cgroups of the runtimes that were already there, and nothing more.
      expect(await env.runtimeLeaks()).toEqual(leaksBefore);
      const bg = await broken.create({ name: "nostart-bg", image: "busybox", memoryMib: 32 }, { wait: false });
      expect(bg.status).toBe("creating");
      let now = await broken.get("nostart-bg");
      for (let i = 0; i < 100 && now.status === "creating"; i++) {
        await new Promise((r) => setTimeout(r, 20));
        now = await broken.get("nostart-bg");
      }
      expect(now.status).toBe("error");
      expect(now.last_error).toMatch(/permission denied/);
      expect(existsSync(join(env.dataDir, "runtimes", bg.id))).toBe(false);
      expect(existsSync(join("/sys/fs/cgroup/memory", env.cgroupParent, bg.id))).toBe(false);
      await broken.delete("nostart-bg");
    } finally {
      await broken.close();
    }
  });
});

describe("lifecycle", () => {
  test("pause freezes every process, resume thaws them", async () => {
    const rt = await engine.create({ name: "life", image: "busybox", memoryMib: 64 });
    // Written by rename, so a read from the host never meets the file truncated and empty (read as 0).
    await sh("life", "(i=0; while :; do i=$((i+1)); echo $i > /tmp/counter.new; mv /tmp/counter.new /tmp/counter; sleep 0.02; done) >/dev/null 2>&1 &");
    const counter = () => Number(readFileSync(join(rootfsOf(rt.id), "tmp", "counter"), "utf8").trim() || "0");
    await new Promise((r) => setTimeout(r, 200));
    expect((await engine.pause("life")).status).toBe("paused");
    expect(cgroupFile("freezer", rt.id, "freezer.state")).toBe("FROZEN");
    const frozen = counter();
    await new Promise((r) => setTimeout(r, 300));
    expect(counter()).toBe(frozen);
    expect((await engine.pause("life")).status).toBe("paused"); // no-op
    await rejectsWith(engine.exec("life", { argv: ["true"] }), "failed_precondition", /paused.*runta resume life/);
    expect((await engine.resume("life")).status).toBe("running");
    await new Promise((r) => setTimeout(r, 300));
    expect(counter()).toBeGreaterThan(frozen);
  });

  test("stop then start keeps a file written to /", async () => {
    await sh("life", "echo kept > /hello.txt");
    const stopped = await engine.stop("life", { graceSecs: 2 });
    expect(stopped.status).toBe("shutdown");
    expect((await engine.stop("life")).status).toBe("shutdown"); // no-op
    await rejectsWith(engine.exec("life", { argv: ["true"] }), "failed_precondition", /shutdown.*runta boot life/);
    await rejectsWith(engine.pause("life"), "failed_precondition", /shutdown/);
    const started = await engine.start("life");
    expect(started.status).toBe("running");
    expect(await sh("life", "cat /hello.txt")).toBe("kept");
    expect((await engine.start("life")).status).toBe("running"); // no-op
  });

  test("stop gives every process SIGTERM and the grace period before SIGKILL", async () => {
    await sh("life", "(trap 'echo bye > /stopped-cleanly; exit 0' TERM; touch /trap-set; while :; do sleep 0.05; done) >/dev/null 2>&1 </dev/null &");
    // The job runs in the background: its trap must be set before the stop, or a loaded host races it.
    await sh("life", "until [ -e /trap-set ]; do sleep 0.01; done");
    await engine.stop("life", { graceSecs: 5 });
    await engine.start("life");
    expect(await sh("life", "cat /stopped-cleanly")).toBe("bye");
    // One that ignores SIGTERM is killed when the grace runs out.
    await sh("life", "(trap '' TERM; touch /trap-ignored; while :; do sleep 0.05; done) >/dev/null 2>&1 </dev/null &");
    await sh("life", "until [ -e /trap-ignored ]; do sleep 0.01; done");
    const started = Date.now();
    await engine.stop("life", { graceSecs: 1 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(Date.now() - started).toBeLessThan(4000);
    await engine.start("life");
  });

  test("stop of a paused runtime thaws it and ends it", async () => {
    await engine.pause("life");
    expect((await engine.stop("life", { graceSecs: 1 })).status).toBe("shutdown");
    expect((await engine.start("life")).status).toBe("running");
  });

  test("delete of a paused runtime removes everything: container, mount, directory, cgroups, record", async () => {
    const rt = await engine.get("life");
    await engine.pause("life");
    const last = await engine.delete("life");
    expect(last.id).toBe(rt.id);
    await rejectsWith(engine.get("life"), "not_found", /runta ps -a/);
    expect(existsSync(join(env.dataDir, "runtimes", rt.id))).toBe(false);
    expect(existsSync(join("/sys/fs/cgroup/memory", env.cgroupParent, rt.id))).toBe(false);
    expect(existsSync(join(env.runcRoot, rt.id))).toBe(false);
    expect((await env.leaks()).filter((l) => l.includes(rt.id))).toEqual([]);
  });

  test("lifecycle operations on one runtime are serialised", async () => {
    await engine.create({ name: "serial", image: "busybox", memoryMib: 32 });
    const results = await Promise.allSettled([engine.pause("serial"), engine.resume("serial"), engine.stop("serial", { graceSecs: 1 }), engine.start("serial")]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "fulfilled", "fulfilled", "fulfilled"]);
    expect((await engine.get("serial")).status).toBe("running");
    const revs = await engine.get("serial");
    expect(revs.revision).toBeGreaterThanOrEqual(6);
    await engine.delete("serial");
  });
});

describe("resize", () => {
  test("grows and shrinks memory and vCPUs live, reading the values back from the cgroup", async () => {
    const rt = await engine.create({ name: "rs", image: "busybox", vcpus: 0.5, memoryMib: 64 });
    const grown = await engine.resize("rs", { memoryMib: 256, vcpus: 1.5 });
    expect(grown.resources.requests).toEqual({ vcpus: 1.5, memory_mib: 256, disk_size_gib: 10 });
    expect(cgroupFile("memory", rt.id, "memory.limit_in_bytes")).toBe(String(256 * 1048576));
    expect(cgroupFile("memory", rt.id, "memory.memsw.limit_in_bytes")).toBe(String(256 * 1048576));
    expect(cgroupFile("cpu", rt.id, "cpu.cfs_quota_us")).toBe("150000");
    const shrunk = await engine.resize("rs", { memoryMib: 48 });
    expect(shrunk.resources.requests.memory_mib).toBe(48);
    expect(cgroupFile("memory", rt.id, "memory.memsw.limit_in_bytes")).toBe(String(48 * 1048576));
    expect(shrunk.revision).toBeGreaterThan(grown.revision);
  });

  test("shrinking below current usage is failed_precondition and keeps the old limit", async () => {
    const rt = await engine.get("rs");
    await engine.resize("rs", { memoryMib: 128 });
    // tmpfs pages are charged to the runtime's memory cgroup and cannot be reclaimed without swap.
    await sh("rs", "dd if=/dev/zero of=/dev/shm/fill bs=1M count=40 2>/dev/null");
    await rejectsWith(engine.resize("rs", { memoryMib: 24 }), "failed_precondition", /stays at 128 MiB/);
    expect(cgroupFile("memory", rt.id, "memory.limit_in_bytes")).toBe(String(128 * 1048576));
    expect((await engine.get("rs")).resources.requests.memory_mib).toBe(128);
    await rejectsWith(engine.resize("rs", { vcpus: 500 }), "invalid_argument", /vcpus/);
  });

  test("usage is read from the cgroup", async () => {
    const rt = await engine.get("rs", { usage: true });
    expect(rt.usage!.memory_bytes).toBeGreaterThan(40 * 1048576);
    expect(rt.usage!.memory_limit_bytes).toBe(128 * 1048576);
    expect(rt.usage!.cpu_usage_ns).toBeGreaterThan(0);
    expect(rt.usage!.pids).toBeGreaterThanOrEqual(1);
    await engine.delete("rs");
  });
});

describe("buffered exec", () => {
  beforeAll(async () => {
    await engine.create({ name: "ex", image: "busybox", memoryMib: 64, env: { FROM_RUNTIME: "rt" } });
  });

  test("argv is passed as is (no shell), with cwd, env layering and stdin", async () => {
    const r = await engine.exec("ex", { argv: ["echo", "$HOME", "a b", ";", "`id`"] });
    expect(r.stdout).toBe("$HOME a b ; `id`\n");
    const env = await engine.exec("ex", { argv: ["sh", "-c", "echo $FROM_RUNTIME $FROM_EXEC $(pwd)"], env: { FROM_EXEC: "ex" }, cwd: "/tmp" });
    expect(env.stdout).toBe("rt ex /tmp\n");
    const cat = await engine.exec("ex", { argv: ["cat"], stdin: Buffer.from("from stdin\n") });
    expect(cat.stdout).toBe("from stdin\n");
    const noStdin = await engine.exec("ex", { argv: ["cat"] });
    expect(noStdin.exit_code).toBe(0);
    await rejectsWith(engine.exec("ex", { argv: ["true"], cwd: "/nonexistent" }), "invalid_argument", /cwd/);
  });

  test("127 for not found, 126 for not executable, 255 from the command is the command's", async () => {
    const nf = await engine.exec("ex", { argv: ["no-such-command"] });
    expect(nf.exit_code).toBe(127);
    expect(nf.stderr).toMatch(/no-such-command: command not found/);
    const abs = await engine.exec("ex", { argv: ["/no/such/path"] });
    expect(abs.exit_code).toBe(127);
    const ne = await engine.exec("ex", { argv: ["/etc/passwd"] });
    expect(ne.exit_code).toBe(126);
    expect(ne.stderr).toMatch(/permission denied/);
    const e255 = await engine.exec("ex", { argv: ["sh", "-c", "echo out; echo err >&2; exit 255"] });
    expect(e255).toMatchObject({ exit_code: 255, stdout: "out\n", stderr: "err\n", signal: null, timed_out: false });
  });

  test("a signal death is 128+n with the signal's name", async () => {
    const r = await engine.exec("ex", { argv: ["sh", "-c", "kill -TERM $$"] });
    expect(r.exit_code).toBe(143);
    expect(r.signal).toBe("TERM");
  });

  test("timeout kills the whole process group, background children included", async () => {
    const started = Date.now();
    const r = await engine.exec("ex", { argv: ["sh", "-c", "sleep 100 & echo $! > /tmp/bg; echo started; sleep 100"], timeoutSecs: 1 });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(r).toMatchObject({ timed_out: true, exit_code: 137, signal: "KILL", stdout: "started\n" });
    const alive = await engine.exec("ex", { argv: ["sh", "-c", "kill -0 $(cat /tmp/bg)"] });
    expect(alive.exit_code).not.toBe(0);
    expect(await sh("ex", "ps -o comm | grep -c sleep || true")).toBe("0");
  });

  test("background jobs do not hold the answer back and keep running, whether or not they hold stdout (as docker exec)", async () => {
    const started = Date.now();
    const r = await engine.exec("ex", { argv: ["sh", "-c", "sleep 30 & setsid sleep 31 >/dev/null 2>&1 </dev/null & echo parent-done; exit 4"] });
    expect(r).toMatchObject({ exit_code: 4, stdout: "parent-done\n", timed_out: false });
    expect(Date.now() - started).toBeLessThan(3000);
    const quick = await engine.exec("ex", { argv: ["sh", "-c", "sleep 32 >/dev/null 2>&1 </dev/null & echo ok"] });
    expect(quick.stdout).toBe("ok\n");
    // The exec ended with its main process; its background jobs were left to the runtime's init, not killed. (A job
    // forked just before the exit may not have exec'd `setsid` yet on a loaded machine: look until it has, a while.)
    let procs = "";
    for (let i = 0; i < 50 && !/^sleep 31$/m.test(procs); i++) {
      if (i) await new Promise((r) => setTimeout(r, 100));
      procs = await sh("ex", "ps -o args");
    }
    expect(procs).toMatch(/^sleep 30$/m);
    expect(procs).toMatch(/^sleep 31$/m);
    expect(procs).toMatch(/^sleep 32$/m);
    await sh("ex", "kill $(ps -o pid,args | awk '/^ *[0-9]+ sleep 3[012]$/ {print $1}')");
  });

  test("output is capped per stream with the truncated flag, and still drained", async () => {
    const r = await engine.exec("ex", { argv: ["sh", "-c", "head -c 3000000 /dev/zero | tr '\\0' x; echo done >&2"], maxOutputBytes: 1000 });
    expect(r.exit_code).toBe(0); // drained: no SIGPIPE
    expect(r.stdout.length).toBe(1000);
    expect(r.stdout_truncated).toBe(true);
    expect(r.stderr).toBe("done\n");
    expect(r.stderr_truncated).toBe(false);
  });

  test("concurrent execs run at the same time", async () => {
    const started = Date.now();
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => engine.exec("ex", { argv: ["sh", "-c", `sleep 1; echo ${i}`] })));
    expect(results.map((r) => r.stdout.trim())).toEqual(["0", "1", "2", "3", "4", "5"]);
    expect(Date.now() - started).toBeLessThan(4000);
  });

  test("last_activity_at is updated", async () => {
    const before = Date.now();
    await engine.exec("ex", { argv: ["true"] });
    const rt = await engine.get("ex");
    expect(Date.parse(rt.last_activity_at!)).toBeGreaterThanOrEqual(before - 1000);
  });

  test("an OOM kill is reported", async () => {
    await engine.create({ name: "oom", image: "busybox", memoryMib: 32 });
    const r = await engine.exec("oom", { argv: ["dd", "if=/dev/zero", "of=/dev/null", "bs=96M", "count=1"] });
    expect(r.oom_killed).toBe(true);
    expect(r.exit_code).toBe(137);
    expect(r.signal).toBe("KILL");
    const ok = await engine.exec("oom", { argv: ["true"] });
    expect(ok.oom_killed).toBe(false);
    await engine.delete("oom");
  });
});

describe("images and misc", () => {
  test("listImages fills in_use_by and removeImage refuses an image in use", async () => {
    const images = await engine.listImages();
    const bb = images.find((i) => i.name === "busybox")!;
    expect(bb.in_use_by).toContain("ex");
    await rejectsWith(engine.removeImage("busybox"), "failed_precondition", /runta rm/);
  });

  test("list filters by status and pages with an opaque cursor", async () => {
    await engine.create({ name: "p1", image: "busybox", memoryMib: 32 });
    await engine.create({ name: "p2", image: "busybox", memoryMib: 32 });
    await engine.pause("p2");
    const paused = await engine.list({ status: ["paused"] });
    expect(paused.items.map((r) => r.name)).toEqual(["p2"]);
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await engine.list({ limit: 1, after });
      seen.push(...page.items.map((r) => r.name));
      if (!page.nextCursor) break;
      after = page.nextCursor;
    }
    expect(seen).toEqual((await engine.list()).items.map((r) => r.name));
    expect(seen.length).toBeGreaterThanOrEqual(3);
    await rejectsWith(engine.list({ after: "garbage" }), "invalid_argument", /cursor/);
    await engine.delete("p1");
    await engine.delete("p2");
  });

  test("version reports runc and the kernel", async () => {
    const v = await engine.version();
    expect(v.runc).toMatch(/^1\.\d+\.\d+/);
    expect(v.kernel).toMatch(/^\d+\.\d+/);
  });

  test("a missing runc binary is unavailable with the fix", async () => {
    await rejectsWith(RuncEngine.open({ ...env, runcPath: "/nonexistent/runc" }), "unavailable", /apt-get install runc/);
  });

  test("a broken runc binary is unavailable, naming the path and the fix", async () => {
    const fake = join(env.dataDir, "fake-runc");
    writeFileSync(fake, "#!/bin/sh\necho 'segfault' >&2\nexit 2\n", { mode: 0o755 });
    await rejectsWith(RuncEngine.open({ ...env, runcPath: fake }), "unavailable", new RegExp(`${fake}.*apt-get install runc`));
    rmSync(fake);
  });

  test("a full disk is resource_exhausted (507) and leaves nothing behind", async () => {
    const small = mkdtempSync(join(tmpdir(), "runta-full-"));
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", small]);
    let full: RuncEngine | undefined;
    try {
      full = await RuncEngine.open({ ...env, dataDir: small, imagesDir: env.imagesDir, logger });
      spawnSync("dd", ["if=/dev/zero", `of=${join(small, "filler")}`, "bs=64k"]);
      const err = await rejectsWith(full.create({ name: "nospace", image: "busybox", memoryMib: 32 }), "resource_exhausted", /no space left/);
      expect(err.httpStatus).toBe(507);
      rmSync(join(small, "filler"));
      await rejectsWith(full.get("nospace"), "not_found");
      expect(await readdir(join(small, "runtimes"))).toEqual([".pool"]);
    } finally {
      await full?.close();
      execFileSync("umount", [small]);
      rmSync(small, { recursive: true, force: true });
    }
  });

  test("resizing a shut-down runtime takes effect at its next boot", async () => {
    const rt = await engine.create({ name: "later", image: "busybox", vcpus: 0.5, memoryMib: 32 });
    await engine.stop("later", { graceSecs: 1 });
    expect((await engine.resize("later", { memoryMib: 96, vcpus: 1 })).resources.requests).toEqual({ vcpus: 1, memory_mib: 96, disk_size_gib: 10 });
    await engine.start("later");
    expect(cgroupFile("memory", rt.id, "memory.limit_in_bytes")).toBe(String(96 * 1048576));
    expect(cgroupFile("cpu", rt.id, "cpu.cfs_quota_us")).toBe("100000");
    await engine.delete("later");
  });

  test("a missing init is unavailable with the fix", async () => {
    await rejectsWith(RuncEngine.open({ ...env, initPath: "/nonexistent/catatonit" }), "unavailable", /apt-get install catatonit/);
  });
});
