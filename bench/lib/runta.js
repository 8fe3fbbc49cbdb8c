/**
 * runta under test: a private daemon (own data dir, images dir, runc root and cgroup parent; never /var/lib/runta),
 * driven once through the SDK (API level) and once through the built CLI `node bin/runta.js` (end to end).
 */
import { spawn } from "node:child_process";
import { copyFileSync, createReadStream, existsSync, mkdirSync, openSync, closeSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { run, sleep, pool } from "./proc.js";
import { removeCgroupParent } from "./floor.js";
import { unmountUnder } from "./peers.js";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
export const CLI_BIN = join(REPO, "bin/runta.js");
const DAEMON_MAIN = join(REPO, "dist/server/main.js");
const SDK = join(REPO, "dist/client/index.js");
const MIB = 1024 * 1024;

/** The image name the benchmark imports its busybox tarball as. */
export const BENCH_IMAGE = "bench-busybox";

/** A private daemon for the run, stopped and cleaned at the end. */
export class RuntaDaemon {
  /**
   * @param {string} workDir
   * @param {{profileDir?: string, keepLogAt?: string}} [opts] profileDir: write the daemon's V8 CPU profile there
   *   when it stops; keepLogAt: copy the daemon's log there before the data dir is removed
   */
  constructor(workDir, opts = {}) {
    this.profileDir = opts.profileDir;
    this.keepLogAt = opts.keepLogAt;
    const tag = randomBytes(4).toString("hex");
    this.dir = join(workDir, "runta");
    this.dataDir = join(this.dir, "data");
    this.imagesDir = join(this.dir, "images");
    this.runcRoot = `/run/runta-bench-${tag}/runc`;
    this.cgroupParent = `runta-bench-${tag}`;
    this.endpoint = "";
    this.token = "";
    /** @type {import("node:child_process").ChildProcess | null} */
    this.proc = null;
    /** @type {any} */
    this.client = null;
  }

  /** Why runta cannot be measured (not built), or null. */
  static unavailable() {
    if (!existsSync(DAEMON_MAIN)) return `${DAEMON_MAIN} missing: run npm run build`;
    if (!existsSync(SDK)) return `${SDK} missing: run npm run build`;
    return null;
  }

  /** Starts the daemon, connects the SDK and imports the benchmark image. @param {string} tarball */
  async setup(tarball) {
    for (const d of [this.dataDir, this.imagesDir, this.runcRoot]) mkdirSync(d, { recursive: true });
    const logPath = join(this.dir, "daemon.log");
    const log = openSync(logPath, "w");
    const proc = spawn(
      process.execPath,
      [...(this.profileDir ? ["--cpu-prof", `--cpu-prof-dir=${this.profileDir}`] : []), DAEMON_MAIN, "--data-dir", this.dataDir, "--listen", "127.0.0.1:0", "--runc-root", this.runcRoot,
        "--cgroup-parent", this.cgroupParent, "--images-dir", this.imagesDir],
      { stdio: ["ignore", "pipe", log] },
    );
    closeSync(log);
    this.proc = proc;
    let out = "";
    this.endpoint = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`daemon did not start in 30 s: ${readFileSync(logPath, "utf8").slice(-800)}`)), 30_000);
      proc.stdout?.on("data", (chunk) => {
        out += chunk;
        const m = /runta daemon listening on (\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      proc.on("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`daemon exited with ${code}: ${readFileSync(logPath, "utf8").slice(-800)}`));
      });
    });
    this.token = readFileSync(join(this.dataDir, "token"), "utf8").trim();
    const { Runta } = await import(SDK);
    this.client = new Runta({ endpoint: this.endpoint, token: this.token });
    this.version = JSON.stringify(await this.client.version());
    await this.client.images.import(BENCH_IMAGE, createReadStream(tarball));
  }

  /** Resident set size of the daemon process in bytes. */
  rssBytes() {
    const status = readFileSync(`/proc/${this.proc?.pid}/status`, "utf8");
    const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
    if (!m) throw new Error("no VmRSS in the daemon's /proc status");
    return Number(m[1]) * 1024;
  }

  /** Deletes every runtime, stops the daemon, then removes whatever is left; returns the leaks it found. */
  async teardown() {
    /** @type {string[]} */
    const leaks = [];
    if (this.client && this.proc?.exitCode === null) {
      try {
        // Warm pools' members are hidden from the list: removing the pools removes them.
        for (const p of await this.client.pools.list()) await this.client.pools.remove(p.name);
        const all = await this.client.runtimes.list();
        await pool(all, 4, (/** @type {any} */ rt) => this.client.runtimes.delete(rt.id));
      } catch (e) {
        leaks.push(`deleting runtimes through the API failed: ${e instanceof Error ? e.message : e}`);
      }
    }
    if (this.proc && this.proc.exitCode === null) {
      const p = this.proc;
      const gone = new Promise((r) => p.once("exit", r));
      p.kill("SIGTERM");
      await Promise.race([gone, sleep(15_000)]);
      if (p.exitCode === null && p.signalCode === null) {
        p.kill("SIGKILL");
        leaks.push("daemon needed SIGKILL");
      }
    }
    const left = await run("runc", ["--root", this.runcRoot, "list", "-q"], { keepStdout: true, allowFail: true });
    for (const id of left.stdout.toString().split("\n").filter(Boolean)) {
      leaks.push(`container ${id} left in ${this.runcRoot}`);
      await run("runc", ["--root", this.runcRoot, "delete", "-f", id], { allowFail: true });
    }
    await unmountUnder(this.dir);
    leaks.push(...removeCgroupParent(this.cgroupParent));
    if (this.keepLogAt && existsSync(join(this.dir, "daemon.log"))) {
      mkdirSync(dirname(this.keepLogAt), { recursive: true });
      copyFileSync(join(this.dir, "daemon.log"), this.keepLogAt);
    }
    rmSync(join(this.runcRoot, ".."), { recursive: true, force: true });
    rmSync(this.dir, { recursive: true, force: true });
    return leaks;
  }
}

