/**
 * The floor: raw `runc` doing each operation on a bundle shaped like a runta runtime (overlay root over the same
 * busybox lower layer, catatonit -P as init, detached, own cgroup with CPU/memory/pids limits, cgroup namespace,
 * a seccomp deny-list), with no daemon, no database and no HTTP. Nothing measured by runta can be cheaper than this.
 */
import { mkdirSync, writeFileSync, readFileSync, rmSync, rmdirSync, openSync, closeSync, existsSync, readdirSync, copyFileSync } from "node:fs";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { run, waitFor } from "./proc.js";
import { CATATONIT } from "./rootfs.js";

const RUNC = "runc";
const MIB = 1024 * 1024;
const CGROUP_V1_ROOT = "/sys/fs/cgroup";

/** Syscalls the runta hardening baseline denies (DESIGN §5); the floor loads the same kind of filter. */
const DENIED_SYSCALLS = [
  "unshare", "setns", "mount", "umount2", "pivot_root", "keyctl", "add_key", "request_key", "bpf", "perf_event_open",
  "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register", "init_module", "finit_module",
  "delete_module", "kexec_load", "kexec_file_load",
];

/**
 * @typedef {object} FloorHandle
 * @property {string} id
 * @property {string} dir bundle directory (config.json, upper, work, merged)
 * @property {number} pid host pid of the container's init while it runs
 * @property {number} runDetachedMs how long `runc run -d` alone took at create
 */

/** Raw runc with its own state root and cgroup parent, both removed by {@link RuncFloor.teardown}. */
export class RuncFloor {
  /**
   * @param {{workDir:string, lowerDir:string}} opts lowerDir is the read-only busybox root
   */
  constructor(opts) {
    this.name = "floor";
    this.level = "runc";
    const tag = randomBytes(4).toString("hex");
    this.workDir = join(opts.workDir, "floor");
    this.lowerDir = opts.lowerDir;
    this.runcRoot = `/run/runta-bench-${tag}/runc`;
    this.cgroupParent = `runta-bench-floor-${tag}`;
    /** @type {Map<string, FloorHandle>} */
    this.live = new Map();
    /** @type {any} */
    this.baseSpec = undefined;
    /** The engine's own spec builder when the build has it, so the floor runs exactly runta's spec shape. @type {any} */
    this.engineSpec = undefined;
    /** Which spec the floor used, for the report. */
    this.specSource = "";
  }

  async setup() {
    mkdirSync(this.workDir, { recursive: true });
    mkdirSync(this.runcRoot, { recursive: true });
    const specDir = join(this.workDir, "spec");
    mkdirSync(specDir, { recursive: true });
    await run(RUNC, ["spec", "--bundle", specDir]);
    this.baseSpec = JSON.parse(readFileSync(join(specDir, "config.json"), "utf8"));
    try {
      const mod = await import(new URL("../../dist/engine/spec.js", import.meta.url).href);
      if (typeof mod.buildRuntimeSpec === "function") this.engineSpec = mod.buildRuntimeSpec;
    } catch {
      /* not built yet: the bench's own equivalent spec below */
    }
    this.specSource = this.engineSpec ? "runta engine's buildRuntimeSpec (dist/engine/spec.js)" : "runc spec + the same limits, namespaces and seccomp deny-list";
  }

  /** @param {string[]} args */
  runc(args, opts = {}) {
    return run(RUNC, ["--root", this.runcRoot, ...args], opts);
  }

