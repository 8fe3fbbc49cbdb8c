/**
 * The decoded runtime records in memory, in list order (created_at, then id: the order of the store's pages), for
 * the store's reads. The daemon's store is the only writer of the `runtimes` table and puts each row it wrote back
 * here as read back from SQLite, so SQLite stays the truth and nothing here can lag behind a committed write; a read
 * no longer builds row objects and decodes their JSON columns (most of a list of hundreds).
 *
 * Each record is a new object per write and frozen, maps and lists included: a record handed out is never changed
 * under its holder, and whatever is derived from one record object (the API's JSON of engine/runtime-view.ts) stays
 * true for as long as that object lives.
 */
import type { RuntimeStatus } from "../api/index.js";
import { isInternal, type RuntimeRecord } from "./record.js";

/** Where a record sits in list order. */
type Key = Pick<RuntimeRecord, "createdAt" | "id">;

/** -1, 0, 1 as SQLite's `ORDER BY created_at, id` (ASCII text: JS and SQLite compare it alike). */
function compare(a: Key, b: Key): number {
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? -1 : 1;
  return a.id === b.id ? 0 : a.id < b.id ? -1 : 1;
}

export class RecordIndex {
  private readonly byId = new Map<string, RuntimeRecord>();
  private readonly idByName = new Map<string, string>();
  /** Every record, by (createdAt, id). */
  private ordered: RuntimeRecord[] = [];

  /** Replaces everything (at open, and after a raw write by a test). */
  reset(recs: RuntimeRecord[]): void {
    this.byId.clear();
    this.idByName.clear();
    this.ordered = [];
    for (const rec of recs) this.put(rec);
  }

  /** Adds or replaces a record (frozen here). */
  put(rec: RuntimeRecord): RuntimeRecord {
    this.remove(rec.id);
    freeze(rec);
    this.byId.set(rec.id, rec);
    this.idByName.set(rec.name, rec.id);
    this.ordered.splice(this.position(rec), 0, rec);
    return rec;
  }

  remove(id: string): void {
    const old = this.byId.get(id);
    if (!old) return;
    this.byId.delete(id);
    if (this.idByName.get(old.name) === id) this.idByName.delete(old.name);
    const at = this.position(old);
    if (this.ordered[at] === old) this.ordered.splice(at, 1);
  }

  get(id: string): RuntimeRecord | null {
    return this.byId.get(id) ?? null;
  }

  getByName(name: string): RuntimeRecord | null {
    const id = this.idByName.get(name);
    return id === undefined ? null : this.get(id);
  }

  /** Every record in list order that `keep` accepts. */
  filter(keep: (rec: RuntimeRecord) => boolean): RuntimeRecord[] {
    return this.ordered.filter(keep);
  }

  /**
   * Up to `limit` records after `after` (exclusive) in list order: warm pools' members and build runtimes only with
   * `pooled`, only the
   * given statuses when some are. `more` says whether another matching record follows.
   */
  page(opts: { status?: RuntimeStatus[]; limit: number; after?: Key; pooled?: boolean }): { items: RuntimeRecord[]; more: boolean } {
    const items: RuntimeRecord[] = [];
    const statuses = opts.status?.length ? opts.status : null;
    for (let i = opts.after ? this.position(opts.after, true) : 0; i < this.ordered.length; i++) {
      const rec = this.ordered[i]!;
      if ((!opts.pooled && isInternal(rec)) || (statuses && !statuses.includes(rec.status))) continue;
      if (items.length === opts.limit) return { items, more: true };
      items.push(rec);
    }
    return { items, more: false };
  }

  /** The index of the first record not before `key` (after it, with `past`): a binary search. */
  private position(key: Key, past = false): number {
    let lo = 0;
    let hi = this.ordered.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = compare(this.ordered[mid]!, key);
      if (c < 0 || (past && c === 0)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

function freeze(rec: RuntimeRecord): void {
  for (const v of rec.volumes) Object.freeze(v);
  for (const p of rec.ports) Object.freeze(p);
  Object.freeze(rec.env);
  Object.freeze(rec.labels);
  Object.freeze(rec.volumes);
  Object.freeze(rec.ports);
  Object.freeze(rec);
}
