/**
 * Records recovered from runtime directories. The store is the source of truth, but a damaged database (bytes flipped
 * in, or truncation of, its write-ahead log: SQLite then silently stops at the last intact commit) loses the newest
 * records while their runtimes go on running — a loop-mounted disk, a cgroup, processes nobody lists. Each runtime's
 * directory keeps its bundle's config.json, written at every boot with the record's own fields as an annotation
 * ({@link recordAnnotations}), so at open every directory without a record gets one back from it: name, image,
 * resources, env, labels, description and timeouts as of its last boot (older bundles without the annotation: the
 * hostname as name, the image from the `lower` link, resources and env from the spec). A recovered record starts as
 * `crashed` and says so in `last_error`; reconciliation right after adopts it as running when its container runs,
 * so `runta ps -a` lists it and `runta rm` removes it like any other.
 */
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { OPEN_POLICY } from "../api/egress-policy.js";
import type { PortBinding } from "../api/ports-spec.js";
import type { Logger } from "../log.js";
import type { NetworkRecord } from "../store/network-store.js";
import { newRuntimeRecord } from "../store/new-record.js";
import type { RuntimeRecord, RuntimeVolume } from "../store/record.js";
import type { RuntimeStore } from "../store/store.js";
import { bootId } from "./host.js";
import { procStart } from "./proc.js";
import { runtimePaths } from "./rootfs.js";

/** The config.json annotations that carry the record's fields and its network's (mode, address index, egress policy). */
export const RECORD_ANNOTATION = "io.runta.record";
export const NETWORK_ANNOTATION = "io.runta.network";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** What of a record is saved with its bundle (env values are in the spec's process env already: only the names here). */
interface SavedRecord {
  name: string;
  image: string;
  vcpus: number;
  memoryMib: number;
  envNames: string[];
  labels: Record<string, string>;
  hostname: string | null;
  description: string;
  execTimeoutSecs: number | null;
  lifetimeSecs: number | null;
  /** Absent in bundles written before idle timeouts and warm pools. */
  idleTimeoutSecs?: number | null;
  pool?: string | null;
  /** Absent in bundles written before published ports. */
  ports?: PortBinding[];
  createdAt: string;
  diskMib: number | null;
  checkpointId: string | null;
  /** Absent in bundles written before volumes. */
  volumes?: RuntimeVolume[];
}

/** The annotations a runtime's config.json carries, so its record can be rebuilt from the directory alone. */
export function recordAnnotations(rec: RuntimeRecord, network: NetworkRecord | null): Record<string, string> {
  const saved: SavedRecord = {
    name: rec.name,
    image: rec.image,
    vcpus: rec.vcpus,
    memoryMib: rec.memoryMib,
    envNames: Object.keys(rec.env),
    labels: rec.labels,
    hostname: rec.hostname,
    description: rec.description,
    execTimeoutSecs: rec.execTimeoutSecs,
    lifetimeSecs: rec.lifetimeSecs,
    idleTimeoutSecs: rec.idleTimeoutSecs,
    pool: rec.pool,
    ports: rec.ports,
    createdAt: rec.createdAt,
    diskMib: rec.diskMib,
    checkpointId: rec.checkpointId,
    volumes: rec.volumes,
  };
  const out: Record<string, string> = { [RECORD_ANNOTATION]: JSON.stringify(saved) };
  if (network) out[NETWORK_ANNOTATION] = JSON.stringify({ mode: network.mode, index: network.index, policy: network.policy });
  return out;
}

interface BundleSpec {
  hostname?: string;
  annotations?: Record<string, string>;
  process?: { env?: string[] };
  linux?: { resources?: { memory?: { limit?: number }; cpu?: { quota?: number; period?: number } }; namespaces?: Array<{ type: string; path?: string }> };
}

/** A runtime's directory read back: its record and, when it had one, its network. */
export interface RecoveredRuntime {
  rec: RuntimeRecord;
  network: NetworkRecord | null;
}

/**
 * The record (status `crashed`) and network a runtime directory describes, or null when it holds no bundle (a create
 * that never wrote one). A bundle from before the network annotation gives its namespace's address index (from
 * `<prefix>-<hex index>`) with the open egress policy, and says so.
 */
export function recordFromDir(dataDir: string, id: string, now = new Date()): RecoveredRuntime | null {
  const paths = runtimePaths(dataDir, id);
  if (!existsSync(paths.config)) return null;
  const spec = JSON.parse(readFileSync(paths.config, "utf8")) as BundleSpec;
  const env = Object.fromEntries((spec.process?.env ?? []).map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]));
  const raw = spec.annotations?.[RECORD_ANNOTATION];
  const saved = raw ? (JSON.parse(raw) as SavedRecord) : null;
  const cpu = spec.linux?.resources?.cpu;
  const memory = spec.linux?.resources?.memory?.limit;
  const base = saved ?? {
    name: spec.hostname ?? id.slice(0, 8),
    image: imageOf(paths.dir),
    vcpus: cpu?.quota && cpu.period ? Math.round((cpu.quota / cpu.period) * 100) / 100 : 1,
    memoryMib: memory ? Math.round(memory / 1048576) : 1024,
    // Without the saved names the image's variables cannot be told from the user's: keep the spec's env whole.
    envNames: Object.keys(env),
    labels: {},
    hostname: null,
    description: "",
    execTimeoutSecs: null,
    lifetimeSecs: null,
    createdAt: statSync(paths.config).mtime.toISOString(),
    diskMib: existsSync(paths.diskImage) ? Math.round(statSync(paths.diskImage).size / 1048576) : null,
    checkpointId: null,
  };
  const at = now.toISOString();
  const savedNet = spec.annotations?.[NETWORK_ANNOTATION];
  let network: NetworkRecord | null = null;
  let lost = saved ? "" : "; labels, description and timeouts were lost";
  if (savedNet) network = { runtimeId: id, ...(JSON.parse(savedNet) as Omit<NetworkRecord, "runtimeId">) };
  else {
    const netns = spec.linux?.namespaces?.find((n) => n.type === "network")?.path;
    const index = netns ? /-([0-9a-f]+)$/.exec(netns)?.[1] : undefined;
    if (index !== undefined) {
      network = { runtimeId: id, mode: "nat", index: parseInt(index, 16), policy: OPEN_POLICY };
      lost += "; its egress policy was lost (open now: set it again with runta egress set)";
    }
  }
  const rec = newRuntimeRecord({
    id,
    name: base.name,
    status: "crashed",
    image: base.image,
    vcpus: base.vcpus,
    memoryMib: base.memoryMib,
    env: Object.fromEntries(base.envNames.filter((n) => n in env).map((n) => [n, env[n]!])),
    labels: base.labels,
    hostname: base.hostname,
    description: base.description,
    execTimeoutSecs: base.execTimeoutSecs,
    lifetimeSecs: base.lifetimeSecs,
    createdAt: base.createdAt,
    updatedAt: at,
    lastError: `recovered at ${at} from ${paths.config}: the daemon's database had lost this runtime's record${saved ? " (fields as of its last boot)" : " (name, image, resources and env from its bundle)"}${lost}`,
    idleTimeoutSecs: base.idleTimeoutSecs ?? null,
    diskMib: base.diskMib,
    checkpointId: base.checkpointId,
    // Its volumes as of its last boot (the spec's mounts would say where, not which volume).
    volumes: base.volumes ?? [],
    // A warm pool's member comes back as a runtime of its own, listed (the pool refills itself): the user sees it (pool: null).
    // As of its last boot (the daemon binds their host ports again at its next start).
    ports: saved?.ports ?? [],
  });
  if (base.pool) rec.lastError += `; it was a member of warm pool "${base.pool}"`;
  return { rec, network };
}

