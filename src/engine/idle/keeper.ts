/**
 * The idle keeper (issue 13, DESIGN §11): suspends a running runtime that had no activity for its idle timeout, and
 * wakes a suspended one when something needs it. What counts as activity is tracker.ts's business; this room looks
 * every second, freezes through the same freezer as `runta pause` (freezer.ts) (status `suspended`, pause reason `idle`), and
 * thaws through it too, once however many callers wait (single-flight).
 *
 * Restarts: last activity is written to the record at most every PERSIST_MS (and at suspend and close), so a daemon
 * that comes back neither forgets an idle runtime's clock (it suspends when its time is up, counted from before the
 * restart) nor suspends a busy one: detached execs survive the restart and are listed again (`adopt`) before the
 * first judgement; a daemon that was killed loses at most PERSIST_MS of activity.
 */
import { type IdleActive, type IdleActivityKind, type RuntimeIdle } from "../../api/index.js";
import type { Logger } from "../../log.js";
import type { RuntimeRecord } from "../../store/record.js";
import type { RuntimeStore } from "../../store/store.js";
import type { RuntimeRecords } from "../records.js";
import { preconditionFor } from "../refusals.js";
import type { RuntimeFreezer } from "../freezer.js";
import { ActivityTracker, awakeBecause, type HeldKind } from "./tracker.js";

/** How often runtimes are judged: a runtime suspends within this much after its timeout. */
const SWEEP_MS = 1000;
/** Last activity is written to the store at most this often per runtime (and at suspend and close). */
export const PERSIST_MS = 10_000;

/** What the keeper needs of the engine. */
export interface IdleKeeperDeps {
  tracker: ActivityTracker;
  store: Pick<RuntimeStore, "withIdleTimeout" | "touchActivity" | "get">;
  records: Pick<RuntimeRecords, "withLock" | "current" | "mustUpdate" | "find" | "checkAlive">;
  freezer: Pick<RuntimeFreezer, "freeze" | "thaw">;
  /** The runtime's running execs (all kinds) and attached terminals, from the exec registry. */
  execActivity(runtimeId: string): { execs: number; terminals: number };
  /** Lists again the detached execs a previous daemon started (once per runtime), so they count. */
  adoptExecs(rec: RuntimeRecord): Promise<unknown>;
  logger: Logger;
}

/** Suspends idle runtimes and wakes suspended ones. */
export class IdleKeeper {
  private timer?: NodeJS.Timeout;
  private sweeping = false;
  private closed = false;
  private readonly waking = new Map<string, Promise<void>>();
  private readonly tracker: ActivityTracker;

  constructor(private readonly deps: IdleKeeperDeps) {
    this.tracker = deps.tracker;
  }

  /** Starts judging every second (after reconcile, so records say what runs). */
  start(): void {
    this.timer ??= setInterval(() => void this.sweep(), SWEEP_MS);
    this.timer.unref();
  }

  /** A moment of activity now (an exec starting, a resume, a new timeout). */
  touch(runtimeId: string, kind: IdleActivityKind): void {
    this.tracker.touch(runtimeId, kind);
  }

  /** A live activity held open until release (ingress requests and connections, egress connections). */
  hold(runtimeId: string, kind: HeldKind): () => void {
    return this.tracker.hold(runtimeId, kind);
  }

  /** What is live in a runtime now. */
  active(runtimeId: string): IdleActive {
    const held = this.tracker.held(runtimeId);
    return { ...this.deps.execActivity(runtimeId), ...held };
  }

  /** The latest activity of a runtime: this daemon's, its record's, or its start. */
  private last(rec: RuntimeRecord): { at: number; kind: IdleActivityKind | null } | null {
    return this.tracker.last(rec.id, { at: rec.lastActivityAt, kind: rec.lastActivityKind, startedAt: rec.startedAt });
  }

  /** The record's `last_activity_at` and `idle` object as the API shows them. */
  describe(rec: RuntimeRecord): { lastActivityAt: string | null; idle: RuntimeIdle | null } {
    const last = this.last(rec);
    const lastActivityAt = last ? new Date(last.at).toISOString() : null;
    if (rec.idleTimeoutSecs === null) return { lastActivityAt, idle: null };
    const active = this.active(rec.id);
    const at = rec.status === "running" && last ? ActivityTracker.suspendsAt(last.at, rec.idleTimeoutSecs, active) : null;
    return {
      lastActivityAt,
      idle: {
        timeout_secs: rec.idleTimeoutSecs,
        last_activity_at: lastActivityAt,
        last_activity: last?.kind ?? null,
        active,
        awake_because: awakeBecause(active),
        // Never in the past: a runtime due now suspends at the next look.
        suspends_at: at === null ? null : new Date(Math.max(at, this.tracker.now())).toISOString(),
      },
    };
  }

