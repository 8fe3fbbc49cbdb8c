/**
 * `RuncEngine`: the {@link Engine} on runc, and only the facade that ties the rooms together — each method finds the
 * runtime, takes its lock, checks its status and hands over to a room. runc knows containers; the rooms add what it
 * lacks: provision.ts (the create path) over create.ts (admission and the new record), records.ts (find, lock, crash
 * check), containers.ts (boot, shut down, kill, remove one container), resize.ts (limits, disk growth), removal.ts
 * (`rm` and what every room forgets), egress.ts (egress policy, secret rules), usage.ts, exec.ts (buffered,
 * streamed, detached exec), files/ (`runta cp`), checkpoints/, network/, ingress/ (published ports), secrets/, idle/
 * (suspend when idle, wake, the runtime an exec enters), pools/ (warm pools), volumes/, images/, lifetime.ts,
 * reconcile.ts, names.ts, refusals.ts and the store. options.ts holds the options and their defaults; wiring.ts opens
 * the parts and builds the rooms.
 *
 * Runtimes are detached: `runc run -d` with /dev/null stdio, so the daemon holds nothing of them and they keep
 * running when it stops or crashes. At open, the store and runc's state root are reconciled.
 */
import type { Readable } from "node:stream";
import {
  LIMITS,
  type Checkpoint,
  type ExecInfo,
  type ExecResult,
  type ExecSignal,
  type FileStat,
  type FilesWritten,
  type Image,
  type ImageBuildEvent,
  type Pool,
  type Runtime,
  type Volume,
} from "../api/index.js";
import type { EgressEvent, EgressPolicyInput, RuntimeEgress } from "../api/egress.js";
import type { PortRequest } from "../api/ports-spec.js";
import type { Secret, SecretRule, SecretRuleRequest } from "../api/secrets.js";
import { DatabaseBackups } from "../store/integrity.js";
import type { RuntimeRecord } from "../store/record.js";
import type { RuntimeStore } from "../store/store.js";
import { browserOf, isBrowser } from "./browser/browser.js";
import type { CheckpointManager } from "./checkpoints/manager.js";
import type { Containers } from "./containers.js";
import type { RuntimeEgressSettings } from "./egress.js";
import type { DiskPool } from "./disk-pool.js";
import type { Execs } from "./exec.js";
import { wholeResult, type CapturedExec } from "./exec-output.js";
import type { RuntimeFiles } from "./files/runtime-files.js";
import { kernelVersion, runcVersion } from "./host.js";
import type { IdleKeeper } from "./idle/keeper.js";
import { refuseRemovalInUse, withUsers } from "./images/in-use.js";
import { removeLeftoverBuilds, type ImageBuilder } from "./images/packages.js";
import type { ImageStore } from "./images/store.js";
import type { Ingress, PublishedConnection } from "./ingress/ingress.js";
import { LifetimeSweeper } from "./lifetime.js";
import type { RuntimeNetworks } from "./network/network.js";
import type { EngineConfig, RuncEngineOptions } from "./options.js";
import type { PoolManager } from "./pools/manager.js";
import { shapeWithDefaults } from "./pools/take.js";
import type { Creations } from "./provision.js";
import { reconcileEngine } from "./reconcile.js";
import type { RuntimeRecords } from "./records.js";
import type { RuntimeRemoval } from "./removal.js";
import type { RuntimeResizes } from "./resize.js";
import { preconditionFor } from "./refusals.js";
import type { Runc } from "./runc.js";
import { listPage } from "./runtime-view.js";
import type { RuntimeFreezer } from "./freezer.js";
import type { RuntimeSecrets } from "./secrets/secrets.js";
import { isFrozen, isLive } from "./status.js";
import type { CreateSpec, DetachedSpec, Engine, ExecSpec, ListFilter, ListPage, PoolSpec, StreamProcess, StreamSpec } from "./types.js";
import { readUsage } from "./usage.js";
import type { Lxcfs } from "./views/lxcfs.js";
import type { VolumeManager } from "./volumes/manager.js";
import { closeParts, openParts, wireRooms, type EngineParts } from "./wiring.js";

export type { EngineLimits, RuncEngineOptions } from "./options.js";

