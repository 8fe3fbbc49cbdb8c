/**
 * The OCI runtime spec of a runtime and of the processes exec'd into it.
 * The base is what `runc spec` prints (written out here so it never depends on runc's version); on top of it go the
 * hardening and limits of DESIGN §5: a seccomp deny-list, cgroup and network namespaces, masked and read-only /proc
 * paths, no_new_privileges, devices deny-all, capabilities close to Docker's default set, rlimits kept under the
 * daemon's own hard limits, and the exec agent (agent/) or catatonit as the reaping PID 1 (a file in the runtime's own
 * root, not a mount).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { EGRESS_CA_PATH_IN_RUNTIME, LIMITS, SECRET_STUB } from "../api/index.js";
import type { ResolvedUser } from "./execs/user.js";
import { seccompProfile } from "./seccomp.js";

/** CFS period used for every runtime; the quota is vcpus × this. */
export const CPU_PERIOD_US = 100_000;

/** Where the host's catatonit is put inside every runtime (copied into its root at boot: rootfs.ts installInit). */
export const INIT_PATH_IN_RUNTIME = "/.runta/catatonit";

/**
 * Environment every process in a runtime starts from (a runtime's own env and an exec's env are layered on top).
 * Node reads no system trust store: NODE_EXTRA_CA_CERTS makes it trust the egress CA (secrets/trust.ts) too.
 */
export const DEFAULT_ENV: Readonly<Record<string, string>> = {
  PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  HOME: "/root",
  LANG: "C.UTF-8",
  NODE_EXTRA_CA_CERTS: EGRESS_CA_PATH_IN_RUNTIME,
};

/** Each secret's name holding the stub (never the value: the egress proxy puts that into requests, secrets/). */
export function secretStubs(names: readonly string[] | undefined): Record<string, string> | undefined {
  return names?.length ? Object.fromEntries(names.map((n) => [n, SECRET_STUB])) : undefined;
}

/**
 * Capabilities of processes in a runtime: Docker's default set without NET_RAW and MKNOD (no raw sockets, and
 * device nodes are useless behind the devices deny-all). Enough for apt, chown, su and friends.
 */
export const CAPABILITIES = [
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FSETID",
  "CAP_FOWNER",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETFCAP",
  "CAP_SETPCAP",
  "CAP_NET_BIND_SERVICE",
  "CAP_SYS_CHROOT",
  "CAP_KILL",
  "CAP_AUDIT_WRITE",
];

/** An OCI process object, as in config.json and in `runc exec --process`. */
export interface OciProcess {
  terminal: boolean;
  user: { uid: number; gid: number; additionalGids?: number[] };
  args: string[];
  env: string[];
  cwd: string;
  capabilities: Record<"bounding" | "effective" | "permitted", string[]>;
  rlimits: Array<{ type: string; hard: number; soft: number }>;
  noNewPrivileges: boolean;
  consoleSize?: { height: number; width: number };
}

let cachedNofileHard: number | undefined;

/**
 * The daemon's hard RLIMIT_NOFILE. runc cannot raise a limit above it without CAP_SYS_RESOURCE (which root lacks
 * on the test machines), and a spec that asks for more fails at start with EPERM.
 */
export function nofileHardLimit(limitsText?: string): number {
  if (limitsText === undefined && cachedNofileHard !== undefined) return cachedNofileHard;
  const text = limitsText ?? readFileSync("/proc/self/limits", "utf8");
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(text);
  const hard = !m || m[2] === "unlimited" ? 1_048_576 : Number(m[2]);
  if (limitsText === undefined) cachedNofileHard = hard;
  return hard;
}

function rlimits(): OciProcess["rlimits"] {
  const nofile = Math.min(nofileHardLimit(), 1_048_576);
  return [{ type: "RLIMIT_NOFILE", hard: nofile, soft: nofile }];
}

/** `KEY=value` lines from layered maps, later maps winning. */
export function envList(...layers: Array<Record<string, string> | undefined>): string[] {
  const merged: Record<string, string> = {};
  for (const layer of layers) Object.assign(merged, layer ?? {});
  return Object.entries(merged).map(([k, v]) => `${k}=${v}`);
}

/**
 * The OCI process for `runc exec --process`, used by buffered and streamed exec alike: every default of an exec'd
 * process is decided here and nowhere else. `imageEnv` is the runtime's environment (defaults + the runtime's env);
 * `env` (the exec's own) wins over it, and a tty adds `TERM=xterm-256color` under it. Every secret's name
 * (`secretNames`) holds the stub, under the runtime's and the exec's env. The working directory defaults
 * to /root when the runtime's root (`rootfs`) has one (Debian does), else /. A tty gets a console of `rows`×`cols`
 * (default 24×80), which runc also gives the pty it copies the console to.
 */
