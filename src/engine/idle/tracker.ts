/**
 * What keeps a runtime awake, and since when it has been idle (DESIGN §11, issue 13). Pure bookkeeping with an
 * injectable clock: the keeper (keeper.ts) feeds it and acts on it.
 *
 * Activity is of two sorts. *Live* activity lasts: a running exec (of any kind: buffered, streamed, terminal,
 * detached), an attached terminal, a request or connection through the ingress, a connection the runtime opened to
 * the outside through the egress proxy. While any is live the runtime is busy and never suspends. *Moments* are
 * instants that restart the idle clock: a live activity's start and end, a boot, a resume, a new idle timeout.
 * The idle clock runs from the latest moment once nothing is live; at `timeout` past it the runtime is due.
 */
import type { IdleActivityKind, IdleActive } from "../../api/index.js";

/** Activities held open by their owner (ingress requests/connections, egress connections) until released. */
export type HeldKind = "ingress" | "egress";

/** Nothing live. */
export const NOTHING_ACTIVE: IdleActive = Object.freeze({ execs: 0, terminals: 0, ingress: 0, egress: 0 });

interface RuntimeActivity {
  /** The latest moment (ms since the epoch) and what it was; 0 when none was seen by this daemon. */
  at: number;
  kind: IdleActivityKind | null;
  /** The moment last written to the store, so writes come at a modest rate. */
  persistedAt: number;
  held: Record<HeldKind, number>;
}

/** Per-runtime last activity and held activities. */
export class ActivityTracker {
  private readonly runtimes = new Map<string, RuntimeActivity>();

  constructor(readonly now: () => number = Date.now) {}

  private entry(id: string): RuntimeActivity {
    let e = this.runtimes.get(id);
    if (!e) this.runtimes.set(id, (e = { at: 0, kind: null, persistedAt: 0, held: { ingress: 0, egress: 0 } }));
    return e;
  }

  /** A moment of activity now. */
  touch(id: string, kind: IdleActivityKind): void {
    const e = this.entry(id);
    e.at = this.now();
    e.kind = kind;
  }

  /** Holds a live activity open (a moment now, and another at release); release is idempotent. */
  hold(id: string, kind: HeldKind): () => void {
    this.touch(id, kind);
    this.entry(id).held[kind]++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const e = this.runtimes.get(id);
      if (!e) return;
      e.held[kind] = Math.max(0, e.held[kind] - 1);
      this.touch(id, kind);
    };
  }

  /** The held activities of a runtime. */
  held(id: string): Record<HeldKind, number> {
    const e = this.runtimes.get(id);
    return e ? { ...e.held } : { ingress: 0, egress: 0 };
  }

  /**
   * Records what is live now: anything live is a moment of its kind (so a busy runtime's last activity is kept
   * current, and the clock starts when the last of it ends). Returns whether anything is live.
   */
  observe(id: string, active: IdleActive): boolean {
    const kind = liveKind(active);
    if (kind) this.touch(id, kind);
    return kind !== null;
  }

  /**
   * The latest moment known for a runtime: this daemon's, or the one persisted in its record (`recordAt`,
   * `recordKind`), or its start, whichever is latest; null when there is none.
   */
  last(id: string, record: { at: string | null; kind: IdleActivityKind | null; startedAt: string | null }): { at: number; kind: IdleActivityKind | null } | null {
    const e = this.runtimes.get(id);
    let best: { at: number; kind: IdleActivityKind | null } | null = e && e.at > 0 ? { at: e.at, kind: e.kind } : null;
    const fromRecord = record.at ? Date.parse(record.at) : NaN;
    if (!Number.isNaN(fromRecord) && (!best || fromRecord > best.at)) best = { at: fromRecord, kind: record.kind };
    const started = record.startedAt ? Date.parse(record.startedAt) : NaN;
    if (!Number.isNaN(started) && (!best || started > best.at)) best = { at: started, kind: "start" };
    return best;
  }

  /** When a runtime idle since `lastAt` suspends with `timeoutSecs` (null while anything is live). */
  static suspendsAt(lastAt: number, timeoutSecs: number, active: IdleActive): number | null {
    return liveKind(active) ? null : lastAt + timeoutSecs * 1000;
  }

  /** Moments not yet written to the store that are at least `everyMs` newer than the last write (or any, with 0). */
  unpersisted(everyMs: number): Array<{ id: string; at: number; kind: IdleActivityKind | null }> {
    const out = [];
    for (const [id, e] of this.runtimes) if (e.at > e.persistedAt && (everyMs === 0 || e.at - e.persistedAt >= everyMs)) out.push({ id, at: e.at, kind: e.kind });
    return out;
  }

  /** The store holds this runtime's moment up to `at`. */
  persisted(id: string, at: number): void {
    const e = this.runtimes.get(id);
    if (e) e.persistedAt = Math.max(e.persistedAt, at);
  }

  /** Forgets a removed runtime. */
  forget(id: string): void {
    this.runtimes.delete(id);
  }
}

/** The kind of the first live activity (execs first), or null when nothing is live. */
function liveKind(a: IdleActive): IdleActivityKind | null {
  if (a.terminals > 0) return "terminal";
  if (a.execs > 0) return "exec";
  if (a.ingress > 0) return "ingress";
  if (a.egress > 0) return "egress";
  return null;
}

/** "1 exec running (1 attached terminal), 2 ingress connections" — or null when nothing is live. */
export function awakeBecause(a: IdleActive): string | null {
  const parts: string[] = [];
  const n = (count: number, one: string, many: string) => `${count} ${count === 1 ? one : many}`;
  if (a.execs > 0) parts.push(n(a.execs, "exec running", "execs running") + (a.terminals > 0 ? ` (${n(a.terminals, "attached terminal", "attached terminals")})` : ""));
  else if (a.terminals > 0) parts.push(n(a.terminals, "attached terminal", "attached terminals"));
  if (a.ingress > 0) parts.push(n(a.ingress, "ingress connection", "ingress connections"));
  if (a.egress > 0) parts.push(n(a.egress, "outbound connection", "outbound connections"));
  return parts.length ? parts.join(", ") : null;
}