  /**
   * The OCI spec of one container: `runc spec` defaults plus what runta adds.
   * @param {string} id @param {string} rootPath
   */
  spec(id, rootPath) {
    if (this.engineSpec) {
      return this.engineSpec({
        // Absolute: runc resolves a relative cgroupsPath against its own cgroup in each hierarchy (cgroup v1).
        id, hostname: id, rootfsPath: rootPath, vcpus: 1, memoryMib: 1024, cgroupParent: `/${this.cgroupParent}`,
      });
    }
    const s = structuredClone(this.baseSpec);
    s.process.terminal = false;
    s.process.args = ["/sbin/catatonit", "-P"];
    s.root = { path: rootPath, readonly: false };
    s.hostname = id.slice(0, 63);
    for (const m of s.mounts) if (m.destination === "/dev/shm") m.options = m.options.map((/** @type {string} */ o) => (o.startsWith("size=") ? "size=65536k" : o));
    s.linux.namespaces.push({ type: "cgroup" });
    s.linux.cgroupsPath = `/${this.cgroupParent}/${id}`;
    s.linux.resources = {
      ...s.linux.resources,
      memory: { limit: 1024 * MIB, swap: 1024 * MIB },
      cpu: { quota: 100000, period: 100000 },
      pids: { limit: 1024 },
    };
    s.linux.seccomp = {
      defaultAction: "SCMP_ACT_ALLOW",
      architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
      syscalls: [{ names: DENIED_SYSCALLS, action: "SCMP_ACT_ERRNO", errnoRet: 1 }],
    };
    return s;
  }

  /** Everything runta's create does on the host: upper/work dirs, overlay mount, config.json, then `runc run -d`. */
  async create(/** @type {string} */ name) {
    const id = name;
    const dir = join(this.workDir, id);
    for (const d of ["upper", "work", "merged"]) mkdirSync(join(dir, d), { recursive: true });
    await run("mount", ["-t", "overlay", "overlay", "-o", `lowerdir=${this.lowerDir},upperdir=${dir}/upper,workdir=${dir}/work`, `${dir}/merged`]);
    // The engine's spec runs the init from the runtime's own root, where runta copies it at boot (rootfs.ts installInit).
    if (this.engineSpec) {
      mkdirSync(join(dir, "merged", ".runta"), { recursive: true });
      copyFileSync(CATATONIT, join(dir, "merged", ".runta", "catatonit"));
    }
    writeFileSync(join(dir, "config.json"), JSON.stringify(this.spec(id, join(dir, "merged"))));
    /** @type {FloorHandle} */
    const h = { id, dir, pid: 0, runDetachedMs: 0 };
    this.live.set(id, h);
    const t0 = performance.now();
    await this.runDetached(h);
    h.runDetachedMs = performance.now() - t0;
    return h;
  }

  /** `runc run -d` alone (the figure the create target is defined against). @param {FloorHandle} h */
  async runDetached(h) {
    // runc -d hands its stdio to the container's init: give it a file, not a pipe, or the pipe never closes.
    const errFile = join(h.dir, "init.log");
    const fd = openSync(errFile, "w");
    try {
      await new Promise((resolve, reject) => {
        const pidFile = join(h.dir, "init.pid");
        const child = spawn(RUNC, ["--root", this.runcRoot, "run", "-d", "--pid-file", pidFile, "--bundle", h.dir, h.id], {
          stdio: ["ignore", fd, fd],
        });
        child.on("error", reject);
        child.on("close", (code) => {
          if (code === 0) {
            h.pid = Number(readFileSync(pidFile, "utf8"));
            resolve(undefined);
          } else reject(new Error(`runc run -d ${h.id}: exit ${code}: ${readFileSync(errFile, "utf8").trim()}`));
        });
      });
    } finally {
      closeSync(fd);
    }
  }

  /** @param {FloorHandle} h @param {string[]} argv @returns {Promise<number>} stdout bytes */
  async exec(h, argv) {
    const r = await this.runc(["exec", h.id, ...argv]);
    return r.stdoutBytes;
  }

  /** @param {FloorHandle} h */
  pause(h) {
    return this.runc(["pause", h.id]);
  }

  /** @param {FloorHandle} h */
  resume(h) {
    return this.runc(["resume", h.id]);
  }

  /** @param {FloorHandle} h @param {number} mib */
  resize(h, mib) {
    return this.runc(["update", "--memory", `${mib * MIB}`, "--memory-swap", `${mib * MIB}`, h.id]);
  }

  /** Kill, wait for init to be gone, delete: `runc delete -f` would sleep 100 ms (DESIGN §10). @param {FloorHandle} h */
  async shutdown(h) {
    await this.runc(["kill", h.id, "KILL"]);
    const pid = h.pid;
    await waitFor(() => !isAlive(pid), `init ${pid} of ${h.id} to exit`, { everyMs: 1 });
    await this.runc(["delete", h.id]);
    h.pid = 0;
  }

