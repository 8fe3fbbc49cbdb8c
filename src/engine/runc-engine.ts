/**
 * `RuncEngine`: the {@link Engine} on runc. runc knows containers; this adds what it lacks: names, bundles and
 * overlay roots, images, durable state, per-runtime serialisation and reconciliation after a daemon restart.
 *
 * Runtimes are detached: `runc run -d` with /dev/null stdio, so the daemon holds nothing of them and they keep
 * running when it stops or crashes. At open, the store and runc's state root are reconciled.
 */
import { spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { accessSync, constants as fsConstants, existsSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { constants as osConstants } from "node:os";
import {
  DEFAULTS,
  ImageNameSchema,
  LIMITS,
  RuntaError,
  errors,
  type ExecResult,
  type Image,
  type ImageBuildEvent,
  type Runtime,
  type RuntimeStatus,
} from "../api/index.js";
import { RuntimeStore, type RuntimeRecord } from "../store/store.js";
import { RuntimeCgroup, childCgroups, removeCgroupDirs } from "./cgroups.js";
import { runcTrustWarning } from "../api/trust.js";
import { bootId, hostCores, hostMemoryMib, kernelVersion, runcVersion } from "./host.js";
import { DEFAULT_IMAGE, ImageStore } from "./images.js";
import { DiskPool } from "./disk.js";
import { mountRootfs, removeRuntimeDir, runtimePaths, type RuntimePaths } from "./rootfs.js";
import { Runc, RuncError, runcErrorMessage, runcUnavailable } from "./runc.js";
import { procStart, readPidFile, signalName, sleep } from "./proc.js";
import { startStreamExec } from "./stream-exec.js";
import { buildExecProcess, buildRuntimeSpec, cpuQuota, CPU_PERIOD_US, mibToBytes } from "./spec.js";
import type { CreateSpec, Engine, ExecSpec, ListFilter, ListPage, StreamProcess, StreamSpec } from "./types.js";
import { silentLogger, type Logger } from "../log.js";

/** Options of {@link RuncEngine.open}. */
export interface RuncEngineOptions {
  /** Holds `runta.db`, `runtimes/<id>/` (bundle, overlay layers) and by default `images/`. */
  dataDir: string;
  /** runc's state root, private to this engine (e.g. `/run/runta/runc`). */
  runcRoot: string;
  /** cgroup parent; each runtime's cgroup is `<cgroupParent>/<id>`. */
  cgroupParent: string;
  /** Default `<dataDir>/images`. */
  imagesDir?: string;
  /** Default `runc` from PATH. */
  runcPath?: string;
  /** The static reaping init bind-mounted as PID 1 (default `/usr/bin/catatonit`). */
  initPath?: string;
  logger?: Logger;
  /** Overrides of the count, concurrency and size limits (tests use small ones). Default: the values in LIMITS. */
  limits?: Partial<EngineLimits>;
}

/** The limits the engine enforces itself (their defaults and meaning are in LIMITS). */
export type EngineLimits = Pick<typeof LIMITS, "runtimesMax" | "execBufferedMaxConcurrent" | "execBufferedMaxConcurrentPerRuntime"> & {
  /** Size of each new runtime's disk (its writable layer), in MiB; default LIMITS.diskMibDefault. */
  diskMib: number;
};

/** Formatted disks kept ready for the next creates. */
const DISK_POOL_SIZE = 2;


/** Whether the process is still the one recorded (same pid and start time, not a zombie). */
function sameProcessAlive(pid: number | null, startTime: number | null): boolean {
  if (!pid) return false;
  const now = procStart(pid);
  return now !== null && (startTime === null || now === startTime);
}

/**
 * An absolute path for a program name, searched in PATH and then the sbin directories (where Debian puts runc and
 * which a non-login root shell may lack). Paths with a '/' and names not found are returned unchanged, so the
 * version check reports them with the fix. Absolute paths also keep child processes independent of their PATH.
 */
export function resolveExecutable(name: string): string {
  if (name.includes("/")) return name;
  const dirs = [...(process.env.PATH ?? "").split(":"), "/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/local/bin", "/usr/bin", "/bin"];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // Not here; try the next directory.
    }
  }
  return name;
}

const ADJECTIVES = ["brave", "calm", "eager", "fancy", "gentle", "happy", "jolly", "keen", "lucid", "merry", "nifty", "proud", "quirky", "sharp", "swift", "tender", "vivid", "witty", "zen", "bold"];
const NOUNS = ["turing", "hopper", "lovelace", "curie", "noether", "knuth", "ritchie", "thompson", "torvalds", "liskov", "dijkstra", "hamilton", "babbage", "shannon", "wozniak", "kay", "pike", "lamport", "perlman", "goldberg"];

/** A printable rendering of a user-given string for error messages (control characters escaped). */
function shown(value: string): string {
  return JSON.stringify(value.length > 80 ? value.slice(0, 80) + "…" : value);
}

/** Checks a runtime name and says exactly what is wrong with it. */
export function validateName(name: string): void {
  if (LIMITS.namePattern.test(name)) return;
  let why: string;
  if (name.length === 0) why = "it is empty";
  else if (name.length > LIMITS.nameMaxLength) why = `it is ${name.length} characters long (at most ${LIMITS.nameMaxLength})`;
  else if (/[\x00-\x1f\x7f]/.test(name)) why = "it contains control characters";
  else if (name.includes("/") || name.includes("..")) why = "it contains '/' or '..' (names are not paths)";
  else if (!/^[a-zA-Z0-9]/.test(name)) why = "it must start with a letter or digit";
  else why = "it contains characters other than letters, digits, '_', '.', '-'";
  throw new RuntaError("invalid_argument", `invalid runtime name ${shown(name)}: ${why}`, { details: { field: "name", pattern: LIMITS.namePattern.source } });
}

