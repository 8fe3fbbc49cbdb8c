/**
 * Checkpoints: create (freeze a runtime's writable layer), list, remove, and what a restore stacks. The engine
 * hands in what the manager needs of runtimes ({@link CheckpointHost}); a restore itself is a create of the engine
 * with the checkpoint's layers as lower dirs ({@link CheckpointManager.lowerLayers}).
 *
 * States: a record is inserted `creating`, the layer is copied and synced, then the record becomes `ready`. A daemon
 * killed in between leaves `creating`, which {@link CheckpointManager.reconcile} turns into `error` (its partial
 * files removed) and resumes the source runtime if the checkpoint had paused it.
 */
import { randomUUID } from "node:crypto";
import { errors, type Checkpoint } from "../../api/index.js";
import type { CheckpointRecord, CheckpointStore } from "../../store/checkpoints.js";
import type { RuntimeRecord } from "../../store/record.js";
import type { Logger } from "../../log.js";
import { liveCheckpointsUnavailable } from "./criu.js";
import { freezeLayer, layerDir, removeCheckpointFiles } from "./layers.js";

/** What the checkpoint manager needs from the engine. */
export interface CheckpointHost {
  dataDir: string;
  logger: Logger;
  /** Runs `fn` under the runtime's lifecycle lock with its current record (`not_found` when there is none). */
  withRuntime<T>(ref: string, fn: (rec: RuntimeRecord) => Promise<T>): Promise<T>;
  /** The host path of the runtime's writable layer (the overlay's upper dir). */
  upperDir(rec: RuntimeRecord): string;
  /** Freezes / thaws a running runtime's processes (the cgroup freezer, freezer.ts), without changing its recorded status. */
  freeze(id: string): Promise<void>;
  thaw(id: string): Promise<void>;
  /** After a crash: thaws the runtime if it is frozen and records it running again. */
  thawAfterCrash(id: string): Promise<void>;
  /** Every runtime record. */
  runtimes(): RuntimeRecord[];
}

/** A printable rendering of a user-given string for messages. */
function shown(value: string): string {
  return JSON.stringify(value.length > 80 ? value.slice(0, 80) + "…" : value);
}

/** Checkpoint records, their layers, and the rules around them. */
export class CheckpointManager {
  constructor(
    private readonly store: CheckpointStore,
    private readonly host: CheckpointHost,
  ) {}

  /** Finds a checkpoint by name or id; `not_found` with the fix otherwise. */
  find(ref: string): CheckpointRecord {
    const rec = this.store.getByName(ref) ?? this.store.get(ref);
    if (!rec) throw errors.notFound(`checkpoint ${shown(ref)} not found; list checkpoints with: runta checkpoint ls`, { checkpoint: ref });
    return rec;
  }

  /** A checkpoint's name, or null when it is gone. */
  nameOf(id: string): string | null {
    return this.store.get(id)?.name ?? null;
  }

  /** The checkpoint ids from `id` down to the first one (its parents), `id` first. */
  private chain(id: string): string[] {
    const ids: string[] = [];
    for (let cur: string | null = id; cur; cur = this.store.get(cur)?.parentId ?? null) {
      if (ids.includes(cur)) break; // a cycle cannot be made, but never loop on a damaged table
      ids.push(cur);
    }
    return ids;
  }

  /** Lower dirs (top first) a runtime standing on checkpoint `id` mounts above its image. */
  lowerLayers(id: string): string[] {
    return this.chain(id).map((cp) => layerDir(this.host.dataDir, cp));
  }

  /** The checkpoint to restore from: it must be ready. */
  forRestore(ref: string): CheckpointRecord {
    const rec = this.find(ref);
    if (rec.state !== "ready") {
      throw errors.precondition(`checkpoint "${rec.name}" is ${rec.state}${rec.error ? ` (${rec.error})` : ""}, cannot restore from it`, { state: rec.state });
    }
    return rec;
  }

  /** Runtimes standing on each checkpoint, directly or through a checkpoint above it. */
  private users(): Map<string, string[]> {
    const users = new Map<string, string[]>();
    for (const rt of this.host.runtimes()) {
      if (!rt.checkpointId) continue;
      for (const id of this.chain(rt.checkpointId)) users.set(id, [...(users.get(id) ?? []), rt.name]);
    }
    return users;
  }

  private toWire(rec: CheckpointRecord, users: Map<string, string[]>): Checkpoint {
    return {
      id: rec.id,
      display_name: rec.name,
      state: rec.state,
      kind: rec.kind,
      source_runtime: rec.sourceRuntime,
      source_runtime_id: rec.sourceRuntimeId,
      image: rec.image,
      parent: rec.parentId ? (this.store.get(rec.parentId)?.name ?? rec.parentId) : null,
      created_at: rec.createdAt,
      size_bytes: rec.sizeBytes,
      in_use_by: users.get(rec.id) ?? [],
      error: rec.error,
    };
  }