  /** @param {FloorHandle} h */
  boot(h) {
    return this.runDetached(h);
  }

  /** Stop if running, unmount, remove the upper layer. @param {FloorHandle} h */
  async rm(h) {
    if (h.pid) await this.shutdown(h);
    await run("umount", [join(h.dir, "merged")]);
    rmSync(h.dir, { recursive: true, force: true });
    this.live.delete(h.id);
  }

  /** `runc list` as JSON (what `ps` needs). @returns {Promise<number>} count */
  async list() {
    const r = await this.runc(["list", "--format", "json"], { keepStdout: true });
    const parsed = JSON.parse(r.stdout.toString() || "null");
    return parsed ? parsed.length : 0;
  }

  /** The command that runs `argv` under a fresh pty in the container, for the TTY echo test. @param {FloorHandle} h @param {string[]} argv */
  ttyCommand(h, argv) {
    return { file: RUNC, args: ["--root", this.runcRoot, "exec", "-t", h.id, ...argv], env: process.env };
  }

  /** Removes every container, mount, cgroup and directory this floor made; returns what it could not remove. */
  async teardown() {
    /** @type {string[]} */
    const leaks = [];
    for (const h of [...this.live.values()]) {
      try {
        await this.rm(h);
      } catch (e) {
        await this.runc(["delete", "-f", h.id], { allowFail: true });
        await run("umount", ["-l", join(h.dir, "merged")], { allowFail: true });
        rmSync(h.dir, { recursive: true, force: true });
        this.live.delete(h.id);
      }
    }
    const left = await this.runc(["list", "-q"], { keepStdout: true, allowFail: true });
    if (left.stdout.toString().trim()) leaks.push(`runc containers left in ${this.runcRoot}: ${left.stdout.toString().trim()}`);
    leaks.push(...removeCgroupParent(this.cgroupParent));
    rmSync(join(this.runcRoot, ".."), { recursive: true, force: true });
    rmSync(this.workDir, { recursive: true, force: true });
    return leaks;
  }
}

/** Whether a pid is a live (non-zombie) process. @param {number} pid */
export function isAlive(pid) {
  if (!pid) return false;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/**
 * Removes a cgroup v1 parent (and its children) from every controller; returns what could not be removed.
 * Looks both at the hierarchy's root and below this process's own cgroup: runc resolves a relative cgroupsPath
 * against the cgroup of the process that runs it, so a daemon given a relative parent puts runtimes there.
 * @param {string} parent
 */
export function removeCgroupParent(parent) {
  /** @type {string[]} */
  const leaks = [];
  if (!existsSync(CGROUP_V1_ROOT)) return leaks;
  /** @type {Map<string, string>} controller → this process's cgroup path in it */
  const own = new Map();
  for (const line of readFileSync("/proc/self/cgroup", "utf8").split("\n")) {
    const [, controllers, path] = line.split(":");
    if (controllers && path) for (const c of controllers.split(",")) own.set(c.replace(/^name=/, ""), path);
  }
  for (const controller of readdirSync(CGROUP_V1_ROOT)) {
    const candidates = new Set([join(CGROUP_V1_ROOT, controller, parent)]);
    const mine = own.get(controller);
    if (mine && mine !== "/") candidates.add(join(CGROUP_V1_ROOT, controller, mine, parent));
    for (const dir of candidates) {
      if (!existsSync(dir)) continue;
      removeTree(dir);
      if (existsSync(dir)) leaks.push(`cgroup ${dir} is still there (processes left in it?)`);
    }
  }
  return leaks;
}

/** Removes a cgroup directory tree bottom-up. @param {string} dir */
function removeTree(dir) {
  for (const child of readdirSync(dir, { withFileTypes: true })) {
    if (child.isDirectory()) removeTree(join(dir, child.name));
  }
  rmdirQuiet(dir);
}

/** cgroup directories go with rmdir(2) only; a busy one stays and is reported by the caller. @param {string} dir */
function rmdirQuiet(dir) {
  try {
    rmdirSync(dir);
  } catch {
    /* reported by the caller's existence check */
  }
}
