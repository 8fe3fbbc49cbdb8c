import { expect, test } from "vitest";
import { LIMITS, RuntaError } from "../../src/api/index.js";
import { runcErrorMessage } from "../../src/engine/runc-failures.js";
import { validateName } from "../../src/engine/names.js";
import { DENIED_SYSCALLS, seccompProfile } from "../../src/engine/seccomp.js";
import { buildExecProcess, buildRuntimeSpec, cpuQuota, envList, nofileHardLimit } from "../../src/engine/spec.js";

const input = {
  id: "11111111-1111-4111-8111-111111111111",
  hostname: "web",
  rootfsPath: "/data/runtimes/x/rootfs",
  vcpus: 0.2,
  memoryMib: 64,
  env: { APP: "1" },
  cgroupParent: "runta",
};

type Spec = {
  process: { args: string[]; env: string[]; noNewPrivileges: boolean; capabilities: { bounding: string[] }; rlimits: Array<{ type: string; hard: number }> };
  hostname: string;
  root: { readonly: boolean };
  mounts: Array<{ destination: string; type: string; source: string; options?: string[] }>;
  linux: {
    cgroupsPath: string;
    namespaces: Array<{ type: string }>;
    resources: { memory: { limit: number; swap: number }; cpu: { quota: number; period: number }; pids: { limit: number }; devices: Array<{ allow: boolean }> };
    seccomp: ReturnType<typeof seccompProfile>;
    maskedPaths: string[];
  };
};

test("the runtime spec carries the limits, with memory+swap equal to memory", () => {
  const spec = buildRuntimeSpec(input) as unknown as Spec;
  expect(spec.linux.resources.memory).toEqual({ limit: 64 * 1048576, swap: 64 * 1048576 });
  expect(spec.linux.resources.cpu).toEqual({ quota: 20_000, period: 100_000 });
  expect(spec.linux.resources.pids.limit).toBe(LIMITS.pidsLimit);
  expect(spec.linux.cgroupsPath).toBe(`/runta/${input.id}`);
  expect(spec.mounts.find((m) => m.destination === "/dev/shm")?.options).toContain(`size=${LIMITS.shmSizeMib * 1024}k`);
});

test("the runtime spec is hardened: namespaces, seccomp, no_new_privs, devices deny-all, masked paths, catatonit as PID 1", () => {
  const spec = buildRuntimeSpec(input) as unknown as Spec;
  expect(spec.linux.namespaces.map((n) => n.type).sort()).toEqual(["cgroup", "ipc", "mount", "network", "pid", "uts"]);
  expect(spec.process.noNewPrivileges).toBe(true);
  expect(spec.process.capabilities.bounding).not.toContain("CAP_SYS_ADMIN");
  expect(spec.process.capabilities.bounding).not.toContain("CAP_NET_RAW");
  expect(spec.linux.resources.devices[0]).toEqual({ allow: false, access: "rwm" });
  expect(spec.linux.maskedPaths).toContain("/proc/kcore");
  expect(spec.linux.maskedPaths).toContain("/sys/devices/virtual/powercap");
  expect(spec.process.args).toEqual(["/.runta/catatonit", "-P"]);
  // The init is a file of the runtime's own root (rootfs.ts installInit), never a bind mount of a host file.
  expect(spec.mounts.filter((m) => m.type === "bind")).toEqual([]);
  expect(spec.hostname).toBe("web");
  expect(spec.root.readonly).toBe(false);
  expect(spec.process.env).toContain("APP=1");
});

test("rlimits never exceed the daemon's hard limit", () => {
  const spec = buildRuntimeSpec(input) as unknown as Spec;
  const nofile = spec.process.rlimits.find((r) => r.type === "RLIMIT_NOFILE")!;
  expect(nofile.hard).toBeLessThanOrEqual(nofileHardLimit());
  expect(nofileHardLimit("Limit  Soft Limit  Hard Limit  Units\nMax open files            1024                 20000                files\n")).toBe(20000);
});