/** The engine on runc, overlayfs, cgroups and SQLite. */
export class RuncEngine implements Engine {
  /** Shuts down runtimes whose lifetime is over (lifetime.ts); from open until close. */
  private lifetimes?: LifetimeSweeper;
  /** The database's backups (store/integrity.ts); from open until close. */
  private backups?: DatabaseBackups;
  private readonly opts: EngineConfig;
  readonly runc: Runc;
  private readonly freezer: RuntimeFreezer;
  readonly store: RuntimeStore;
  readonly images: ImageStore;
  readonly networks: RuntimeNetworks;
  private readonly disks: DiskPool;
  private readonly lxcfs: Lxcfs;
  private readonly secrets: RuntimeSecrets;
  /** The create path and the creates in flight (provision.ts). */
  private readonly creations: Creations;
  private readonly containers: Containers;
  private readonly records: RuntimeRecords;
  private readonly execs: Execs;
  private readonly files: RuntimeFiles;
  /** Suspends runtimes idle for their timeout and wakes them (idle/). */
  private readonly idle: IdleKeeper;
  /** `runta rm` and what it clears in every room (removal.ts). */
  private readonly removal: RuntimeRemoval;
  /** `runta resize` (resize.ts). */
  private readonly resizes: RuntimeResizes;
  /** Egress policies and secret rules (egress.ts). */
  private readonly egressSettings: RuntimeEgressSettings;
  readonly checkpoints: CheckpointManager;
  readonly volumes: VolumeManager;
  /** Warm pools (pools/): booted members that creates of their shape take. */
  readonly pools: PoolManager;
  /** Image builds: the default image, and derived images made in build runtimes of this engine (images/packages.ts). */
  private readonly builder: ImageBuilder;
  private readonly ingress: Ingress;
  private closed = false;

  private constructor(parts: EngineParts) {
    ({ opts: this.opts, runc: this.runc, freezer: this.freezer, store: this.store, images: this.images, networks: this.networks, disks: this.disks, lxcfs: this.lxcfs, secrets: this.secrets } = parts);
    const rooms = wireRooms(parts, {
      create: (spec, o) => this.create(spec, o),
      execStream: (ref, spec) => this.execStream(ref, spec),
      stop: (ref, o) => this.stop(ref, o),
      delete: (ref) => this.delete(ref),
      wake: (ref) => this.wake(ref),
      activityHold: (id, kind) => this.activityHold(id, kind),
    });
    ({
      containers: this.containers,
      ingress: this.ingress,
      records: this.records,
      files: this.files,
      checkpoints: this.checkpoints,
      volumes: this.volumes,
      pools: this.pools,
      builder: this.builder,
      creations: this.creations,
      execs: this.execs,
      idle: this.idle,
      removal: this.removal,
      resizes: this.resizes,
      egressSettings: this.egressSettings,
    } = rooms);
  }

