/**
 * Docker and Podman as peers, driven through their own CLIs (what a user types), each with private state so the
 * benchmark never touches a developer's engine: Docker gets its own dockerd (no bridge, no iptables, private data and
 * exec roots, own cgroup parent); Podman gets its own storage roots and a containers.conf that selects runc (crun
 * refuses hybrid cgroups here) and keeps nofile at or below the host's hard limit. Both run the busybox rootfs
 * imported from the same tarball, with catatonit -P as the command, like a runta runtime.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { run, sleep, waitFor } from "./proc.js";
import { removeCgroupParent } from "./floor.js";

/** @param {string} name */
function which(name) {
  for (const dir of (process.env.PATH ?? "").split(":")) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  return null;
}

/**
 * @typedef {object} PeerHandle
 * @property {string} id container name
 */

/** Common verbs of a Docker-compatible CLI. */
class CliPeer {
  /**
   * @param {string} name
   * @param {string} bin
   * @param {string[]} globalArgs
   * @param {NodeJS.ProcessEnv} env
   * @param {string} cgroupParent
   */
  constructor(name, bin, globalArgs, env, cgroupParent) {
    this.name = name;
    this.level = "cli";
    this.bin = bin;
    this.globalArgs = globalArgs;
    this.env = env;
    this.cgroupParent = cgroupParent;
    this.image = "runta-bench-busybox";
    /** @type {Set<string>} */
    this.live = new Set();
    /** Which version answered, for the report. */
    this.version = "";
    /** Extra `run` flags this engine needs on this host. @type {string[]} */
    this.runArgs = [];
  }

  /** @param {string[]} args @param {import("./proc.js").RunOptions} [opts] */
  cli(args, opts = {}) {
    return run(this.bin, [...this.globalArgs, ...args], { env: this.env, ...opts });
  }

  /** @param {string} tarball */
  async importImage(tarball) {
    await this.cli(["import", "--change", 'CMD ["/sbin/catatonit","-P"]', tarball, this.image]);
  }

  /** `run -d` with the same limits a runta runtime gets by default. @param {string} name */
  async create(name) {
    await this.cli([
      "run", "-d", "--name", name, "--network", "none", "--cpus", "1", "--memory", "1024m", "--memory-swap", "1024m",
      "--pids-limit", "1024", "--shm-size", "64m", "--cgroup-parent", `/${this.cgroupParent}`, ...this.runArgs, this.image,
      "/sbin/catatonit", "-P",
    ]);
    this.live.add(name);
    return { id: name };
  }

  /** @param {PeerHandle} h @param {string[]} argv */
  async exec(h, argv) {
    return (await this.cli(["exec", h.id, ...argv])).stdoutBytes;
  }

  /** @param {PeerHandle} h */
  pause(h) {
    return this.cli(["pause", h.id]);
  }

  /** @param {PeerHandle} h */
  resume(h) {
    return this.cli(["unpause", h.id]);
  }

  /** @param {PeerHandle} h @param {number} mib */
  resize(h, mib) {
    return this.cli(["update", "--memory", `${mib}m`, "--memory-swap", `${mib}m`, h.id]);
  }

  /** @param {PeerHandle} h */
  shutdown(h) {
    return this.cli(["stop", h.id]);
  }

  /** @param {PeerHandle} h */
  boot(h) {
    return this.cli(["start", h.id]);
  }

  /** @param {PeerHandle} h */
  async rm(h) {
    await this.cli(["rm", "-f", h.id]);
    this.live.delete(h.id);
  }

  /** `ps`, as a user would type it (running containers, table). @returns {Promise<number>} bytes printed */
  async list() {
    return (await this.cli(["ps"])).stdoutBytes;
  }

  /** @param {PeerHandle} h @param {string[]} argv */
  ttyCommand(h, argv) {
    return { file: this.bin, args: [...this.globalArgs, "exec", "-it", h.id, ...argv], env: this.env };
  }

  async removeAll() {
    const ids = [...this.live];
    for (let i = 0; i < ids.length; i += 50) {
      await this.cli(["rm", "-f", ...ids.slice(i, i + 50)], { allowFail: true });
    }
    this.live.clear();
  }
}

/** A private dockerd started for the run and stopped at the end. */
export class DockerPeer extends CliPeer {
  /** @param {string} workDir */
  constructor(workDir) {
    const tag = randomBytes(4).toString("hex");
    const dir = join(workDir, "docker");
    const sock = join(dir, "docker.sock");
    super("docker", which("docker") ?? "docker", ["-H", `unix://${sock}`], { ...process.env }, `runta-bench-docker-${tag}`);
    this.dir = dir;
    this.sock = sock;
    /** @type {import("node:child_process").ChildProcess | null} */
    this.daemon = null;
  }

  /** Why Docker cannot be a peer on this host, or null when it can. */
  static unavailable() {
    if (!which("dockerd")) return "dockerd not installed (apt-get install docker.io)";
    if (!which("docker")) return "docker CLI not installed";
    return null;
  }

