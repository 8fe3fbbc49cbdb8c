/**
 * How one engine is put together: {@link openParts} opens what lives outside the process (runc, the store, images, the
 * disk pool, secrets, the network, LXCFS) in order and closes it again when a step fails; {@link wireRooms} builds the
 * rooms over those parts and ties them to each other. Rooms reach each other through closures that run only after
 * the wiring is done, so the order below is only that of their constructors. What a room needs of the facade (a
 * create, a stop under its lock, …) it gets through {@link FacadeVerbs}.
 */
import { join } from "node:path";
import { PORT_LIMITS } from "../api/ports-spec.js";
import { runcTrustWarning } from "../api/trust.js";
import type { Logger } from "../log.js";
import { CheckpointStore } from "../store/checkpoints.js";
import { PoolStore } from "../store/pools.js";
import type { RuntimeRecord } from "../store/record.js";
import { RuntimeStore } from "../store/store.js";
import { RuntimeAgents } from "./agent/agents.js";
import { CheckpointManager } from "./checkpoints/manager.js";
import { Containers } from "./containers.js";
import { RuntimeEgressSettings } from "./egress.js";
import { DiskPool } from "./disk-pool.js";
import { Execs } from "./exec.js";
import { RuntimeFiles } from "./files/runtime-files.js";
import { debianMirror, runcVersion } from "./host.js";
import { IdleKeeper } from "./idle/keeper.js";
import { ActivityTracker } from "./idle/tracker.js";
import { ImageBuilder } from "./images/packages.js";
import { ImageStore } from "./images/store.js";
import { Ingress, type IngressConfig } from "./ingress/ingress.js";
import { RuntimeNetworks } from "./network/network.js";
import { prepareHost, resolveOptions, type EngineConfig, type RuncEngineOptions } from "./options.js";
import { PoolManager } from "./pools/manager.js";
import { Creations } from "./provision.js";
import { RuntimeRecords } from "./records.js";
import { RuntimeRemoval } from "./removal.js";
import { RuntimeResizes } from "./resize.js";
import { runtimePaths, upperDir } from "./rootfs.js";
import { Runc } from "./runc.js";
import { RuntimeFreezer } from "./freezer.js";
import { RuntimeSecrets } from "./secrets/secrets.js";
import { VolumeStore } from "../store/volumes.js";
import { VolumeManager } from "./volumes/manager.js";
import type { Engine } from "./types.js";
import { Lxcfs } from "./views/lxcfs.js";

/** Formatted disks kept ready for the next creates. */
const DISK_POOL_SIZE = 2;

/** What an engine stands on, opened by {@link openParts}. */
export interface EngineParts {
  opts: EngineConfig;
  runc: Runc;
  /** Pause, resume, idle suspension and checkpoints freeze runtimes through it (not runc pause: freezer.ts). */
  freezer: RuntimeFreezer;
  store: RuntimeStore;
  images: ImageStore;
  disks: DiskPool;
  networks: RuntimeNetworks;
  lxcfs: Lxcfs;
  activity: ActivityTracker;
  secrets: RuntimeSecrets;
  /** The ingress's settings (the listener opens with the engine). */
  ingress: Partial<IngressConfig>;
}

/** Checks runc and the init, makes the directories and opens the parts; what opened is closed again if a step fails. */
export async function openParts(options: RuncEngineOptions): Promise<EngineParts> {
  const opts = resolveOptions(options);
  const runcRelease = await runcVersion(opts.runcPath);
  await prepareHost(opts);
  const runc = new Runc({ path: opts.runcPath, root: opts.runcRoot, logDir: join(opts.dataDir, "runtimes") });
  const store = new RuntimeStore(opts.dataDir, opts.logger);
  const images = new ImageStore({ imagesDir: opts.imagesDir, logger: opts.logger, trustWarning: runcTrustWarning(runcRelease) });
  const disks = new DiskPool(join(opts.dataDir, "runtimes", ".pool"), opts.limits.diskMib, DISK_POOL_SIZE, opts.logger);
  let networks: RuntimeNetworks | undefined;
  const activity = new ActivityTracker();
  try {
    const secrets = await RuntimeSecrets.open({
      db: store.db,
      dataDir: opts.dataDir,
      upstreamCaFile: options.egressCaBundle,
      logger: opts.logger,
      runtimeName: (id) => store.get(id)?.name ?? null,
    });
    networks = await RuntimeNetworks.open({
      dataDir: opts.dataDir,
      ...options.network,
      logger: opts.logger,
      activity: (id) => activity.hold(id, "egress"),
      takeover: secrets.takeover,
    });
    const lxcfs = await Lxcfs.open({ dataDir: opts.dataDir, binary: opts.lxcfsPath, logger: opts.logger });
    return { opts, runc, freezer: new RuntimeFreezer(opts.cgroupParent), store, images, disks, networks, lxcfs, activity, secrets, ingress: options.ingress ?? {} };
  } catch (err) {
    await closeParts({ disks, networks, store });
    throw err;
  }
}

/** Closes the parts a failed open leaves behind (runtimes keep running). */
export async function closeParts(parts: { disks: DiskPool; networks?: RuntimeNetworks; store: RuntimeStore }): Promise<void> {
  await parts.disks.close();
  await parts.networks?.close();
  parts.store.close();
}

/** The engine's rooms, wired to each other by {@link wireRooms}. */
export interface Rooms {
  containers: Containers;
  ingress: Ingress;
  records: RuntimeRecords;
  files: RuntimeFiles;
  checkpoints: CheckpointManager;
  volumes: VolumeManager;
  pools: PoolManager;
  builder: ImageBuilder;
  creations: Creations;
  execs: Execs;
  idle: IdleKeeper;
  removal: RuntimeRemoval;
  resizes: RuntimeResizes;
  egressSettings: RuntimeEgressSettings;
}