/** @typedef {{id:string, name:string, rt?:any}} RuntaHandle */

/** runta through the SDK: what an application embedding the client sees. */
export class RuntaApiSystem {
  /** @param {RuntaDaemon} daemon */
  constructor(daemon) {
    this.name = "runta-api";
    this.level = "api";
    this.daemon = daemon;
  }

  get sdk() {
    return this.daemon.client;
  }

  /** @param {string} name @returns {Promise<RuntaHandle>} */
  async create(name) {
    const rt = await this.sdk.runtimes.create(name, { image: BENCH_IMAGE, vcpus: 1, memoryMiB: 1024 });
    if (rt.info.status !== "running") throw new Error(`create returned ${name} in status ${rt.info.status}`);
    return { id: rt.id, name, rt };
  }

  /**
   * Output beyond the default 1 MiB cap is asked for only by the command that prints 1 MiB (`largeOutput`): every
   * buffered exec reserves twice its cap of the daemon's exec output budget while it runs (128 MiB: 64 execs at the
   * default), so asking 2 MiB for `true` would have the 50-concurrent phase refused by a limit `true` never meets.
   * @param {RuntaHandle} h @param {string[]} argv @param {{ largeOutput?: boolean }} [opts]
   */
  async exec(h, argv, opts = {}) {
    const r = await h.rt.exec(argv, opts.largeOutput ? { maxOutputBytes: 2 * MIB } : {});
    if (r.exit_code !== 0) throw new Error(`exec ${argv.join(" ")} exited ${r.exit_code}: ${r.stderrText.slice(0, 200)}`);
    return Buffer.byteLength(r.stdoutText);
  }

  /** @param {RuntaHandle} h */
  pause(h) {
    return h.rt.pause();
  }

  /** @param {RuntaHandle} h */
  resume(h) {
    return h.rt.resume();
  }

  /** @param {RuntaHandle} h @param {number} mib */
  async resize(h, mib) {
    const info = await h.rt.resizeMemory(mib);
    const got = info.resources.requests.memory_mib;
    if (got !== mib) throw new Error(`resize to ${mib} MiB reported ${got} MiB`);
  }