  /** @param {string} tarball */
  async setup(tarball) {
    mkdirSync(join(this.dir, "data"), { recursive: true });
    mkdirSync(join(this.dir, "exec"), { recursive: true });
    const log = openSync(join(this.dir, "dockerd.log"), "w");
    this.daemon = spawn(
      "dockerd",
      [
        "--bridge=none", "--iptables=false", "--ip6tables=false", "--ip-masq=false",
        "--data-root", join(this.dir, "data"), "--exec-root", join(this.dir, "exec"),
        "--pidfile", join(this.dir, "dockerd.pid"), "-H", `unix://${this.sock}`,
        "--cgroup-parent", `/${this.cgroupParent}`, "--default-runtime", "runc", "--storage-driver", "overlay2",
      ],
      { stdio: ["ignore", log, log], detached: false },
    );
    closeSync(log);
    const daemon = this.daemon;
    let exited = false;
    daemon.on("exit", () => (exited = true));
    await waitFor(async () => {
      if (exited) throw new Error(`dockerd exited: ${readFileSync(join(this.dir, "dockerd.log"), "utf8").slice(-800)}`);
      return (await this.cli(["version", "--format", "{{.Server.Version}}"], { allowFail: true, keepStdout: true })).code === 0;
    }, "dockerd to answer", { timeoutMs: 60_000, everyMs: 200 });
    this.version = (await this.cli(["version", "--format", "client {{.Client.Version}}, engine {{.Server.Version}}"], { keepStdout: true })).stdout.toString().trim();
    await this.importImage(tarball);
  }

  async teardown() {
    /** @type {string[]} */
    const leaks = [];
    await this.removeAll();
    if (this.daemon && this.daemon.exitCode === null) {
      const d = this.daemon;
      const gone = new Promise((r) => d.once("exit", r));
      d.kill("SIGTERM");
      await Promise.race([gone, sleep(20_000)]);
      if (d.exitCode === null && d.signalCode === null) {
        d.kill("SIGKILL");
        leaks.push("dockerd needed SIGKILL");
      }
    }
    // dockerd leaves its overlay and netns mounts under the data/exec roots when stopped abruptly.
    await unmountUnder(this.dir);
    leaks.push(...removeCgroupParent(this.cgroupParent));
    rmSync(this.dir, { recursive: true, force: true });
    return leaks;
  }
}

/** Podman with private storage and configuration (daemonless). */
export class PodmanPeer extends CliPeer {
  /** @param {string} workDir */
  constructor(workDir) {
    const tag = randomBytes(4).toString("hex");
    const dir = join(workDir, "podman");
    super(
      "podman",
      which("podman") ?? "podman",
      [
        "--root", join(dir, "root"), "--runroot", join(dir, "runroot"), "--tmpdir", join(dir, "tmp"),
        "--storage-driver", "overlay", "--runtime", "runc", "--cgroup-manager", "cgroupfs", "--events-backend", "file",
      ],
      { ...process.env, CONTAINERS_CONF: join(dir, "containers.conf") },
      `runta-bench-podman-${tag}`,
    );
    this.dir = dir;
  }

  /** Why Podman cannot be a peer on this host, or null when it can. */
  static unavailable() {
    if (!which("podman")) return "podman not installed (apt-get install podman)";
    return null;
  }

  /** @param {string} tarball */
  async setup(tarball) {
    for (const d of ["root", "runroot", "tmp"]) mkdirSync(join(this.dir, d), { recursive: true });
    writeFileSync(
      join(this.dir, "containers.conf"),
      [
        "[containers]",
        'netns = "none"',
        "[engine]",
        'runtime = "runc"',
        'cgroup_manager = "cgroupfs"',
        'events_logger = "file"',
        "",
      ].join("\n"),
    );
    // Root lacks CAP_SYS_RESOURCE here, so Podman's default rlimits (far above the host's hard limits) make runc
    // fail, and containers.conf's default_ulimits is not honoured by this version: pass them on `run`. Podman lowers
    // its own (conmon's) nproc to 32768 first, so a higher nproc fails too.
    const nproc = Math.min(32768, Number(hostLimit("Max processes").split(":")[1]) >>> 0 || 32768);
    this.runArgs = ["--ulimit", `nofile=1024:${hostLimit("Max open files").split(":")[1]}`, "--ulimit", `nproc=${nproc}:${nproc}`];
    this.version = (await this.cli(["--version"], { keepStdout: true })).stdout.toString().trim();
    await this.importImage(tarball);
  }

  async teardown() {
    /** @type {string[]} */
    const leaks = [];
    await this.removeAll();
    await this.cli(["system", "reset", "--force"], { allowFail: true });
    await unmountUnder(this.dir);
    leaks.push(...removeCgroupParent(this.cgroupParent));
    rmSync(this.dir, { recursive: true, force: true });
    return leaks;
  }
}

/** The current soft:hard pair of a resource limit, as `/proc/self/limits` names it. @param {string} label */
function hostLimit(label) {
  const line = readFileSync("/proc/self/limits", "utf8").split("\n").find((l) => l.startsWith(label));
  const [soft, hard] = (line ?? "").slice(label.length).trim().split(/\s+/);
  if (!soft || !hard) throw new Error(`cannot read the "${label}" limit from /proc/self/limits`);
  return `${soft === "unlimited" ? -1 : soft}:${hard === "unlimited" ? -1 : hard}`;
}

/** Lazily unmounts everything mounted below `dir`, deepest first. @param {string} dir */
export async function unmountUnder(dir) {
  const mounts = readFileSync("/proc/self/mounts", "utf8")
    .split("\n")
    .map((l) => l.split(" ")[1])
    .filter((m) => m && (m === dir || m.startsWith(dir + "/")))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) await run("umount", ["-l", m], { allowFail: true });
}