function validateResources(vcpus: number, memoryMib: number): void {
  const cores = hostCores();
  const maxVcpus = Math.min(LIMITS.vcpusMax, cores);
  if (!(vcpus >= LIMITS.vcpusMin && vcpus <= maxVcpus) || Math.abs(vcpus * 100 - Math.round(vcpus * 100)) > 1e-6) {
    throw errors.outOfRange(`vcpus must be between ${LIMITS.vcpusMin} and ${maxVcpus} (this host has ${cores} cores) in steps of 0.01; got ${vcpus}`, {
      field: "vcpus",
      min: LIMITS.vcpusMin,
      max: maxVcpus,
    });
  }
  const maxMem = Math.min(LIMITS.memoryMibMax, hostMemoryMib());
  if (!Number.isInteger(memoryMib) || memoryMib < LIMITS.memoryMibMin || memoryMib > maxMem) {
    throw errors.outOfRange(`memory_mib must be a whole number between ${LIMITS.memoryMibMin} and ${maxMem} (this host's memory); got ${memoryMib}`, {
      field: "memory_mib",
      min: LIMITS.memoryMibMin,
      max: maxMem,
    });
  }
}

/** The current status and the fix, for an impossible transition. */
function preconditionFor(rec: RuntimeRecord, wanted: string): RuntaError {
  const n = rec.name;
  const fix: Partial<Record<RuntimeStatus, string>> = {
    paused: `resume it first: runta resume ${n}`,
    shutdown: `boot it first: runta boot ${n}`,
    crashed: `boot it again: runta boot ${n}`,
    error: `remove it and create it again: runta rm ${n}`,
    creating: "wait until it is running",
    deleting: "it is being removed",
    running: `shut it down first: runta shutdown ${n}`,
  };
  return new RuntaError("failed_precondition", `runtime "${n}" is ${rec.status}, cannot ${wanted} — ${fix[rec.status] ?? "check its status with runta ps -a"}`, {
    details: { status: rec.status },
  });
}

/** Maps a disk-full error to `resource_exhausted` (507); everything else unchanged. */
function diskFull(err: unknown, dataDir: string): unknown {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === "ENOSPC" || code === "SQLITE_FULL" || /no space left on device|database or disk is full/i.test(String((err as Error)?.message))) {
    return errors.exhausted(`no space left on the disk holding ${dataDir}; free some space or remove runtimes and images`, { path: dataDir }, 507);
  }
  return err;
}

/** The engine on runc, overlayfs, cgroups and SQLite. */
export class RuncEngine implements Engine {
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly creations = new Map<string, Promise<RuntimeRecord>>();
  /** Buffered execs running now: in all, and per runtime id. */
  private bufferedExecTotal = 0;
  private readonly bufferedExecs = new Map<string, number>();
  private closed = false;

  private constructor(
    private readonly opts: Required<Omit<RuncEngineOptions, "logger" | "limits">> & { logger: Logger; limits: EngineLimits },
    readonly runc: Runc,
    readonly store: RuntimeStore,
    readonly images: ImageStore,
    private readonly disks: DiskPool,
  ) {}

  /** Opens the store and images, checks runc and the init, and reconciles with what still runs. */
  static async open(options: RuncEngineOptions): Promise<RuncEngine> {
    const opts = {
      dataDir: options.dataDir,
      runcRoot: options.runcRoot,
      cgroupParent: options.cgroupParent,
      imagesDir: options.imagesDir ?? join(options.dataDir, "images"),
      runcPath: resolveExecutable(options.runcPath ?? "runc"),
      initPath: options.initPath ?? "/usr/bin/catatonit",
      logger: options.logger ?? silentLogger,
      limits: {
        runtimesMax: LIMITS.runtimesMax,
        execBufferedMaxConcurrent: LIMITS.execBufferedMaxConcurrent,
        execBufferedMaxConcurrentPerRuntime: LIMITS.execBufferedMaxConcurrentPerRuntime,
        diskMib: LIMITS.diskMibDefault,
        ...options.limits,
      },
    };
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*(\/[a-zA-Z0-9][a-zA-Z0-9_.-]*)*$/.test(opts.cgroupParent)) {
      throw errors.invalid(`cgroup parent ${shown(opts.cgroupParent)} must be a relative path of plain names, e.g. "runta"`);
    }
    const runcRelease = await runcVersion(opts.runcPath);
    if (!existsSync(opts.initPath)) {
      throw errors.unavailable(`the init ${opts.initPath} was not found; install it with 'apt-get install catatonit'`);
    }
    await mkdir(opts.dataDir, { recursive: true, mode: 0o700 });
    await mkdir(join(opts.dataDir, "runtimes"), { recursive: true, mode: 0o700 });
    await mkdir(opts.runcRoot, { recursive: true, mode: 0o700 });
    const runc = new Runc({ path: opts.runcPath, root: opts.runcRoot, logDir: join(opts.dataDir, "runtimes") });
    const store = new RuntimeStore(opts.dataDir, opts.logger);
    const images = new ImageStore({ imagesDir: opts.imagesDir, logger: opts.logger, trustWarning: runcTrustWarning(runcRelease) });
    const disks = new DiskPool(join(opts.dataDir, "runtimes", ".pool"), opts.limits.diskMib, DISK_POOL_SIZE, opts.logger);
    const engine = new RuncEngine(opts, runc, store, images, disks);
    try {
      await engine.reconcile();
      await disks.open();
    } catch (err) {
      await disks.close();
      store.close();
      throw err;
    }
    return engine;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Records

  private paths(id: string): RuntimePaths {
    return runtimePaths(this.opts.dataDir, id);
  }

  private cgroup(id: string): RuntimeCgroup {
    return new RuntimeCgroup(this.opts.cgroupParent, id);
  }

  private toRuntime(rec: RuntimeRecord, usage?: Runtime["usage"]): Runtime {
    const rt: Runtime = {
      id: rec.id,
      name: rec.name,
      status: rec.status,
      image: rec.image,
      resources: { requests: { vcpus: rec.vcpus, memory_mib: rec.memoryMib } },
      env_names: Object.keys(rec.env),
      labels: rec.labels,
      created_at: rec.createdAt,
      updated_at: rec.updatedAt,
      started_at: rec.startedAt,
      revision: rec.revision,
      last_error: rec.lastError,
      idle_timeout_secs: rec.idleTimeoutSecs,
      last_activity_at: rec.lastActivityAt,
    };
    if (usage !== undefined) rt.usage = usage;
    return rt;
  }