  /** @param {RuntaHandle} h */
  shutdown(h) {
    return h.rt.stop();
  }

  /** @param {RuntaHandle} h */
  boot(h) {
    return h.rt.start();
  }

  /** @param {RuntaHandle} h */
  rm(h) {
    return h.rt.delete();
  }

  /** @returns {Promise<number>} */
  async list() {
    return (await this.sdk.runtimes.list()).length;
  }

  /**
   * A streamed exec with a tty, as an echo session.
   * @param {RuntaHandle} h @param {string[]} argv
   * @returns {import("./tty.js").EchoSession}
   */
  ttySession(h, argv) {
    const stream = h.rt.execStream(argv, { tty: true, rows: 24, cols: 80 });
    /** @type {(reason: string) => void} */
    let onEnd = () => {};
    stream.on("error", (/** @type {Error} */ e) => onEnd(`error: ${e.message}`));
    stream.on("exit", (/** @type {{code:number}} */ e) => onEnd(`exit code ${e.code}`));
    return {
      write: (d) => stream.write(d),
      onData: (cb) => void stream.on("stdout", (/** @type {Buffer} */ c) => cb(c.toString("latin1"))),
      onEnd: (cb) => {
        onEnd = cb;
      },
      close: () => stream.close(),
    };
  }
}

/** runta through its CLI, one `node bin/runta.js` process per operation, as a user types it. */
export class RuntaCliSystem {
  /**
   * @param {RuntaDaemon} daemon
   * @param {{keepCaCerts: boolean}} opts whether NODE_EXTRA_CA_CERTS stays in the CLI's environment
   */
  constructor(daemon, opts) {
    this.name = "runta-cli";
    this.level = "cli";
    this.daemon = daemon;
    /** @type {NodeJS.ProcessEnv} */
    this.env = { ...process.env, RUNTA_ENDPOINT: daemon.endpoint, RUNTA_TOKEN: daemon.token, NO_COLOR: "1" };
    if (!opts.keepCaCerts) delete this.env.NODE_EXTRA_CA_CERTS;
  }

  /** @param {string[]} args @param {import("./proc.js").RunOptions} [opts] */
  cli(args, opts = {}) {
    return run(process.execPath, [CLI_BIN, ...args], { env: this.env, ...opts });
  }

  /** @param {string} name @returns {Promise<RuntaHandle>} */
  async create(name) {
    const r = await this.cli(["run", "--name", name, "--image", BENCH_IMAGE, "--cpus", "1", "--memory", "1024"], { keepStdout: true });
    return { id: r.stdout.toString().trim(), name };
  }

  /** @param {RuntaHandle} h @param {string[]} argv */
  async exec(h, argv) {
    return (await this.cli(["exec", h.name, "--", ...argv])).stdoutBytes;
  }

  /** @param {RuntaHandle} h */
  pause(h) {
    return this.cli(["pause", h.name]);
  }

  /** @param {RuntaHandle} h */
  resume(h) {
    return this.cli(["resume", h.name]);
  }

  /** @param {RuntaHandle} h @param {number} mib */
  resize(h, mib) {
    return this.cli(["resize", "--memory", String(mib), h.name]);
  }

  /** @param {RuntaHandle} h */
  shutdown(h) {
    return this.cli(["shutdown", h.name]);
  }

  /** @param {RuntaHandle} h */
  boot(h) {
    return this.cli(["boot", h.name]);
  }

  /** @param {RuntaHandle} h */
  rm(h) {
    return this.cli(["rm", h.name]);
  }

  /** `runta ps` (table, like `docker ps`). @returns {Promise<number>} bytes printed */
  async list() {
    return (await this.cli(["ps"])).stdoutBytes;
  }

  /** @param {RuntaHandle} h @param {string[]} argv */
  ttyCommand(h, argv) {
    return { file: process.execPath, args: [CLI_BIN, "exec", "-it", h.name, "--", ...argv], env: this.env };
  }
}