/** The image a bundle stands on: the last `lower*` link points at `<imagesDir>/<image>/rootfs`. */
function imageOf(dir: string): string {
  const links = readdirSync(dir).filter((n) => /^lower\d*$/.test(n)).sort((a, b) => Number(a.slice(5) || 0) - Number(b.slice(5) || 0));
  const last = links[links.length - 1];
  return last ? basename(dirname(readlinkSync(join(dir, last)))) : "unknown";
}

/**
 * Gives every runtime directory without a record one rebuilt from it (see the module comment), with the state of its
 * container in runc's root when it still has one (`containers`: id → pid and status), so reconciliation finds it in
 * line; `restoreNetwork` takes its network back (address, namespace, rules). A name another record took meanwhile gets
 * `-recovered-<id prefix>`. Returns the names recovered.
 */
export async function recoverRecords(
  dataDir: string,
  store: RuntimeStore,
  logger: Logger,
  containers: Map<string, { pid: number; status: string }>,
  restoreNetwork: (net: NetworkRecord) => Promise<void>,
): Promise<string[]> {
  const recovered: string[] = [];
  const dirs = readdirSync(join(dataDir, "runtimes")).filter((n) => UUID.test(n));
  for (const id of dirs) {
    // A row that exists but cannot be decoded is the store's to report, not a lost record.
    if (store.has(id)) continue;
    try {
      const found = recordFromDir(dataDir, id);
      if (!found) {
        logger.warn("a runtime directory has no record and no bundle; leaving it", { dir: runtimePaths(dataDir, id).dir });
        continue;
      }
      const { rec, network } = found;
      const c = containers.get(id);
      if (c && (c.status === "running" || c.status === "paused")) {
        Object.assign(rec, { status: c.status, initPid: c.pid, initStartTime: procStart(c.pid), bootId: bootId(), startedAt: rec.updatedAt });
      }
      if (store.getByName(rec.name)) rec.name = `${rec.name.slice(0, 44)}-recovered-${id.slice(0, 8)}`;
      store.insert(rec);
      if (network) await restoreNetwork(network);
      recovered.push(rec.name);
      logger.warn("recovered a runtime the database had lost, from its directory", { id, name: rec.name, status: rec.status, config: runtimePaths(dataDir, id).config });
    } catch (err) {
      logger.error("could not recover a runtime directory without a record", { id, error: (err as Error).message });
    }
  }
  return recovered;
}
