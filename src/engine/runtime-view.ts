/**
 * A runtime's record shaped into the API's `Runtime`: as an object (get, inspect, every verb's answer) and as JSON
 * text (lists, which write each runtime's text as it is: a list of hundreds spent its time building and
 * serialising objects).
 *
 * Most of a runtime's API form is a function of its record alone, and the store hands out a new, frozen record object
 * for every change (store/store.ts), so that part is built and serialised once per record object: a WeakMap keyed by
 * the object, so a record replaced by a write, or deleted, takes its cached form with it and nothing can be stale.
 * What changes without a write to the record is computed at every read and written after it: the latest activity
 * and idle state (idle/keeper.ts: activity is kept in memory and written at a modest rate without a new revision), the
 * names of its checkpoint and volumes (other tables), and usage. Both forms have the same keys in the same order.
 */
import { envDigest, type Runtime, type RuntimeIdle, type VolumeMount } from "../api/index.js";
import type { PublishedPort } from "../api/ports-spec.js";
import type { RuntimeRecord, RuntimeVolume } from "../store/record.js";
import type { ListPage } from "./types.js";
import { shutdownAt } from "./lifetime.js";

/** What a runtime's API form looks up besides its record. */
export interface ViewDeps {
  /** A checkpoint's name by id (null once it is gone: the id is shown). */
  checkpointName(id: string): string | null;
  /** Its volumes with their names. */
  volumes(v: RuntimeVolume[]): VolumeMount[];
  /** Its latest activity and idle state (idle/keeper.ts). */
  idleOf(rec: RuntimeRecord): { lastActivityAt: string | null; idle: RuntimeIdle | null };
  /** Its published ports with their URLs (ingress/: from the record and the daemon's fixed ingress address). */
  ports(rec: RuntimeRecord): PublishedPort[];
}

/** The keys computed at every read; everything else follows from the record. */
type LiveKey = "checkpoint" | "volumes" | "last_activity_at" | "idle" | "usage";
type Fixed = Omit<Runtime, LiveKey>;
type Live = Pick<Runtime, LiveKey>;

export class RuntimeViews {
  /** The fixed part's JSON without its closing brace, per record object. */
  private readonly fixedJson = new WeakMap<RuntimeRecord, string>();
  /** env_digest per record object (a sha256 per runtime was a tenth of a list of 200 before the JSON was kept). */
  private readonly digests = new WeakMap<RuntimeRecord, string>();

  constructor(private readonly deps: ViewDeps) {}

  /** The API's object; `usage` is added when given (null: nothing runs). */
  toRuntime(rec: RuntimeRecord, usage?: Runtime["usage"]): Runtime {
    return { ...this.fixed(rec), ...this.live(rec, usage) };
  }

  /** The same as JSON text: `JSON.parse(json(rec, u))` deep-equals `toRuntime(rec, u)`, keys in the same order. */
  json(rec: RuntimeRecord, usage?: Runtime["usage"]): string {
    let head = this.fixedJson.get(rec);
    if (head === undefined) {
      head = JSON.stringify(this.fixed(rec)).slice(0, -1);
      this.fixedJson.set(rec, head);
    }
    return `${head},${liveJson(this.live(rec, usage))}`;
  }

  private fixed(rec: RuntimeRecord): Fixed {
    const rt: Fixed = {
      id: rec.id,
      name: rec.name,
      status: rec.status,
      image: rec.image,
      resources: { requests: { vcpus: rec.vcpus, memory_mib: rec.memoryMib, disk_size_gib: rec.diskMib === null ? null : rec.diskMib / 1024 } },
      env_names: Object.keys(rec.env),
      env_digest: this.digestOf(rec),
      labels: { ...rec.labels },
      hostname: rec.hostname ?? rec.name,
      description: rec.description,
      exec_timeout_secs: rec.execTimeoutSecs,
      lifetime_secs: rec.lifetimeSecs,
      shutdown_at: shutdownAt(rec),
      created_at: rec.createdAt,
      updated_at: rec.updatedAt,
      started_at: rec.startedAt,
      revision: rec.revision,
      last_error: rec.lastError,
      idle_timeout_secs: rec.idleTimeoutSecs,
      pause_reason: rec.status === "paused" ? "user" : rec.status === "suspended" ? "idle" : null,
      exit_code: rec.exitCode,
      ports: this.deps.ports(rec),
    };
    if (rec.pool !== null) rt.pool = rec.pool;
    return rt;
  }

  private live(rec: RuntimeRecord, usage: Runtime["usage"] | undefined): Live {
    const { lastActivityAt, idle } = this.deps.idleOf(rec);
    const live: Live = {
      checkpoint: rec.checkpointId ? (this.deps.checkpointName(rec.checkpointId) ?? rec.checkpointId) : null,
      volumes: rec.volumes.length ? this.deps.volumes(rec.volumes) : [],
      last_activity_at: lastActivityAt,
      idle,
    };
    if (usage !== undefined) live.usage = usage;
    return live;
  }

  private digestOf(rec: RuntimeRecord): string {
    let digest = this.digests.get(rec);
    if (digest === undefined) {
      digest = envDigest(rec.id, rec.env);
      this.digests.set(rec, digest);
    }
    return digest;
  }
}

/** The live keys' JSON with the closing brace; the common case (no checkpoint, volumes, idle timeout or usage) by hand. */
function liveJson(live: Live): string {
  if (live.checkpoint === null && live.volumes.length === 0 && live.idle === null && live.usage === undefined) {
    return `"checkpoint":null,"volumes":[],"last_activity_at":${live.last_activity_at === null ? "null" : JSON.stringify(live.last_activity_at)},"idle":null}`;
  }
  return JSON.stringify(live).slice(1);
}

/** A page of runtimes as JSON texts; `items` parses them when asked for (tests, callers inside the daemon). */
export function listPage(json: string[], nextCursor: string | null): ListPage {
  let items: Runtime[] | undefined;
  return {
    json,
    nextCursor,
    get items() {
      return (items ??= json.map((text) => JSON.parse(text) as Runtime));
    },
  };
}
