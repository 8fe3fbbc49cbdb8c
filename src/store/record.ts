/**
 * A runtime record as the store keeps it: the API's view plus what the engine needs. Types only; the table and its
 * row codec are runtime-rows.ts, the store itself store.ts.
 */
import { BUILD_LABEL, type IdleActivityKind, type RuntimeStatus } from "../api/index.js";
import type { PortBinding } from "../api/ports-spec.js";

/** One runtime as stored: the API's view plus what the engine needs (env values, init pid, boot id). */
export interface RuntimeRecord {
  id: string;
  name: string;
  status: RuntimeStatus;
  image: string;
  vcpus: number;
  memoryMib: number;
  /** Values are kept (a boot needs them); the API shows only the names. */
  env: Record<string, string>;
  labels: Record<string, string>;
  /** The hostname given at create; null: the runtime's name (which a rename then changes too). */
  hostname: string | null;
  /** Free text ("" when none). */
  description: string;
  /** Timeout of its execs that set none; null: the exec kind's own default. */
  execTimeoutSecs: number | null;
  /** Shut down this long after each start; null: no lifetime. */
  lifetimeSecs: number | null;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  revision: number;
  lastError: string | null;
  /** Suspended (frozen) after this long without activity (engine/idle/); null: never. */
  idleTimeoutSecs: number | null;
  /** The latest activity written (at a modest rate, engine/idle/), and what it was (an IdleActivityKind). */
  lastActivityAt: string | null;
  lastActivityKind: IdleActivityKind | null;
  idempotencyKey: string | null;
  requestHash: string | null;
  /** Host pid of the runtime's init while it runs, and its start time (clock ticks) to detect pid reuse. */
  initPid: number | null;
  initStartTime: number | null;
  /** Boot id of the host when the runtime was last started: a different one now means the host rebooted. */
  bootId: string | null;
  /** Size of the runtime's disk in MiB; null for a runtime from before disks had a chosen size (the default then). */
  diskMib: number | null;
  /** The checkpoint this runtime was restored from (its layers lie under the runtime's own), or null. */
  checkpointId: string | null;
  /** The volumes it mounts at each boot (by id; engine/volumes/), [] when none. */
  volumes: RuntimeVolume[];
  /** Exit code of its init when it last ended (128+n for signal n); null while it runs, or when unknown. */
  exitCode: number | null;
  /** The warm pool this booted, unnamed runtime waits in (engine/pools/), or null for every runtime a user has. */
  pool: string | null;
  /** Its published ports (engine/ingress/), in the order they were published. */
  ports: PortBinding[];
}

/**
 * Whether a record is one of the daemon's own runtimes, not a user's: a warm pool's member, or a derived image's
 * build runtime (BUILD_LABEL). Lists leave them out unless asked (`pooled`).
 */
export function isInternal(rec: Pick<RuntimeRecord, "pool" | "labels">): boolean {
  return rec.pool !== null || rec.labels[BUILD_LABEL] !== undefined;
}

/** A volume mounted in a runtime, as its record holds it. */
export interface RuntimeVolume {
  volumeId: string;
  /** Absolute and normalised (api/mount-path.ts). */
  path: string;
  readOnly: boolean;
}

/** Fields an update may change; `revision` and `updatedAt` are set by the store. */
export type RecordPatch = Partial<Omit<RuntimeRecord, "id" | "createdAt" | "revision" | "updatedAt">>;

/** A page of records. */
export interface RecordPage {
  items: RuntimeRecord[];
  nextCursor: string | null;
}