  /** Finds a record by name or id; `not_found` with the fix otherwise. */
  private find(ref: string): RuntimeRecord {
    const rec = this.store.getByName(ref) ?? this.store.get(ref);
    if (!rec) throw errors.notFound(`runtime ${shown(ref)} not found; list runtimes with: runta ps -a`, { runtime: ref });
    return rec;
  }

  private mustUpdate(id: string, patch: Parameters<RuntimeStore["update"]>[1]): RuntimeRecord {
    const rec = this.store.update(id, patch);
    if (!rec) throw errors.notFound(`runtime ${id} vanished from the store while being changed`);
    return rec;
  }

  /** Runs `fn` after every earlier lifecycle operation on the same runtime has finished. */
  private withLock<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(id) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(fn);
    const tail = next.catch(() => undefined);
    this.locks.set(id, tail);
    void tail.then(() => {
      if (this.locks.get(id) === tail) this.locks.delete(id);
    });
    return next;
  }

  /**
   * A running or paused record whose init died behind the daemon's back becomes `crashed` (its stopped container is
   * removed so a boot can start a fresh one). Cheap: one read of /proc per record.
   */
  private async checkAlive(rec: RuntimeRecord): Promise<RuntimeRecord> {
    if (rec.status !== "running" && rec.status !== "paused") return rec;
    if (sameProcessAlive(rec.initPid, rec.initStartTime)) return rec;
    return this.withLock(rec.id, async () => {
      const now = this.store.get(rec.id);
      if (!now || (now.status !== "running" && now.status !== "paused")) return now ?? rec;
      if (sameProcessAlive(now.initPid, now.initStartTime)) return now;
      this.opts.logger.warn("runtime's init exited behind the daemon's back: marking it crashed", { id: now.id, name: now.name });
      await this.removeContainer(now.id);
      return this.mustUpdate(now.id, { status: "crashed", initPid: null, initStartTime: null, lastError: "the runtime's init process exited unexpectedly" });
    });
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Create

  private generateName(): string {
    for (let i = 0; i < 20; i++) {
      const name = `${ADJECTIVES[Math.floor(Math.random() * ADJECTIVES.length)]}_${NOUNS[Math.floor(Math.random() * NOUNS.length)]}`;
      if (!this.store.getByName(name)) return name;
    }
    return `rt-${randomBytes(3).toString("hex")}`;
  }

  async create(spec: CreateSpec, opts: { wait?: boolean } = {}): Promise<Runtime> {
    const wait = opts.wait ?? true;
    if (spec.idempotencyKey) {
      const existing = this.store.getByIdempotencyKey(spec.idempotencyKey);
      if (existing) {
        if ((existing.requestHash ?? null) !== (spec.requestHash ?? null)) {
          throw new RuntaError("already_exists", "this Idempotency-Key was already used with a different request; use a new key for a new runtime", {
            details: { field: "Idempotency-Key", runtime: existing.name },
          });
        }
        const pending = this.creations.get(existing.id);
        if (wait && pending) return this.toRuntime(await pending);
        return this.toRuntime(existing);
      }
    }
    if (spec.name !== undefined) validateName(spec.name);
    const image = spec.image ?? DEFAULTS.image;
    if (!ImageNameSchema.safeParse(image).success) {
      throw errors.invalid(`invalid image name ${shown(image)}: lowercase letters, digits, '_', '.', '-', 1-63 characters`, { field: "image" });
    }
    const vcpus = spec.vcpus ?? LIMITS.defaultVcpus;
    const memoryMib = spec.memoryMib ?? LIMITS.defaultMemoryMib;
    validateResources(vcpus, memoryMib);
    if (!this.images.exists(image) && image !== DEFAULT_IMAGE) {
      throw errors.notFound(`image "${image}" not found; list images with 'runta image ls' or import one with 'runta image import'`, { image });
    }
    if (spec.name !== undefined && this.store.getByName(spec.name)) {
      throw errors.exists(`a runtime named "${spec.name}" already exists; pick another name or remove it first: runta rm ${spec.name}`, { field: "name" });
    }
    const max = this.opts.limits.runtimesMax;
    // No await between this count and the insert below, so concurrent creates cannot overshoot.
    if (this.store.count() >= max) {
      throw errors.exhausted(`this daemon already holds ${max} runtimes, its limit; remove some first (runta ps -a, runta rm <runtime>)`, { limit: max });
    }
    const now = new Date().toISOString();
    const rec: RuntimeRecord = {
      id: randomUUID(),
      name: spec.name ?? this.generateName(),
      status: "creating",
      image,
      vcpus,
      memoryMib,
      env: spec.env ?? {},
      labels: spec.labels ?? {},
      createdAt: now,
      updatedAt: now,
      startedAt: null,
      revision: 1,
      lastError: null,
      idleTimeoutSecs: null,
      lastActivityAt: null,
      idempotencyKey: spec.idempotencyKey ?? null,
      requestHash: spec.requestHash ?? null,
      initPid: null,
      initStartTime: null,
      bootId: null,
    };
    try {
      this.store.insert(rec);
    } catch (err) {
      throw diskFull(err, this.opts.dataDir);
    }
    const task = this.withLock(rec.id, () => this.provision(rec, wait)).finally(() => {
      this.creations.delete(rec.id);
      // After the create, not during it: a format would compete with its mounts and runc for the CPU.
      this.disks.refill();
    });
    this.creations.set(rec.id, task);
    if (!wait) {
      task.catch((err) => this.opts.logger.error("background create failed", { id: rec.id, name: rec.name, error: String((err as Error).message) }));
      return this.toRuntime(rec);
    }
    return this.toRuntime(await task);
  }

  /** Builds the default image if needed, mounts the root, starts the container; undoes everything on failure. */
  private async provision(rec: RuntimeRecord, wait: boolean): Promise<RuntimeRecord> {
    try {
      if (!this.images.exists(rec.image) && rec.image === DEFAULT_IMAGE) {
        this.opts.logger.info("building the default image first (about a minute, once per host)", { runtime: rec.name });
        await this.images.build(DEFAULT_IMAGE, (ev: ImageBuildEvent) => {
          if (ev.type === "progress") this.opts.logger.info(`default image: ${ev.message}`, { percent: ev.percent });
        });
      }
      const paths = this.paths(rec.id);
      await mkdir(paths.dir, { recursive: true });
      await this.disks.take(paths.diskImage);
      const started = await this.bootContainer(rec);
      return this.mustUpdate(rec.id, { status: "running", ...started, lastError: null });
    } catch (raw) {
      const err = diskFull(raw, this.opts.dataDir);
      await this.teardown(rec.id).catch((cleanupErr) =>
        this.opts.logger.error("cleanup after a failed create failed", { id: rec.id, error: String(cleanupErr) }),
      );
      if (wait) {
        this.store.delete(rec.id);
      } else {
        // Nobody waits for this answer: keep the record so the failure can be seen (runta inspect) and removed (runta rm).
        this.store.update(rec.id, { status: "error", lastError: (err as Error).message });
      }
      throw err;
    }
  }

  /** Mounts the overlay, writes the bundle and starts the container detached. */
  private async bootContainer(rec: RuntimeRecord): Promise<Pick<RuntimeRecord, "initPid" | "initStartTime" | "bootId" | "startedAt">> {
    const paths = this.paths(rec.id);
    await mountRootfs(paths, this.images.rootfsPath(rec.image));
    const spec = buildRuntimeSpec({
      id: rec.id,
      name: rec.name,
      rootfsPath: paths.rootfs,
      vcpus: rec.vcpus,
      memoryMib: rec.memoryMib,
      env: rec.env,
      cgroupParent: this.opts.cgroupParent,
      initPath: this.opts.initPath,
    });
    await writeFile(paths.config, JSON.stringify(spec));
    await rm(paths.pidFile, { force: true });
    try {
      await this.runc.run(rec.id, paths.dir, paths.pidFile);
    } catch (err) {
      // A stopped container of the same id (e.g. left by a crash) blocks a new one: remove it and try once more.
      if (!(err instanceof RuncError) || !/already exists/.test(err.runcMessage)) throw err;
      await this.removeContainer(rec.id);
      await this.runc.run(rec.id, paths.dir, paths.pidFile);
    }
    const initPid = Number((await readFile(paths.pidFile, "utf8")).trim());
    return { initPid, initStartTime: procStart(initPid), bootId: bootId(), startedAt: new Date().toISOString() };
  }

  /**
   * Removes the container from runc (if any) after making sure its init is dead. With `initDead` (the caller just
   * saw the init exit) it goes straight to `runc delete`, saving the `runc state` call on the hot path.
   */
  private async removeContainer(id: string, opts: { initDead?: boolean } = {}): Promise<void> {
    if (opts.initDead) {
      try {
        await this.runc.delete(id);
        return;
      } catch (err) {
        if (err instanceof RuncError && /does not exist/.test(err.runcMessage)) return;
        // Anything else (e.g. runc still sees it running): take the careful path below.
      }
    }
    const state = await this.runc.state(id);
    if (!state) return;
    if (state.status !== "stopped") {
      await this.runc.kill(id, "KILL").catch(() => undefined);
      if (state.status === "paused") await this.runc.resume(id).catch(() => undefined);
      await this.waitExit(state.pid, null, 10_000);
    }
    await this.runc.delete(id);
  }

  /** Everything of one runtime except its record: container, mount, directory, cgroups. */
  private async teardown(id: string, opts: { initDead?: boolean } = {}): Promise<void> {
    await this.removeContainer(id, opts);
    await removeRuntimeDir(this.paths(id));
    const left = await removeCgroupDirs(join(this.opts.cgroupParent, id));
    if (left.length) this.opts.logger.warn("cgroup directories could not be removed", { id, dirs: left });
  }

  /** Polls until the process is gone (or a zombie). Short sleeps first: an init usually dies within a few ms. */
  private async waitExit(pid: number | null, startTime: number | null, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    let delay = 1;
    while (sameProcessAlive(pid, startTime)) {
      if (Date.now() >= deadline) return false;
      await sleep(delay);
      delay = Math.min(delay * 2, 50);
    }
    return true;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Read

  async list(filter: ListFilter = {}): Promise<ListPage> {
    const limit = Math.min(filter.limit ?? LIMITS.listLimitDefault, LIMITS.listLimitMax);
    const page = this.store.list({ status: filter.status, limit, after: filter.after });
    // One /proc read per live record: a page of hundreds stays in the low milliseconds.
    const checked = await Promise.all(page.items.map((rec) => this.checkAlive(rec)));
    // A runtime found crashed just now no longer matches a filter on running/paused.
    const items = checked.filter((rec) => !filter.status?.length || filter.status.includes(rec.status)).map((rec) => this.toRuntime(rec));
    return { items, nextCursor: page.nextCursor };
  }

  async get(ref: string, opts: { usage?: boolean } = {}): Promise<Runtime> {
    const rec = await this.checkAlive(this.find(ref));
    if (!opts.usage) return this.toRuntime(rec);
    if (rec.status !== "running" && rec.status !== "paused") return this.toRuntime(rec, null);
    const u = await this.cgroup(rec.id).usage();
    return this.toRuntime(rec, { memory_bytes: u.memoryBytes, memory_limit_bytes: u.memoryLimitBytes, cpu_usage_ns: u.cpuUsageNs, pids: u.pids });
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Lifecycle

  async start(ref: string): Promise<Runtime> {
    const { id } = this.find(ref);
    return this.withLock(id, async () => {
      const rec = await this.current(id);
      if (rec.status === "running") return this.toRuntime(rec);
      if (rec.status !== "shutdown" && rec.status !== "crashed") throw preconditionFor(rec, "boot");
      try {
        const started = await this.bootContainer(rec);
        return this.toRuntime(this.mustUpdate(id, { status: "running", ...started, lastError: null }));
      } catch (raw) {
        const err = diskFull(raw, this.opts.dataDir);
        await this.removeContainer(id).catch(() => undefined);
        this.store.update(id, { lastError: `boot failed: ${(err as Error).message}` });
        throw err;
      }
    });
  }

  async stop(ref: string, opts: { graceSecs?: number } = {}): Promise<Runtime> {
    const { id } = this.find(ref);
    return this.withLock(id, async () => {
      const rec = await this.current(id);
      if (rec.status === "shutdown") return this.toRuntime(rec);
      if (rec.status !== "running" && rec.status !== "paused" && rec.status !== "crashed") throw preconditionFor(rec, "shut down");
      if (rec.status !== "crashed") await this.killInit(rec, opts.graceSecs ?? LIMITS.stopGraceSecs);
      await this.removeContainer(id, { initDead: rec.status !== "crashed" });
      return this.toRuntime(this.mustUpdate(id, { status: "shutdown", initPid: null, initStartTime: null }));
    });
  }

  /**
   * Ends a runtime. With a grace period, every process but the init gets SIGTERM first and the init waits until they
   * are gone or the grace ran out: catatonit in pause mode exits at once on SIGTERM, and the kernel then SIGKILLs the
   * rest of the pid namespace, so signalling the init alone would never let a program shut down cleanly. Then the
   * init gets SIGKILL, which takes everything left with it. Signals go straight to host pids (the init's checked
   * against its start time) rather than through `runc kill`, saving process spawns.
   * cgroup v1 freezer: a frozen task cannot act on a signal, so a paused runtime is thawed before the graceful
   * stage, and right after the SIGKILL is queued when there is no grace.
   */
  private async killInit(rec: RuntimeRecord, graceSecs: number): Promise<void> {
    const cg = this.cgroup(rec.id);
    if (graceSecs > 0) {
      if (rec.status === "paused") await this.runc.resume(rec.id).catch(() => undefined);
      const deadline = Date.now() + graceSecs * 1000;
      let others = (await cg.procs()).filter((p) => p !== rec.initPid);
      for (const pid of others) {
        try {
          process.kill(pid, "SIGTERM");
        } catch {
          // Already gone.
        }
      }
      for (let delay = 2; others.length && Date.now() < deadline; delay = Math.min(delay * 2, 50)) {
        await sleep(delay);
        others = (await cg.procs()).filter((p) => p !== rec.initPid);
      }
    }
    if (sameProcessAlive(rec.initPid, rec.initStartTime)) {
      try {
        process.kill(rec.initPid!, "SIGKILL");
      } catch {
        // Exited in between.
      }
    }
    if (graceSecs <= 0 && rec.status === "paused") await this.runc.resume(rec.id).catch(() => undefined);
    if (!(await this.waitExit(rec.initPid, rec.initStartTime, 10_000))) {
      throw errors.internal(`runtime "${rec.name}" did not exit 10 s after SIGKILL; its processes may be stuck in the kernel (D state)`);
    }
  }

  async pause(ref: string): Promise<Runtime> {
    const { id } = this.find(ref);
    return this.withLock(id, async () => {
      const rec = await this.current(id);
      if (rec.status === "paused") return this.toRuntime(rec);
      if (rec.status !== "running") throw preconditionFor(rec, "pause");
      await this.runc.pause(id);
      return this.toRuntime(this.mustUpdate(id, { status: "paused" }));
    });
  }

  async resume(ref: string): Promise<Runtime> {
    const { id } = this.find(ref);
    return this.withLock(id, async () => {
      const rec = await this.current(id);
      if (rec.status === "running") return this.toRuntime(rec);
      if (rec.status !== "paused" && rec.status !== "suspended") throw preconditionFor(rec, "resume");
      await this.runc.resume(id);
      return this.toRuntime(this.mustUpdate(id, { status: "running" }));
    });
  }

  async delete(ref: string): Promise<Runtime> {
    const { id } = this.find(ref);
    return this.withLock(id, async () => {
      const rec = this.store.get(id);
      if (!rec) throw errors.notFound(`runtime ${shown(ref)} not found; list runtimes with: runta ps -a`);
      const deleting = this.mustUpdate(id, { status: "deleting" });
      try {
        const live = rec.status === "running" || rec.status === "paused";
        if (live) await this.killInit(rec, 0);
        await this.teardown(id, { initDead: live });
      } catch (err) {
        this.store.update(id, { lastError: `delete failed: ${(err as Error).message}; run 'runta rm ${rec.name}' again` });
        throw err;
      }
      this.store.delete(id);
      return this.toRuntime(deleting);
    });
  }

  /** The record as it is now (inside a lock), with a crash noticed. */
  private async current(id: string): Promise<RuntimeRecord> {
    const rec = this.store.get(id);
    if (!rec) throw errors.notFound(`runtime ${id} not found; list runtimes with: runta ps -a`);
    if ((rec.status === "running" || rec.status === "paused") && !sameProcessAlive(rec.initPid, rec.initStartTime)) {
      await this.removeContainer(id);
      return this.mustUpdate(id, { status: "crashed", initPid: null, initStartTime: null, lastError: "the runtime's init process exited unexpectedly" });
    }
    return rec;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Resize

  async resize(ref: string, req: { vcpus?: number; memoryMib?: number }): Promise<Runtime> {
    const { id } = this.find(ref);
    return this.withLock(id, async () => {
      const rec = await this.current(id);
      const vcpus = req.vcpus ?? rec.vcpus;
      const memoryMib = req.memoryMib ?? rec.memoryMib;
      validateResources(vcpus, memoryMib);
      if (rec.status === "shutdown" || rec.status === "crashed") {
        // Nothing runs: the new values go into the spec at the next boot.
        return this.toRuntime(this.mustUpdate(id, { vcpus, memoryMib }));
      }
      if (rec.status !== "running" && rec.status !== "paused") throw preconditionFor(rec, "resize");
      const cg = this.cgroup(id);
      if (req.memoryMib !== undefined && req.memoryMib < rec.memoryMib) {
        const { memoryBytes } = await cg.usage();
        if (memoryBytes > mibToBytes(req.memoryMib)) {
          throw new RuntaError(
            "failed_precondition",
            `runtime "${rec.name}" uses ${Math.ceil(memoryBytes / 1048576)} MiB now, more than the ${req.memoryMib} MiB asked for; ` +
              `the limit stays at ${rec.memoryMib} MiB — free memory inside it or ask for at least ${Math.ceil(memoryBytes / 1048576)} MiB`,
            { details: { field: "memory_mib", usage_bytes: memoryBytes } },
          );
        }
      }
      try {
        // runc orders the cgroup v1 writes: growing sets memory+swap before memory, shrinking memory before
        // memory+swap, because the kernel refuses a memory limit above memsw at every step.
        await this.runc.update(id, {
          memoryBytes: req.memoryMib !== undefined ? mibToBytes(req.memoryMib) : undefined,
          cpuQuota: req.vcpus !== undefined ? cpuQuota(req.vcpus) : undefined,
          cpuPeriod: req.vcpus !== undefined ? CPU_PERIOD_US : undefined,
        });
      } catch (err) {
        if (err instanceof RuncError && /device or resource busy|EBUSY/i.test(err.runcMessage)) {
          throw errors.precondition(
            `the kernel could not shrink runtime "${rec.name}" to ${req.memoryMib} MiB (memory in use cannot be reclaimed); the limit stays at ${rec.memoryMib} MiB`,
            { field: "memory_mib" },
          );
        }
        throw err;
      }
      const limits = await cg.limits();
      const readMemoryMib = Math.round(limits.memoryBytes / 1048576);
      const readVcpus = limits.cpuQuota > 0 ? Math.round((limits.cpuQuota / limits.cpuPeriod) * 100) / 100 : vcpus;
      return this.toRuntime(this.mustUpdate(id, { vcpus: readVcpus, memoryMib: readMemoryMib }));
    });
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Exec

  /** The record of a runtime an exec may enter: running, else `failed_precondition` with the fix. */
  private async runningFor(ref: string, what: string): Promise<RuntimeRecord> {
    const rec = await this.checkAlive(this.find(ref));
    if (rec.status !== "running") throw preconditionFor(rec, what);
    return rec;
  }

  /** Default working directory: /root when the image has it (Debian does), else /. */
  private defaultCwd(id: string): string {
    return existsSync(join(this.paths(id).rootfs, "root")) ? "/root" : "/";
  }

  /**
   * Counts a buffered exec in, or refuses it with resource_exhausted when the daemon or the runtime already runs as
   * many as allowed (each holds up to twice its output cap in memory). Returns the release, to call once it ended.
   */
  private admitBufferedExec(rec: RuntimeRecord): () => void {
    const { execBufferedMaxConcurrent: total, execBufferedMaxConcurrentPerRuntime: perRuntime } = this.opts.limits;
    if (this.bufferedExecTotal >= total) {
      throw errors.exhausted(`too many execs are running on this daemon (at most ${total} at once); retry when some have finished`, { limit: total });
    }
    const mine = this.bufferedExecs.get(rec.id) ?? 0;
    if (mine >= perRuntime) {
      throw errors.exhausted(`too many execs are running in runtime "${rec.name}" (at most ${perRuntime} at once); retry when some have finished`, {
        limit: perRuntime,
        runtime: rec.name,
      });
    }
    this.bufferedExecTotal++;
    this.bufferedExecs.set(rec.id, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.bufferedExecTotal--;
      const left = (this.bufferedExecs.get(rec.id) ?? 1) - 1;
      if (left > 0) this.bufferedExecs.set(rec.id, left);
      else this.bufferedExecs.delete(rec.id);
    };
  }

  async exec(ref: string, spec: ExecSpec): Promise<ExecResult> {
    const rec = await this.runningFor(ref, "exec");
    const release = this.admitBufferedExec(rec);
    try {
      return await this.execAdmitted(rec, spec);
    } finally {
      release();
    }
  }

  /** The buffered exec proper, once counted in. */
  private async execAdmitted(rec: RuntimeRecord, spec: ExecSpec): Promise<ExecResult> {
    const paths = this.paths(rec.id);
    const timeoutMs = (spec.timeoutSecs ?? LIMITS.execTimeoutSecsDefault) * 1000;
    const cap = Math.min(spec.maxOutputBytes ?? LIMITS.execMaxOutputBytesDefault, LIMITS.execMaxOutputBytesHardMax);
    const tag = randomBytes(8).toString("hex");
    const processFile = join(paths.execDir, `${tag}.json`);
    const pidFile = join(paths.execDir, `${tag}.pid`);
    const proc = buildExecProcess({ argv: spec.argv, cwd: spec.cwd ?? this.defaultCwd(rec.id), env: spec.env, tty: false, imageEnv: rec.env });
    await writeFile(processFile, JSON.stringify(proc));
    const cg = this.cgroup(rec.id);
    const oomBefore = await cg.oomKills();
    const startedAt = Date.now();
    try {
      const run = await runBuffered(this.runc.path, this.runc.execArgs(rec.id, processFile, pidFile), pidFile, {
        stdin: spec.stdin,
        timeoutMs,
        cap,
        signal: spec.signal,
      });
      const duration_ms = Date.now() - startedAt;
      this.store.touchActivity(rec.id, new Date().toISOString());
      if (!run.started && !run.timedOut) return await this.execFailure(rec, spec, run, duration_ms);
      let exitCode = run.exitCode;
      let signal: string | null = null;
      if (exitCode > 128 && exitCode < 128 + 65) signal = signalName(exitCode - 128);
      if (run.timedOut) {
        exitCode = 128 + osConstants.signals.SIGKILL;
        signal = "KILL";
      }
      // The OOM killer sends SIGKILL; a counter that moved during another exec's death alone does not count.
      const oomKilled = exitCode === 128 + osConstants.signals.SIGKILL && (await cg.oomKills()) > oomBefore;
      return {
        exit_code: exitCode,
        signal,
        stdout: run.stdout.toString("utf8"),
        stderr: run.stderr.toString("utf8"),
        duration_ms,
        stdout_truncated: run.stdoutTruncated,
        stderr_truncated: run.stderrTruncated,
        timed_out: run.timedOut,
        oom_killed: oomKilled,
      };
    } finally {
      await Promise.all([rm(processFile, { force: true }), rm(pidFile, { force: true })]);
    }
  }

  /**
   * runc failed before the command ran (no pid file): "not found" and "not executable" become 127 and 126 like a
   * shell's, with a readable stderr; a missing cwd is the caller's mistake; anything else is runc's failure.
   */
  private async execFailure(rec: RuntimeRecord, spec: ExecSpec, run: BufferedRun, duration_ms: number): Promise<ExecResult> {
    const message = runcErrorMessage(run.stderr.toString("utf8"));
    const base = { signal: null, stdout: "", duration_ms, stdout_truncated: false, stderr_truncated: false, timed_out: false, oom_killed: false };
    const cmd = spec.argv[0];
    if (/executable file not found|no such file or directory/.test(message) && /exec: /.test(message)) {
      return { ...base, exit_code: 127, stderr: `runta: ${cmd}: command not found in runtime "${rec.name}"\n` };
    }
    if (/exec: .*permission denied/.test(message)) {
      return { ...base, exit_code: 126, stderr: `runta: ${cmd}: permission denied (not an executable file)\n` };
    }
    if (/chdir to cwd/.test(message)) {
      throw errors.invalid(`cwd ${shown(spec.cwd ?? "")} does not exist in runtime "${rec.name}" (or is not a directory)`, { field: "cwd" });
    }
    const now = this.store.get(rec.id);
    if (now && now.status !== "running") throw preconditionFor(now, "exec");
    throw errors.internal(`runc could not start the command in runtime "${rec.name}": ${message}`);
  }

  async execStream(ref: string, spec: StreamSpec): Promise<StreamProcess> {
    const rec = await this.runningFor(ref, "exec");
    const proc = buildExecProcess({
      argv: spec.argv,
      cwd: spec.cwd ?? this.defaultCwd(rec.id),
      env: spec.env,
      tty: spec.tty,
      imageEnv: rec.env,
      rows: spec.rows,
      cols: spec.cols,
    });
    const cg = this.cgroup(rec.id);
    this.store.touchActivity(rec.id, new Date().toISOString());
    return startStreamExec({
      runcPath: this.runc.path,
      runcRoot: this.runc.root,
      containerId: rec.id,
      process: proc,
      tty: spec.tty,
      rows: spec.rows,
      cols: spec.cols,
      workDir: this.paths(rec.id).execDir,
      oomCount: () => cg.oomKills(),
    });
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Images

  async listImages(): Promise<Image[]> {
    const users = new Map<string, string[]>();
    for (const rec of this.store.all()) users.set(rec.image, [...(users.get(rec.image) ?? []), rec.name]);
    return (await this.images.list()).map((img) => ({ ...img, in_use_by: users.get(img.name) ?? [] }));
  }

  buildImage(name: string, onEvent: (ev: ImageBuildEvent) => void, opts?: { force?: boolean }): Promise<Image> {
    return this.images.build(name, onEvent, opts);
  }

  importImage(name: string, tarball: NodeJS.ReadableStream): Promise<Image> {
    return this.images.import(name, tarball);
  }

  async removeImage(name: string): Promise<void> {
    const users = this.store.all().filter((r) => r.image === name).map((r) => r.name);
    if (users.length) {
      throw errors.precondition(`image "${name}" is used by ${users.length} runtime(s): ${users.join(", ")}; remove them first: runta rm ${users.join(" ")}`, {
        in_use_by: users,
      });
    }
    await this.images.remove(name);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Misc

  async version(): Promise<{ runc: string; kernel: string }> {
    return { runc: await runcVersion(this.runc.path), kernel: kernelVersion() };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Let operations in flight commit their state before the database goes away; runtimes keep running.
    await Promise.allSettled([...this.locks.values()]);
    await this.disks.close();
    this.store.close();
  }

  /**
   * Brings the store in line with what runs: still-running containers are adopted, records whose container
   * vanished become `crashed` (or `shutdown` when the host rebooted since they started), unfinished deletes are
   * finished, and containers with no record are reported, never adopted twice or touched. One bad record is
   * logged and skipped.
   */
  async reconcile(): Promise<void> {
    const containers = new Map((await this.runc.list()).map((c) => [c.id, c]));
    const nowBoot = bootId();
    for (const rec of this.store.all()) {
      try {
        const c = containers.get(rec.id);
        containers.delete(rec.id);
        await this.reconcileOne(rec, c ?? null, nowBoot);
      } catch (err) {
        this.opts.logger.error("could not reconcile a runtime; leaving it as it is", { id: rec.id, name: rec.name, error: String((err as Error).message) });
      }
    }
    const known = new Set([...this.store.all().map((r) => r.id), ...containers.keys()]);
    for (const child of childCgroups(this.opts.cgroupParent)) {
      // Empty cgroups left by a crash between runc's cgroup setup and our cleanup; rmdir refuses non-empty ones.
      if (!known.has(child)) await removeCgroupDirs(join(this.opts.cgroupParent, child));
    }
    for (const c of containers.values()) {
      this.opts.logger.warn("container in runc's state root has no runtime record; leaving it alone", {
        id: c.id,
        status: c.status,
        fix: `runc --root ${this.opts.runcRoot} delete -f ${c.id}`,
      });
    }
  }

  private async reconcileOne(rec: RuntimeRecord, c: { pid: number; status: string } | null, nowBoot: string): Promise<void> {
    const log = this.opts.logger;
    if (rec.status === "deleting") {
      await this.teardown(rec.id);
      this.store.delete(rec.id);
      log.info("finished deleting a runtime", { id: rec.id, name: rec.name });
      return;
    }
    if (c && (c.status === "running" || c.status === "paused")) {
      const status: RuntimeStatus = c.status === "paused" ? "paused" : "running";
      const initStartTime = procStart(c.pid);
      if (status !== rec.status || c.pid !== rec.initPid || initStartTime !== rec.initStartTime) {
        this.mustUpdate(rec.id, { status, initPid: c.pid, initStartTime, lastError: null });
      }
      log.info("adopted a running runtime", { id: rec.id, name: rec.name, status });
      return;
    }
    if (c) await this.removeContainer(rec.id);
    if (rec.status === "creating") {
      await this.teardown(rec.id);
      this.mustUpdate(rec.id, { status: "error", initPid: null, initStartTime: null, lastError: "the daemon stopped while creating this runtime; remove it: runta rm " + rec.name });
      return;
    }
    if (rec.status === "running" || rec.status === "paused") {
      const rebooted = rec.bootId !== null && rec.bootId !== nowBoot;
      this.mustUpdate(rec.id, {
        status: rebooted ? "shutdown" : "crashed",
        initPid: null,
        initStartTime: null,
        lastError: rebooted ? null : "the runtime's init exited while the daemon was not running",
      });
      log.warn(rebooted ? "runtime stopped by a host reboot: now shutdown" : "runtime's container vanished: now crashed", { id: rec.id, name: rec.name });
      return;
    }
    // shutdown / crashed / error: no processes may remain; clear stale cgroup directories.
    await removeCgroupDirs(join(this.opts.cgroupParent, rec.id));
  }
}

/** Output and outcome of one buffered `runc exec`. */
interface BufferedRun {
  /** Whether the command started (runc wrote the pid file). */
  started: boolean;
  exitCode: number;
  stdout: Buffer;
  stderr: Buffer;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  timedOut: boolean;
}

/** Keeps the first `cap` bytes of a stream and drains the rest. */
class CappedBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  truncated = false;
  constructor(private readonly cap: number) {}
  push(chunk: Buffer): void {
    const room = this.cap - this.size;
    if (chunk.length > room) this.truncated = true;
    if (room <= 0) return;
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.chunks.push(kept);
    this.size += kept.length;
  }
  value(): Buffer {
    return Buffer.concat(this.chunks, this.size);
  }
}

/** How long output may keep arriving after the command exited (from children still holding its stdout). */
const DRAIN_AFTER_EXIT_MS = 100;
/** How often a running buffered exec checks whether its command is gone while runc still waits. */
const WATCH_INTERVAL_MS = 50;

/**
 * Runs `runc exec` with piped stdio. runc's init calls setsid() for exec'd processes, so the command leads its own
 * process group: killing `-pid` from the host (where the pid-file pid is valid) takes its background children too.
 *
 * A non-tty `runc exec` copies the command's output through its own pipes and exits only at EOF, so a background
 * child still holding stdout (`sleep 100 &`) would hold the answer until the timeout. So once the command itself is
 * gone (its pid vanishes: runc reaped it) and a short drain has passed, the rest of its process group is killed; runc
 * then sees EOF and exits with the command's own status. Children that detached their stdio are not waited for.
 */
/** How a buffered exec runs: stdin to feed, when to give up, the per-stream cap, and an abort for a caller that left. */
interface BufferedOptions {
  stdin?: Buffer;
  timeoutMs: number;
  cap: number;
  signal?: AbortSignal;
}

function runBuffered(runcPath: string, args: string[], pidFile: string, opts: BufferedOptions): Promise<BufferedRun> {
  const { stdin, timeoutMs, cap, signal } = opts;
  return new Promise((resolve, reject) => {
    const child = spawn(runcPath, args, { stdio: ["pipe", "pipe", "pipe"] });
    const out = new CappedBuffer(cap);
    const err = new CappedBuffer(cap);
    let timedOut = false;
    let exitCode: number | null = null;
    let exitSignal: NodeJS.Signals | null = null;
    let exited = false;
    let finished = false;
    let openStreams = 2;

    const readPid = () => readPidFile(pidFile);
    const killCommand = async () => {
      // The pid file appears once the process started; wait for it briefly rather than orphan the command.
      for (let i = 0; i < 50; i++) {
        const pid = await readPid();
        if (pid) {
          try {
            process.kill(-pid, "SIGKILL");
          } catch {
            // Group already gone.
          }
          return;
        }
        if (exited) return;
        await sleep(10);
      }
      child.kill("SIGKILL");
    };
    const killAll = () => {
      void killCommand();
      // A process that left the group (setsid) could still hold the pipes: do not wait for it past this point.
      setTimeout(() => child.kill("SIGKILL"), 2000).unref();
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killAll();
    }, timeoutMs);
    // The caller went away (e.g. Ctrl-C on `runta exec`): nobody will read the result, so the command ends now.
    signal?.addEventListener("abort", killAll, { once: true });
    if (signal?.aborted) killAll();

    let mainPid: number | null = null;
    let mainGoneAt: number | null = null;
    let watching = false;
    const watch = setInterval(async () => {
      if (exited || watching) return;
      watching = true;
      try {
        mainPid ??= await readPid();
        if (!mainPid || procStart(mainPid) !== null) return;
        mainGoneAt ??= Date.now();
        if (Date.now() - mainGoneAt < DRAIN_AFTER_EXIT_MS) return;
        clearInterval(watch);
        // The group outlives its leader's pid while members remain, and the kernel never reuses such a pid.
        try {
          process.kill(-mainPid, "SIGKILL");
        } catch {
          // Nobody left.
        }
      } finally {
        watching = false;
      }
    }, WATCH_INTERVAL_MS);

    const finish = async () => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      clearInterval(watch);
      signal?.removeEventListener("abort", killAll);
      const started = existsSync(pidFile);
      const code = exitCode ?? (exitSignal ? 128 + (osConstants.signals[exitSignal] ?? 9) : 255);
      resolve({
        started,
        exitCode: code,
        stdout: out.value(),
        stderr: err.value(),
        stdoutTruncated: out.truncated,
        stderrTruncated: err.truncated,
        timedOut,
      });
    };
    const streamDone = () => {
      openStreams -= 1;
      if (openStreams === 0 && exited) void finish();
    };
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    child.stdout.on("close", streamDone);
    child.stderr.on("close", streamDone);
    child.on("error", (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      clearInterval(watch);
      signal?.removeEventListener("abort", killAll);
      finished = true;
      reject(runcUnavailable(runcPath, e));
    });
    child.on("exit", (code, signal) => {
      exited = true;
      exitCode = code;
      exitSignal = signal;
      if (openStreams === 0) return void finish();
      // Background children may still hold the pipes open: stop waiting for them shortly after the command ended.
      setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        void finish();
      }, DRAIN_AFTER_EXIT_MS).unref();
    });
    child.stdin.on("error", () => undefined); // EPIPE when the command never reads its stdin.
    if (stdin?.length) child.stdin.end(stdin);
    else child.stdin.end();
  });
}