  list(): Checkpoint[] {
    const users = this.users();
    return this.store.all().map((rec) => this.toWire(rec, users));
  }

  get(ref: string): Checkpoint {
    return this.toWire(this.find(ref), this.users());
  }

  /**
   * Freezes runtime `ref`'s filesystem as checkpoint `name`. A running runtime is paused for the copy and resumed
   * after; a paused or shut-down one is copied as it is. Returns the ready checkpoint; on failure nothing is kept.
   */
  async create(ref: string, name: string, kind: Checkpoint["kind"] = "full"): Promise<Checkpoint> {
    if (kind === "live") throw await liveCheckpointsUnavailable();
    if (this.store.getByName(name)) {
      throw errors.exists(`a checkpoint named "${name}" already exists; pick another name or remove it first: runta checkpoint rm ${name}`, { field: "name" });
    }
    return this.host.withRuntime(ref, async (rt) => {
      if (!["running", "paused", "suspended", "shutdown", "crashed"].includes(rt.status)) {
        throw errors.precondition(`runtime "${rt.name}" is ${rt.status}, cannot checkpoint it${rt.status === "creating" ? " — wait until it is running" : ""}`, { status: rt.status });
      }
      const pause = rt.status === "running";
      const rec: CheckpointRecord = {
        id: randomUUID(),
        name,
        state: "creating",
        kind,
        sourceRuntime: rt.name,
        sourceRuntimeId: rt.id,
        image: rt.image,
        parentId: rt.checkpointId,
        createdAt: new Date().toISOString(),
        sizeBytes: 0,
        error: null,
        pausedSource: pause,
      };
      this.store.insert(rec);
      try {
        if (pause) await this.host.freeze(rt.id);
        let size: number;
        try {
          size = await freezeLayer(this.host.dataDir, rec.id, this.host.upperDir(rt));
        } finally {
          if (pause) await this.host.thaw(rt.id);
        }
        this.store.update(rec.id, { state: "ready", sizeBytes: size, pausedSource: false });
      } catch (err) {
        await removeCheckpointFiles(this.host.dataDir, rec.id);
        this.store.delete(rec.id);
        throw err;
      }
      return this.get(rec.id);
    });
  }

  /** Removes a checkpoint; refused while a runtime or another checkpoint stands on it, naming them. */
  async remove(ref: string): Promise<Checkpoint> {
    const rec = this.find(ref);
    if (rec.state === "creating") throw errors.precondition(`checkpoint "${rec.name}" is still being created; remove it once it is ready`, { state: rec.state });
    const users = this.users().get(rec.id) ?? [];
    if (users.length) {
      throw errors.precondition(`checkpoint "${rec.name}" is in use by runtime(s) ${users.join(", ")}; remove them first: runta rm ${users.join(" ")}`, { in_use_by: users });
    }
    const children = this.store.all().filter((c) => c.parentId === rec.id).map((c) => c.name);
    if (children.length) {
      throw errors.precondition(`checkpoints ${children.join(", ")} stand on checkpoint "${rec.name}"; remove them first: runta checkpoint rm ${children.join(" ")}`, {
        children,
      });
    }
    const wire = this.toWire(rec, new Map());
    await removeCheckpointFiles(this.host.dataDir, rec.id);
    this.store.delete(rec.id);
    return wire;
  }

  /** Images used by checkpoints (an image under a checkpoint cannot be removed), with the checkpoints' names. */
  imageUsers(image: string): string[] {
    return this.store.all().filter((c) => c.image === image).map((c) => c.name);
  }

  /** After a daemon start: a checkpoint left `creating` becomes `error`, its files go, and its paused source runs again. */
  async reconcile(): Promise<void> {
    for (const rec of this.store.all()) {
      if (rec.state !== "creating") continue;
      await removeCheckpointFiles(this.host.dataDir, rec.id);
      if (rec.pausedSource) {
        await this.host.thawAfterCrash(rec.sourceRuntimeId).catch((err) =>
          this.host.logger.error("could not resume the runtime an interrupted checkpoint had paused", { runtime: rec.sourceRuntime, error: String((err as Error).message) }),
        );
      }
      this.store.update(rec.id, {
        state: "error",
        pausedSource: false,
        error: `the daemon stopped while this checkpoint was being created; remove it and create it again: runta checkpoint rm ${rec.name}`,
      });
      this.host.logger.warn("checkpoint interrupted by a daemon stop: now error", { checkpoint: rec.name });
    }
  }
}