  /** Opens the store and images, checks runc and the init (wiring.ts), and reconciles with what still runs. */
  static async open(options: RuncEngineOptions): Promise<RuncEngine> {
    const parts = await openParts(options);
    try {
      const engine = new RuncEngine(parts);
      await parts.runc.removeStaleLogs();
      const { containers, execs, checkpoints, volumes } = engine;
      await reconcileEngine(parts, { containers, execs, checkpoints, volumes });
      await engine.ingress.open();
      await removeLeftoverBuilds(parts.store.all(), (id) => engine.delete(id), parts.opts.logger);
      engine.backups = new DatabaseBackups(parts.store.db, parts.opts.dataDir, parts.opts.logger);
      await engine.backups.start();
      engine.lifetimes = new LifetimeSweeper(parts.store, (id, startedAt) => engine.stop(id, { ifStartedAt: startedAt }), parts.opts.logger);
      engine.idle.start();
      await parts.disks.open();
      // Members adopted by the reconcile count; only the missing ones boot (in the background).
      engine.pools.schedule(0);
      return engine;
    } catch (err) {
      await closeParts(parts);
      throw err;
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Create

  /** Admission, a warm pool's member or a fresh provision (provision.ts). */
  create(spec: CreateSpec, opts: { wait?: boolean; existed?: () => void } = {}): Promise<Runtime> {
    return this.creations.create(spec, opts);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Read

  async list(filter: ListFilter = {}): Promise<ListPage> {
    const limit = Math.min(filter.limit ?? LIMITS.listLimitDefault, LIMITS.listLimitMax);
    const page = this.store.list({ status: filter.status, limit, after: filter.after, pooled: filter.pooled });
    // A signal-0 probe per live record, a /proc read at most once a second each: a page of hundreds stays flat.
    const checked = await this.records.checkAliveInBulk(page.items);
    // A runtime found crashed just now no longer matches a filter on running/paused.
    const matching = checked.filter((rec) => !filter.status?.length || filter.status.includes(rec.status));
    // Each runtime's JSON, its fixed part kept per record (runtime-view.ts): the route writes them as they are.
    const json = filter.usage
      ? await Promise.all(matching.map(async (rec) => this.records.json(rec, await this.usageOf(rec))))
      : matching.map((rec) => this.records.json(rec));
    return listPage(json, page.nextCursor);
  }

  async get(ref: string, opts: { usage?: boolean } = {}): Promise<Runtime> {
    const rec = await this.records.checkAlive(this.records.find(ref));
    const rt = this.records.toRuntime(rec, opts.usage ? await this.usageOf(rec) : undefined);
    return isBrowser(rec) ? { ...rt, browser: await browserOf(rt, this.networks.describe(rt.id).address) } : rt;
  }

  /** Current usage (usage.ts); null when nothing runs. */
  private async usageOf(rec: RuntimeRecord): Promise<Runtime["usage"]> {
    if (!isLive(rec.status)) return null;
    return readUsage(rec.id, { cgroupParent: this.opts.cgroupParent, dataDir: this.opts.dataDir, networks: this.networks });
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Lifecycle

  async start(ref: string): Promise<Runtime> {
    return this.records.withRuntime(ref, async (rec) => {
      if (rec.status === "running") return this.records.toRuntime(rec);
      if (rec.status !== "shutdown" && rec.status !== "crashed") throw preconditionFor(rec, "boot");
      try {
        const started = await this.containers.bootAgain(rec);
        return this.records.toRuntime(this.records.mustUpdate(rec.id, { status: "running", ...started, exitCode: null, lastError: null }));
      } catch (err) {
        this.store.update(rec.id, { lastError: `boot failed: ${(err as Error).message}` });
        throw err;
      }
    });
  }

  /** `ifStartedAt`: only the runtime as started then (a lifetime's end must not stop a later boot). */
  async stop(ref: string, opts: { graceSecs?: number; ifStartedAt?: string } = {}): Promise<Runtime> {
    return this.records.withRuntime(ref, async (rec) => {
      if (rec.status === "shutdown" || (opts.ifStartedAt !== undefined && rec.startedAt !== opts.ifStartedAt)) return this.records.toRuntime(rec);
      if (!isLive(rec.status) && rec.status !== "crashed") throw preconditionFor(rec, "shut down");
      const exitCode = await this.containers.shutdown(rec, opts.graceSecs ?? LIMITS.stopGraceSecs);
      return this.records.toRuntime(this.records.mustUpdate(rec.id, { status: "shutdown", initPid: null, initStartTime: null, exitCode }));
    });
  }

  async pause(ref: string): Promise<Runtime> {
    return this.records.withRuntime(ref, async (rec) => {
      if (rec.status === "paused") return this.records.toRuntime(rec);
      // Already frozen while idle: now the user's pause, which nothing wakes.
      if (rec.status === "suspended") return this.records.toRuntime(this.records.mustUpdate(rec.id, { status: "paused" }));
      if (rec.status !== "running") throw preconditionFor(rec, "pause");
      await this.freezer.freeze(rec.id);
      return this.records.toRuntime(this.records.mustUpdate(rec.id, { status: "paused" }));
    });
  }

  async resume(ref: string): Promise<Runtime> {
    return this.records.withRuntime(ref, async (rec) => {
      if (rec.status === "running") return this.records.toRuntime(rec);
      if (!isFrozen(rec.status)) throw preconditionFor(rec, "resume");
      await this.freezer.thaw(rec.id);
      this.idle.touch(rec.id, "resume");
      return this.records.toRuntime(this.records.mustUpdate(rec.id, { status: "running" }));
    });
  }

  async delete(ref: string): Promise<Runtime> {
    return this.removal.remove(this.records.find(ref).id);
  }

  async rename(ref: string, name: string): Promise<Runtime> {
    return this.records.withRuntime(ref, async (rec) => {
      if (rec.status === "deleting") throw preconditionFor(rec, "rename");
      return this.records.toRuntime(this.records.mustUpdate(rec.id, { name }));
    });
  }

  /** Disk growth, live limits, or the record alone while shut down (resize.ts). */
  resize(ref: string, req: { vcpus?: number; memoryMib?: number; diskSizeGib?: number }): Promise<Runtime> {
    return this.resizes.resize(ref, req);
  }

  describe(ref: string, description: string): Promise<Runtime> {
    return this.records.describe(ref, description);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Idle (idle/)

  async setIdleTimeout(ref: string, secs: number | null): Promise<Runtime> {
    return this.records.withRuntime(ref, async (rec) => {
      // The clock starts now: a runtime quiet for an hour does not suspend the moment it gets a timeout.
      this.idle.touch(rec.id, "settings");
      return this.records.toRuntime(this.records.mustUpdate(rec.id, { idleTimeoutSecs: secs }));
    });
  }

  async wake(ref: string): Promise<void> {
    return this.idle.wake(this.records.find(ref).id);
  }

  activityHold(runtimeId: string, kind: "ingress"): () => void {
    return this.idle.hold(runtimeId, kind);
  }

  // Published ports (ingress/)

  async publishPort(ref: string, port: PortRequest): Promise<Runtime> {
    return this.records.withRuntime(ref, async (rec) => this.records.toRuntime(await this.ingress.publish(rec, port)));
  }

  async unpublishPort(ref: string, port: number): Promise<Runtime> {
    return this.records.withRuntime(ref, async (rec) => this.records.toRuntime(await this.ingress.unpublish(rec, port)));
  }

  openPublished(runtimeId: string, port: number, signal?: AbortSignal): Promise<PublishedConnection> {
    return this.ingress.connect(runtimeId, port, "ingress", signal);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Files (files/)

  statFile(ref: string, path: string): Promise<FileStat> {
    return this.files.stat(ref, path);
  }

  readFiles(ref: string, path: string): Promise<Readable> {
    return this.files.readTree(ref, path);
  }

  readFile(ref: string, path: string): Promise<{ size: number; stream: Readable }> {
    return this.files.readFile(ref, path);
  }

  writeFiles(ref: string, dir: string, archive: Readable, opts?: { keepOwner?: boolean }): Promise<FilesWritten> {
    return this.files.writeTree(ref, dir, archive, opts);
  }

  writeFile(ref: string, path: string, data: Readable, opts?: { mode?: number }): Promise<FilesWritten> {
    return this.files.writeFile(ref, path, data, opts);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Checkpoints (checkpoints/)

  createCheckpoint(ref: string, name: string, opts: { kind?: Checkpoint["kind"] } = {}): Promise<Checkpoint> {
    return this.checkpoints.create(ref, name, opts.kind);
  }

  async listCheckpoints(): Promise<Checkpoint[]> {
    return this.checkpoints.list();
  }

  async getCheckpoint(ref: string): Promise<Checkpoint> {
    return this.checkpoints.get(ref);
  }

  removeCheckpoint(ref: string): Promise<Checkpoint> {
    return this.checkpoints.remove(ref);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Exec (exec.ts; idle/ wakes the runtime an exec enters)

  async execCaptured(ref: string, spec: ExecSpec): Promise<CapturedExec> {
    return this.execs.buffered(await this.idle.enter(ref, "exec"), spec);
  }

  /** A buffered exec's whole result with its output as strings: for in-process callers; the API streams execCaptured. */
  async exec(ref: string, spec: ExecSpec): Promise<ExecResult> {
    return wholeResult(await this.execCaptured(ref, spec));
  }

  async execStream(ref: string, spec: StreamSpec): Promise<StreamProcess> {
    return this.execs.stream(await this.idle.enter(ref, "exec", spec.tty ? "terminal" : "exec"), spec);
  }

  async execDetached(ref: string, spec: DetachedSpec): Promise<ExecInfo> {
    return this.execs.detached(await this.idle.enter(ref, "exec"), spec);
  }

  // A runtime in any status lists and shows its execs (the history outlives a shutdown).
  async listExecs(ref: string): Promise<ExecInfo[]> {
    return this.execs.list(this.records.find(ref));
  }

  async getExec(ref: string, id: string): Promise<ExecInfo> {
    return this.execs.get(this.records.find(ref), id);
  }

  async signalExec(ref: string, id: string, signal: ExecSignal): Promise<ExecInfo> {
    return this.execs.signal(this.records.find(ref), id, signal);
  }

  async attachExec(ref: string, id: string): Promise<{ proc: StreamProcess; replay: Buffer }> {
    return this.execs.attach(await this.idle.enter(ref, "attach", "terminal"), id);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Egress (egress.ts over network/)

  async egress(ref: string): Promise<RuntimeEgress> {
    return this.egressSettings.of(this.records.find(ref));
  }

  setEgress(ref: string, input: EgressPolicyInput): Promise<RuntimeEgress> {
    return this.egressSettings.setPolicy(ref, input);
  }

  async egressEvents(ref: string, opts: { limit?: number; after?: number } = {}): Promise<EgressEvent[]> {
    return this.networks.events(this.records.find(ref).id, opts);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Volumes (volumes/)

  createVolume(name: string, opts: { sizeMib?: number } = {}): Promise<Volume> {
    return this.volumes.create(name, opts.sizeMib);
  }

  listVolumes(): Promise<Volume[]> {
    return this.volumes.list();
  }

  getVolume(ref: string): Promise<Volume> {
    return this.volumes.get(ref);
  }

  removeVolume(ref: string): Promise<Volume> {
    return this.volumes.remove(ref);
  }

  resizeVolume(ref: string, sizeMib: number): Promise<Volume> {
    return this.volumes.resize(ref, sizeMib);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Secrets (secrets/)

  async listSecrets(): Promise<Secret[]> {
    return this.secrets.list();
  }

  async getSecret(ref: string): Promise<Secret> {
    return this.secrets.get(ref);
  }

  async setSecret(name: string, value: string): Promise<{ secret: Secret; created: boolean }> {
    return this.secrets.set(name, value);
  }

  async removeSecret(ref: string): Promise<Secret> {
    return this.secrets.remove(ref);
  }

  async secretRules(ref: string): Promise<SecretRule[]> {
    return this.secrets.rules(this.records.find(ref).id);
  }

  setSecretRule(ref: string, rule: SecretRuleRequest): Promise<SecretRule> {
    return this.egressSettings.setSecretRule(ref, rule);
  }

  async removeSecretRule(ref: string, host: string, header: string): Promise<SecretRule> {
    const rec = this.records.find(ref);
    return this.secrets.removeRule(rec.id, rec.name, host, header);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Images

  async listImages(): Promise<Image[]> {
    return withUsers(await this.images.list(), this.store.all());
  }

  buildImage(name: string | undefined, onEvent: (ev: ImageBuildEvent) => void, opts: { force?: boolean; packages?: string[]; parent?: string } = {}): Promise<Image> {
    return this.builder.build({ name, parent: opts.parent, packages: opts.packages }, onEvent, { force: opts.force });
  }

  importImage(name: string, tarball: NodeJS.ReadableStream): Promise<Image> {
    return this.images.import(name, tarball);
  }

  async removeImage(name: string): Promise<void> {
    refuseRemovalInUse(name, { runtimes: this.store.all(), pools: this.pools.list(), checkpoints: this.checkpoints.imageUsers(name) });
    await this.images.remove(name);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Warm pools (pools/)

  async setPool(name: string, spec: PoolSpec): Promise<Pool> {
    // A pool's defaults are a create's, so a plain `runta run` is served by a plain `runta pool set`.
    return this.pools.set(name, { ...shapeWithDefaults(spec), min: spec.min, max: spec.max });
  }

  async listPools(): Promise<Pool[]> {
    return this.pools.list();
  }

  async removePool(name: string): Promise<Pool> {
    return this.pools.remove(name);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Daemon: version, close

  async version(): Promise<{ runc: string; kernel: string }> {
    return { runc: await runcVersion(this.runc.path), kernel: kernelVersion() };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.backups?.close();
    this.lifetimes?.close();
    await this.pools.close();
    await this.ingress.close();
    // Let operations in flight commit their state before the database goes away; runtimes keep running.
    await this.records.settle();
    this.idle.close();
    await this.disks.close();
    await this.networks.close();
    // LXCFS outlives the daemon while containers use its files; with none of this data dir's running, nothing needs it.
    await this.lxcfs.close({ stop: !(await this.containers.anyRunning()) });
    this.store.close();
  }
}