test("seccomp denies the dangerous calls with EPERM and namespace flags of clone", () => {
  const profile = seccompProfile();
  expect(profile.defaultAction).toBe("SCMP_ACT_ALLOW");
  const denied = profile.syscalls.find((r) => !r.args)!;
  for (const name of ["unshare", "setns", "mount", "umount2", "pivot_root", "keyctl", "add_key", "request_key", "bpf", "perf_event_open", "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register", "init_module", "finit_module", "delete_module", "kexec_load", "kexec_file_load"]) {
    expect(denied.names, name).toContain(name);
  }
  expect(denied.errnoRet).toBe(1);
  expect(DENIED_SYSCALLS.length).toBe(denied.names.length);
  const cloneRules = profile.syscalls.filter((r) => r.names.includes("clone"));
  // CLONE_NEWUSER and CLONE_NEWNET among the per-flag rules, each as "(flags & f) == f".
  expect(cloneRules.map((r) => r.args![0].value)).toEqual(expect.arrayContaining([0x10000000, 0x40000000]));
  expect(cloneRules.every((r) => r.args![0].op === "SCMP_CMP_MASKED_EQ" && r.args![0].value === r.args![0].valueTwo)).toBe(true);
});

test("exec processes layer env (defaults < runtime < exec) and carry a console size for a tty", () => {
  const p = buildExecProcess({ argv: ["ls"], env: { A: "exec" }, imageEnv: { A: "runtime", B: "runtime" }, tty: true, rows: 30, cols: 100, cwd: "/tmp" });
  expect(p.env).toEqual(expect.arrayContaining(["A=exec", "B=runtime", "TERM=xterm-256color"]));
  expect(p.env.some((e) => e.startsWith("PATH="))).toBe(true);
  expect(p.consoleSize).toEqual({ height: 30, width: 100 });
  expect(p.terminal).toBe(true);
  expect(p.cwd).toBe("/tmp");
  expect(envList({ A: "1" }, undefined, { A: "2" })).toEqual(["A=2"]);
});

test("fractional vCPUs map to a CFS quota, never under the kernel's 1 ms minimum", () => {
  expect(cpuQuota(0.2)).toBe(20_000);
  expect(cpuQuota(1.5)).toBe(150_000);
  expect(cpuQuota(0.001)).toBe(1000);
});

test("names: say exactly what is wrong", () => {
  expect(() => validateName("ok-name_1.2")).not.toThrow();
  const msg = (n: string) => {
    try {
      validateName(n);
      return "";
    } catch (e) {
      expect(e).toBeInstanceOf(RuntaError);
      return (e as RuntaError).message;
    }
  };
  expect(msg("../etc")).toMatch(/'\/' or '\.\.'/);
  expect(msg("a\u0007b")).toMatch(/control characters/);
  expect(msg("x".repeat(300))).toMatch(/300 characters long/);
  expect(msg("-lead")).toMatch(/start with a letter or digit/);
  expect(msg("")).toMatch(/empty/);
  expect(msg("a b")).toMatch(/characters other than/);
});

test("runc's error is taken from its JSON log, plain lines as a fallback", () => {
  const log = '{"level":"info","msg":"x"}\n{"level":"error","msg":"container does not exist","time":"t"}\n';
  expect(runcErrorMessage(log)).toBe("container does not exist");
  expect(runcErrorMessage("exec failed: boom\n")).toBe("exec failed: boom");
  expect(runcErrorMessage("")).toBe("no error message");
});

test("LXCFS views are read-only bind mounts over /proc and /sys files; the cpuset goes into the CPU resources", () => {
  const procViews = [
    { destination: "/proc/meminfo", source: "/data/lxcfs/proc/meminfo" },
    { destination: "/sys/devices/system/cpu/online", source: "/data/lxcfs/sys/devices/system/cpu/online" },
  ];
  const spec = buildRuntimeSpec({ ...input, procViews, cpus: "1" }) as unknown as Spec & { linux: { resources: { cpu: Record<string, unknown> } } };
  const binds = spec.mounts.filter((m) => m.type === "bind");
  expect(binds.map((m) => [m.destination, m.source])).toEqual(procViews.map((v) => [v.destination, v.source]));
  for (const m of binds) expect(m.options).toEqual(expect.arrayContaining(["ro", "nosuid", "nodev", "noexec"]));
  // After the sysfs mount, or sysfs would hide the view of cpu/online.
  expect(spec.mounts.findIndex((m) => m.destination === "/sys/devices/system/cpu/online")).toBeGreaterThan(spec.mounts.findIndex((m) => m.destination === "/sys"));
  expect(spec.linux.resources.cpu).toEqual({ quota: 20_000, period: 100_000, cpus: "1" });
  expect((buildRuntimeSpec(input) as unknown as { linux: { resources: { cpu: Record<string, unknown> } } }).linux.resources.cpu).not.toHaveProperty("cpus");
});