export function buildExecProcess(opts: {
  argv: string[];
  cwd?: string;
  env?: Record<string, string>;
  tty: boolean;
  imageEnv?: Record<string, string>;
  rows?: number;
  cols?: number;
  /** The runtime's merged root on the host, to pick the default cwd. */
  rootfs?: string;
  /** Who runs it (`exec -u`, resolved by execs/user.ts); default root. */
  user?: ResolvedUser;
  /** The daemon's secrets' names: each becomes a variable holding the stub. */
  secretNames?: readonly string[];
}): OciProcess {
  const user = opts.user;
  const home = user && user.uid !== 0 ? { HOME: user.home } : undefined;
  const env = envList(DEFAULT_ENV, secretStubs(opts.secretNames), opts.imageEnv, home, opts.tty ? { TERM: "xterm-256color" } : undefined, opts.env);
  // Another user gets no capabilities at all (only the bounding set stays): runc would otherwise hand it root's
  // (CAP_DAC_OVERRIDE and friends), and `-u nobody` must not read what nobody cannot.
  const caps = user && user.uid !== 0 ? [] : CAPABILITIES;
  const proc: OciProcess = {
    terminal: opts.tty,
    user: user ? { uid: user.uid, gid: user.gid, ...(user.additionalGids.length ? { additionalGids: user.additionalGids } : {}) } : { uid: 0, gid: 0 },
    args: opts.argv,
    env,
    cwd: opts.cwd ?? defaultCwd(opts.rootfs, user),
    capabilities: { bounding: CAPABILITIES, effective: caps, permitted: caps },
    rlimits: rlimits(),
    noNewPrivileges: true,
  };
  if (opts.tty) proc.consoleSize = { height: opts.rows ?? 24, width: opts.cols ?? 80 };
  return proc;
}

/** Root: /root when the root filesystem has it (or is not given), else /. Another user: its home if it exists, else /. */
function defaultCwd(rootfs: string | undefined, user?: ResolvedUser): string {
  const home = user && user.uid !== 0 ? user.home : "/root";
  return rootfs === undefined || existsSync(join(rootfs, home)) ? home : "/";
}

/** What the spec of one runtime depends on. */
export interface RuntimeSpecInput {
  /** Container id (the runtime's UUID). */
  id: string;
  /** The hostname inside (the runtime's name unless one was given). */
  hostname: string;
  /** Absolute path of the merged overlay root. */
  rootfsPath: string;
  vcpus: number;
  memoryMib: number;
  env?: Record<string, string>;
  /** The runtime's cgroup parent; the cgroup is `<parent>/<id>`. */
  cgroupParent: string;
  /** The network namespace to join (made by the network room); absent: runc makes one with loopback only. */
  netnsPath?: string | null;
  /** The host CPUs it may run on (`0-1`, `1`; views/cpuset.ts); absent: all of them. */
  cpus?: string;
  /** LXCFS files bound over /proc and /sys so they show the runtime's limits (views/lxcfs.ts); absent: the host's. */
  procViews?: Array<{ destination: string; source: string }>;
  /** Volumes (volumes/): each a host directory bound at its path inside, read-only when asked. */
  volumes?: Array<{ source: string; destination: string; readOnly: boolean }>;
  /** OCI annotations (the record's fields, so a lost record can be rebuilt: recover.ts). */
  annotations?: Record<string, string>;
  /** The init's argv: the exec agent's path (agent/agents.ts), catatonit with a browser runtime's Chromium as its child, or absent for catatonit in pause mode. */
  initArgv?: string[];
}

/** The standard character devices every container needs; everything else is denied. */
const ALLOWED_DEVICES = [
  { major: 1, minor: 3 }, // null
  { major: 1, minor: 5 }, // zero
  { major: 1, minor: 7 }, // full
  { major: 1, minor: 8 }, // random
  { major: 1, minor: 9 }, // urandom
  { major: 5, minor: 0 }, // tty
  { major: 5, minor: 2 }, // ptmx
  { major: 136, minor: -1 }, // pts/*
];

/** Bytes of a memory limit in MiB. */
export function mibToBytes(mib: number): number {
  return mib * 1024 * 1024;
}