/** What rooms call on the facade: its verbs, under its locks and status checks. */
export type FacadeVerbs = Pick<Engine, "create" | "execStream" | "stop" | "delete" | "wake" | "activityHold">;

/** Builds the rooms over `parts`. */
export function wireRooms(parts: EngineParts, facade: FacadeVerbs): Rooms {
  const { opts, runc, freezer, store, images, disks, networks, lxcfs, activity, secrets } = parts;
  const logger: Logger = opts.logger;
  const volumes = new VolumeManager(new VolumeStore(store.db), { dataDir: opts.dataDir, logger, runtimes: () => store.all() });
  const agents = new RuntimeAgents({ binary: opts.execAgent, dataDir: opts.dataDir, cgroupParent: opts.cgroupParent, logger });
  const containers = new Containers(runc, images, networks, lxcfs, {
    ...opts,
    agents,
    freezer,
    checkpointLayers: (id) => checkpoints.lowerLayers(id),
    installTrust: (rootfs) => secrets.installTrust(rootfs),
    volumeMounts: (rec) => volumes.hostMounts(rec),
  });
  const ingress = new Ingress(
    {
      store,
      address: (id) => networks.describe(id).address,
      wake: (id) => facade.wake(id),
      activityHold: (id, kind) => facade.activityHold(id, kind),
      logger,
    },
    { address: null, listenHost: "127.0.0.1", wakeTimeoutMs: PORT_LIMITS.wakeTimeoutSecsDefault * 1000, ...parts.ingress },
  );
  const records: RuntimeRecords = new RuntimeRecords(
    store,
    containers,
    logger,
    { checkpointName: (id) => checkpoints.nameOf(id), volumes: (v) => volumes.describe(v) },
    (rec) => idle.describe(rec),
    (rec) => ingress.wire(rec),
  );
  const files = new RuntimeFiles({ records, containers, dataDir: opts.dataDir, volumeMounts: (rec) => volumes.hostMounts(rec) });
  const checkpoints: CheckpointManager = new CheckpointManager(new CheckpointStore(store.db), {
    dataDir: opts.dataDir,
    logger,
    withRuntime: (ref, fn) => records.withRuntime(ref, fn),
    upperDir: (rec) => upperDir(runtimePaths(opts.dataDir, rec.id)),
    freeze: (id) => freezer.freeze(id),
    thaw: (id) => freezer.thaw(id),
    // A runtime a checkpoint paused when the daemon died: thawed and recorded running again.
    thawAfterCrash: (id) =>
      records.withLock(id, async () => {
        const state = await runc.state(id);
        if (state?.status !== "paused") return;
        await freezer.thaw(id);
        records.mustUpdate(id, { status: "running" });
      }),
    runtimes: () => store.all(),
  });
  const pools: PoolManager = new PoolManager({
    store,
    pools: new PoolStore(store.db),
    images,
    logger,
    runtimesMax: opts.limits.runtimesMax,
    diskMib: opts.limits.diskMib,
    boot: async (rec: RuntimeRecord) => {
      await records.withLock(rec.id, () => creations.provision(rec, true, { name: rec.image }, { mode: "nat" }));
      disks.refill();
    },
    remove: async (rec: RuntimeRecord) => {
      await removal.remove(rec.id);
    },
    busy: () => creations.busy(),
  });
  const builder = new ImageBuilder(images, {
    create: (spec) => facade.create(spec),
    execStream: (ref, spec) => facade.execStream(ref, spec),
    stop: (ref, o) => facade.stop(ref, o),
    delete: (ref) =>
      facade.delete(ref).catch((err) => {
        logger.error("could not delete a build runtime; remove it with runta rm", { runtime: ref, error: String((err as Error).message) });
        throw err;
      }),
    upperDir: (id) => upperDir(runtimePaths(opts.dataDir, id)),
  }, { mirror: () => debianMirror(), logger });
  const creations: Creations = new Creations({
    store,
    records,
    images,
    builder,
    checkpoints,
    volumes,
    containers,
    networks,
    disks,
    ingress,
    pools,
    logger,
    dataDir: opts.dataDir,
    runtimesMax: opts.limits.runtimesMax,
    diskMib: opts.limits.diskMib,
  });
  const execs = new Execs({
    runc,
    agents,
    store,
    dataDir: opts.dataDir,
    cgroupParent: opts.cgroupParent,
    maxBuffered: opts.limits.execBufferedMaxConcurrent,
    maxBufferedPerRuntime: opts.limits.execBufferedMaxConcurrentPerRuntime,
    outputBudgetBytes: opts.limits.execBufferedOutputBudgetBytes,
    secretNames: () => secrets.names(),
  });
  const idle: IdleKeeper = new IdleKeeper({
    tracker: activity,
    store,
    records,
    freezer,
    execActivity: (id) => execs.activity(id),
    adoptExecs: (rec) => execs.adopt(rec),
    logger,
  });
  const removal = new RuntimeRemoval({ store, records, containers, ingress, execs, idle, secrets });
  const resizes = new RuntimeResizes({ runc, records, containers, dataDir: opts.dataDir, cgroupParent: opts.cgroupParent });
  const egressSettings = new RuntimeEgressSettings({ records, networks, secrets, dataDir: opts.dataDir });
  return { containers, ingress, records, files, checkpoints, volumes, pools, builder, creations, execs, idle, removal, resizes, egressSettings };
}