  /** Whether a running runtime is due: nothing live and its timeout passed since the latest activity. */
  private due(rec: RuntimeRecord): boolean {
    if (rec.status !== "running" || rec.idleTimeoutSecs === null) return false;
    if (this.tracker.observe(rec.id, this.active(rec.id))) return false;
    const last = this.last(rec);
    return last !== null && this.tracker.now() >= last.at + rec.idleTimeoutSecs * 1000;
  }

  /** One look at every running runtime with an idle timeout (also called by tests); overlapping looks are skipped. */
  async sweep(): Promise<void> {
    if (this.sweeping || this.closed) return;
    this.sweeping = true;
    try {
      // Suspends run side by side: one waiting for its runtime's lock (a long checkpoint) does not hold up the others.
      const suspends: Array<Promise<void>> = [];
      for (const rec of this.deps.store.withIdleTimeout()) {
        await this.deps.adoptExecs(rec).catch(() => undefined);
        if (this.closed) return;
        if (!this.due(rec)) continue;
        suspends.push(
          this.suspend(rec.id).catch((err: unknown) =>
            this.deps.logger.warn("could not suspend an idle runtime; trying again", { id: rec.id, error: (err as Error).message }),
          ),
        );
      }
      await Promise.all(suspends);
      if (!this.closed) this.persist(PERSIST_MS);
    } finally {
      this.sweeping = false;
    }
  }

  /** Freezes a runtime found idle, if it still is once its lock is held. */
  private suspend(id: string): Promise<void> {
    return this.deps.records.withLock(id, async () => {
      const rec = await this.deps.records.current(id);
      if (!this.due(rec)) return;
      await this.deps.freezer.freeze(id);
      this.deps.records.mustUpdate(id, { status: "suspended" });
      this.persist(0);
      this.deps.logger.info("suspended an idle runtime (it wakes on the next exec or ingress request)", {
        id,
        name: rec.name,
        idle_timeout_secs: rec.idleTimeoutSecs,
      });
    });
  }

  /**
   * Resumes a suspended runtime; at once when it runs. Concurrent callers share one resume. Any other status is
   * `failed_precondition` with the fix (a user's pause is the user's to undo).
   */
  wake(id: string): Promise<void> {
    if (this.deps.store.get(id)?.status === "running") return Promise.resolve();
    let pending = this.waking.get(id);
    if (!pending) {
      pending = this.deps.records
        .withLock(id, async () => {
          const rec = await this.deps.records.current(id);
          if (rec.status === "running") return;
          if (rec.status !== "suspended") throw preconditionFor(rec, "wake it");
          await this.deps.freezer.thaw(id);
          this.deps.records.mustUpdate(id, { status: "running" });
          this.touch(id, "resume");
          this.deps.logger.info("woke a suspended runtime", { id, name: rec.name });
        })
        .finally(() => this.waking.delete(id));
      this.waking.set(id, pending);
    }
    return pending;
  }

  /** Writes moments at least `everyMs` newer than the stored ones (0: all) to the records. */
  private persist(everyMs: number): void {
    for (const m of this.tracker.unpersisted(everyMs)) {
      try {
        this.deps.store.touchActivity(m.id, new Date(m.at).toISOString(), m.kind);
        this.tracker.persisted(m.id, m.at);
      } catch (err) {
        this.deps.logger.warn("cannot record a runtime's last activity", { id: m.id, error: (err as Error).message });
      }
    }
  }

  /**
   * The record of a runtime an exec (or an attach) may enter: running (a suspended one is woken first), else
   * `failed_precondition` with the fix (`what` names the operation). The exec is a moment of activity from here,
   * before it registers, so the keeper cannot suspend the runtime in between.
   */
  async enter(ref: string, what: string, kind: IdleActivityKind = "exec"): Promise<RuntimeRecord> {
    const { records } = this.deps;
    let rec = await records.checkAlive(records.find(ref));
    if (rec.status === "suspended") {
      await this.wake(rec.id);
      rec = await records.checkAlive(records.find(rec.id));
    }
    if (rec.status !== "running") throw preconditionFor(rec, what);
    this.touch(rec.id, kind);
    return rec;
  }

  /** Forgets a removed runtime. */
  forget(id: string): void {
    this.tracker.forget(id);
  }

  /** Stops judging and writes what is not written yet. */
  close(): void {
    clearInterval(this.timer);
    this.closed = true;
    this.persist(0);
  }
}
