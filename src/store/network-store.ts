/**
 * Durable network state of runtimes, next to the runtime records in `<dataDir>/runta.db` (its own tables, its own
 * connection): each runtime's network mode, address index and egress policy, and its egress audit events, kept
 * bounded per runtime. A runtime's rows go with it ({@link NetworkStore.remove}).
 */
import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { EGRESS_LIMITS, type EgressEvent, type EgressPolicy, type NetworkMode } from "../api/egress.js";

/** The network of one runtime as stored. `index` is null with mode "none". */
export interface NetworkRecord {
  runtimeId: string;
  mode: NetworkMode;
  index: number | null;
  policy: EgressPolicy;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS runtime_networks (
  runtime_id TEXT PRIMARY KEY,
  mode TEXT NOT NULL,
  net_index INTEGER UNIQUE,
  policy TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS egress_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  runtime_id TEXT NOT NULL,
  event TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS egress_events_runtime ON egress_events (runtime_id, seq);
CREATE TABLE IF NOT EXISTS network_range (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  cidr TEXT NOT NULL
);
`;

type Row = { runtime_id: string; mode: string; net_index: number | null; policy: string };

function fromRow(r: Row): NetworkRecord {
  return { runtimeId: r.runtime_id, mode: r.mode as NetworkMode, index: r.net_index, policy: JSON.parse(r.policy) as EgressPolicy };
}

/** The SQLite-backed network store. */
export class NetworkStore {
  private readonly db: Database.Database;
  /** Inserts since the last trim, per runtime: trimming on every insert would double the cost of an event. */
  private readonly sinceTrim = new Map<string, number>();

  constructor(dataDir: string, private readonly keptPerRuntime: number = EGRESS_LIMITS.eventsKeptPerRuntime) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    this.db = new Database(join(dataDir, "runta.db"));
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = NORMAL");
    this.db.pragma("busy_timeout = 5000");
    this.db.exec(SCHEMA);
  }

  /** The address range this daemon chose at its first network (null before), so a restart keeps its addresses. */
  range(): string | null {
    const row = this.db.prepare("SELECT cidr FROM network_range WHERE id = 1").get() as { cidr: string } | undefined;
    return row?.cidr ?? null;
  }

  saveRange(cidr: string): void {
    this.db.prepare("INSERT INTO network_range (id, cidr) VALUES (1, ?) ON CONFLICT(id) DO UPDATE SET cidr = excluded.cidr").run(cidr);
  }

  /** Stores (or replaces) a runtime's network. Taking an index another runtime holds throws (UNIQUE). */
  put(rec: NetworkRecord): void {
    this.db
      .prepare("INSERT INTO runtime_networks (runtime_id, mode, net_index, policy) VALUES (?, ?, ?, ?) ON CONFLICT(runtime_id) DO UPDATE SET mode = excluded.mode, net_index = excluded.net_index, policy = excluded.policy")
      .run(rec.runtimeId, rec.mode, rec.index, JSON.stringify(rec.policy));
  }

  get(runtimeId: string): NetworkRecord | null {
    const row = this.db.prepare("SELECT * FROM runtime_networks WHERE runtime_id = ?").get(runtimeId) as Row | undefined;
    return row ? fromRow(row) : null;
  }

  all(): NetworkRecord[] {
    return (this.db.prepare("SELECT * FROM runtime_networks").all() as Row[]).map(fromRow);
  }

  /** Forgets a runtime's network and its events. */
  remove(runtimeId: string): void {
    this.db.prepare("DELETE FROM runtime_networks WHERE runtime_id = ?").run(runtimeId);
    this.db.prepare("DELETE FROM egress_events WHERE runtime_id = ?").run(runtimeId);
    this.sinceTrim.delete(runtimeId);
  }

  /** Appends an event and returns it with its sequence number; older events beyond the bound are dropped. */
  addEvent(runtimeId: string, event: Omit<EgressEvent, "seq">): EgressEvent {
    const { lastInsertRowid } = this.db.prepare("INSERT INTO egress_events (runtime_id, event) VALUES (?, ?)").run(runtimeId, JSON.stringify(event));
    const n = (this.sinceTrim.get(runtimeId) ?? 0) + 1;
    if (n >= Math.max(1, Math.floor(this.keptPerRuntime / 10))) {
      this.db
        .prepare("DELETE FROM egress_events WHERE runtime_id = ? AND seq <= (SELECT seq FROM egress_events WHERE runtime_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)")
        .run(runtimeId, runtimeId, this.keptPerRuntime);
      this.sinceTrim.set(runtimeId, 0);
    } else this.sinceTrim.set(runtimeId, n);
    return { seq: Number(lastInsertRowid), ...event };
  }

  /** The last `limit` events of a runtime with a sequence number above `after`, oldest first. */
  events(runtimeId: string, opts: { after?: number; limit: number }): EgressEvent[] {
    const rows = this.db
      .prepare("SELECT seq, event FROM egress_events WHERE runtime_id = ? AND seq > ? ORDER BY seq DESC LIMIT ?")
      .all(runtimeId, opts.after ?? 0, opts.limit) as Array<{ seq: number; event: string }>;
    return rows.reverse().map((r) => ({ seq: r.seq, ...(JSON.parse(r.event) as Omit<EgressEvent, "seq">) }));
  }

  close(): void {
    this.db.close();
  }
}