/** CFS quota for a number of vCPUs (fractions allowed), never below the kernel's 1 ms minimum. */
export function cpuQuota(vcpus: number): number {
  return Math.max(1000, Math.round(vcpus * CPU_PERIOD_US));
}

/** The full config.json of a runtime. */
export function buildRuntimeSpec(input: RuntimeSpecInput): Record<string, unknown> {
  const memory = mibToBytes(input.memoryMib);
  // The init gets exactly an exec's process as root: the agent starts execs with at most its own capabilities.
  const initProcess = buildExecProcess({ argv: input.initArgv ?? [INIT_PATH_IN_RUNTIME, "-P"], cwd: "/", tty: false, imageEnv: input.env });
  return {
    ociVersion: "1.0.2-dev",
    ...(input.annotations ? { annotations: input.annotations } : {}),
    process: initProcess,
    root: { path: input.rootfsPath, readonly: false },
    hostname: input.hostname,
    mounts: [
      { destination: "/proc", type: "proc", source: "proc" },
      { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=65536k"] },
      {
        destination: "/dev/pts",
        type: "devpts",
        source: "devpts",
        options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
      },
      {
        destination: "/dev/shm",
        type: "tmpfs",
        source: "shm",
        options: ["nosuid", "noexec", "nodev", "mode=1777", `size=${LIMITS.shmSizeMib * 1024}k`],
      },
      { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
      { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
      { destination: "/sys/fs/cgroup", type: "cgroup", source: "cgroup", options: ["nosuid", "noexec", "nodev", "relatime", "ro"] },
      ...(input.procViews ?? []).map((v) => ({ destination: v.destination, type: "bind", source: v.source, options: ["bind", "ro", "nosuid", "nodev", "noexec"] })),
      // runc makes a missing destination directory (inside the root, symlinks resolved within it) and, for "ro",
      // remounts the bind read-only: the runtime cannot write there, while other runtimes may mount it read-write.
      ...(input.volumes ?? []).map((v) => ({ destination: v.destination, type: "bind", source: v.source, options: ["bind", v.readOnly ? "ro" : "rw", "nosuid", "nodev"] })),
    ],
    linux: {
      // Absolute: runc resolves a relative cgroupsPath against the daemon's own cgroup in each hierarchy (which may
      // differ per controller, e.g. under a supervisor); absolute puts every runtime at /<parent>/<id> everywhere.
      cgroupsPath: `/${input.cgroupParent}/${input.id}`,
      resources: {
        devices: [
          { allow: false, access: "rwm" },
          // An absent minor is OCI's wildcard.
          ...ALLOWED_DEVICES.map((d) => ({ allow: true, type: "c", major: d.major, ...(d.minor >= 0 ? { minor: d.minor } : {}), access: "rwm" })),
        ],
        // OCI's swap is memory+swap: equal to the limit means no swap at all.
        memory: { limit: memory, swap: memory },
        cpu: { quota: cpuQuota(input.vcpus), period: CPU_PERIOD_US, ...(input.cpus ? { cpus: input.cpus } : {}) },
        pids: { limit: LIMITS.pidsLimit },
      },
      // The runtime joins the namespace the network room wired (or, without one, runc makes a loopback-only one);
      // the cgroup namespace hides the host's hierarchy.
      namespaces: [
        { type: "pid" },
        input.netnsPath ? { type: "network", path: input.netnsPath } : { type: "network" },
        { type: "ipc" },
        { type: "uts" },
        { type: "mount" },
        { type: "cgroup" },
      ],
      seccomp: seccompProfile(),
      maskedPaths: [
        "/proc/acpi",
        "/proc/asound",
        "/proc/kcore",
        "/proc/keys",
        "/proc/latency_stats",
        "/proc/timer_list",
        "/proc/timer_stats",
        "/proc/sched_debug",
        "/sys/firmware",
        "/proc/scsi",
        // RAPL energy counters leak what other processes compute (CVE-2020-8694, "Platypus"); absent on most VMs.
        "/sys/devices/virtual/powercap",
        // Per-CPU interrupt counts of the host's devices (Docker masks it too): a side channel on other tenants' activity.
        "/proc/interrupts",
      ],
      // /sys/fs/cgroup: on cgroup v1 runc mounts a tmpfs there and binds the hierarchies read-only into it, but leaves
      // the tmpfs itself writable (anything could be created beside them); bound read-only as a whole, as Docker has it.
      readonlyPaths: ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger", "/sys/fs/cgroup"],
    },
  };
}
