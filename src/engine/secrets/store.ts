/**
 * Secrets at rest: each value is sealed with AES-256-GCM under a key kept in `<dataDir>/secrets/key` (32 random bytes,
 * mode 0400, in a 0700 directory of the 0700 data dir: only root reads it; nothing of the data dir is mounted into a
 * runtime). The database holds only nonce, tag and ciphertext, bound to the secret's id (GCM's additional data), so a
 * row copied onto another secret does not open. Rules live next to them: (runtime, host, header) → secret, template.
 *
 * Values are opened only when the egress proxy injects one (never cached in clear), so a rotation holds for the very
 * next request and the daemon's heap holds a value only while a request is being rewritten.
 */
import type Database from "better-sqlite3";
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { SecretRule } from "../../api/secrets.js";

const SCHEMA = `
CREATE TABLE IF NOT EXISTS secrets (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  sealed BLOB NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS secret_rules (
  runtime_id TEXT NOT NULL,
  host TEXT NOT NULL,
  header_key TEXT NOT NULL,
  header TEXT NOT NULL,
  secret_name TEXT NOT NULL,
  path TEXT NOT NULL,
  template TEXT NOT NULL,
  allow_http INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (runtime_id, host, header_key)
);
CREATE INDEX IF NOT EXISTS secret_rules_secret ON secret_rules (secret_name);
`;

/** A secret's row without its value. */
export interface SecretRecord {
  id: string;
  name: string;
  createdAt: string;
  updatedAt: string;
}

/** A rule as stored, with the runtime it belongs to. */
export interface RuleRecord extends SecretRule {
  runtimeId: string;
}

type SecretRow = { id: string; name: string; created_at: string; updated_at: string };
type RuleRow = { runtime_id: string; host: string; header: string; secret_name: string; path: string; template: string; allow_http: number; created_at: string };

const NONCE = 12;
const TAG = 16;

function fromRule(r: RuleRow): RuleRecord {
  return { runtimeId: r.runtime_id, secret: r.secret_name, host: r.host, path: r.path, header: r.header, template: r.template, allow_http: r.allow_http === 1, created_at: r.created_at };
}

/** Loads the key, making it (and its directory) on first use. Exported for the key-file tests. */
export function loadOrCreateKey(dataDir: string): Buffer {
  const dir = join(dataDir, "secrets");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const file = join(dir, "key");
  if (!existsSync(file)) writeFileSync(file, randomBytes(32), { mode: 0o400, flag: "wx" });
  const key = readFileSync(file);
  if (key.length !== 32) throw new Error(`${file} is not a 32-byte key (${key.length} bytes); restore it from a backup, or remove it and every secret (they cannot be opened without it)`);
  return key;
}

/** The encrypted secrets and the injection rules. */
export class SecretStore {
  private readonly key: Buffer;

  constructor(private readonly db: Database.Database, dataDir: string) {
    this.key = loadOrCreateKey(dataDir);
    db.exec(SCHEMA);
  }

  private seal(id: string, value: string): Buffer {
    const nonce = randomBytes(NONCE);
    const c = createCipheriv("aes-256-gcm", this.key, nonce);
    c.setAAD(Buffer.from(`runta-secret:${id}`));
    const body = Buffer.concat([c.update(value, "utf8"), c.final()]);
    return Buffer.concat([nonce, c.getAuthTag(), body]);
  }

  private open(id: string, sealed: Buffer): string {
    const d = createDecipheriv("aes-256-gcm", this.key, sealed.subarray(0, NONCE));
    d.setAAD(Buffer.from(`runta-secret:${id}`));
    d.setAuthTag(sealed.subarray(NONCE, NONCE + TAG));
    return Buffer.concat([d.update(sealed.subarray(NONCE + TAG)), d.final()]).toString("utf8");
  }

  /** Stores a value under a name, replacing (rotating) an existing one; `created` tells which. */
  set(name: string, value: string, now = new Date().toISOString()): { record: SecretRecord; created: boolean } {
    const existing = this.get(name);
    if (existing) {
      this.db.prepare("UPDATE secrets SET sealed = ?, updated_at = ? WHERE id = ?").run(this.seal(existing.id, value), now, existing.id);
      return { record: { ...existing, updatedAt: now }, created: false };
    }
    const id = `sec_${randomBytes(8).toString("hex")}`;
    this.db.prepare("INSERT INTO secrets (id, name, sealed, created_at, updated_at) VALUES (?, ?, ?, ?, ?)").run(id, name, this.seal(id, value), now, now);
    return { record: { id, name, createdAt: now, updatedAt: now }, created: true };
  }

  /** A secret by name or id, without its value. */
  get(ref: string): SecretRecord | null {
    const row = this.db.prepare("SELECT id, name, created_at, updated_at FROM secrets WHERE name = ? OR id = ?").get(ref, ref) as SecretRow | undefined;
    return row ? { id: row.id, name: row.name, createdAt: row.created_at, updatedAt: row.updated_at } : null;
  }

  /** Every secret, by name. */
  all(): SecretRecord[] {
    return (this.db.prepare("SELECT id, name, created_at, updated_at FROM secrets ORDER BY name").all() as SecretRow[]).map((r) => ({
      id: r.id,
      name: r.name,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    }));
  }

  /** Every secret's name (the stubs of every runtime). */
  names(): string[] {
    return (this.db.prepare("SELECT name FROM secrets ORDER BY name").all() as Array<{ name: string }>).map((r) => r.name);
  }

  count(): number {
    return (this.db.prepare("SELECT COUNT(*) AS n FROM secrets").get() as { n: number }).n;
  }

  /** The value of a secret by name, opened now (null when there is no such secret). */
  value(name: string): string | null {
    const row = this.db.prepare("SELECT id, sealed FROM secrets WHERE name = ?").get(name) as { id: string; sealed: Buffer } | undefined;
    return row ? this.open(row.id, row.sealed) : null;
  }

  remove(id: string): void {
    this.db.prepare("DELETE FROM secrets WHERE id = ?").run(id);
  }

  // Rules -----------------------------------------------------------------------------------------------------------

  putRule(rule: RuleRecord): void {
    this.db
      .prepare(
        `INSERT INTO secret_rules (runtime_id, host, header_key, header, secret_name, path, template, allow_http, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(runtime_id, host, header_key) DO UPDATE SET header = excluded.header, secret_name = excluded.secret_name, path = excluded.path,
         template = excluded.template, allow_http = excluded.allow_http, created_at = excluded.created_at`,
      )
      .run(rule.runtimeId, rule.host, rule.header.toLowerCase(), rule.header, rule.secret, rule.path, rule.template, rule.allow_http ? 1 : 0, rule.created_at);
  }

  rules(runtimeId: string): RuleRecord[] {
    return (this.db.prepare("SELECT * FROM secret_rules WHERE runtime_id = ? ORDER BY host, header_key").all(runtimeId) as RuleRow[]).map(fromRule);
  }

  /** The rules of one runtime for one host (the proxy asks this for every connection to 80/443). */
  rulesFor(runtimeId: string, host: string): RuleRecord[] {
    return (this.db.prepare("SELECT * FROM secret_rules WHERE runtime_id = ? AND host = ?").all(runtimeId, host) as RuleRow[]).map(fromRule);
  }

  /** The rules that name a secret. */
  rulesUsing(name: string): RuleRecord[] {
    return (this.db.prepare("SELECT * FROM secret_rules WHERE secret_name = ? ORDER BY runtime_id, host").all(name) as RuleRow[]).map(fromRule);
  }

  /** Removes one rule; false when there was none. */
  removeRule(runtimeId: string, host: string, header: string): boolean {
    return this.db.prepare("DELETE FROM secret_rules WHERE runtime_id = ? AND host = ? AND header_key = ?").run(runtimeId, host, header.toLowerCase()).changes > 0;
  }

  /** Removes every rule of a runtime (it is gone). */
  removeRules(runtimeId: string): void {
    this.db.prepare("DELETE FROM secret_rules WHERE runtime_id = ?").run(runtimeId);
  }

  /** Runtimes that have rules (for dropping those of runtimes gone while the daemon was down). */
  ruledRuntimes(): string[] {
    return (this.db.prepare("SELECT DISTINCT runtime_id FROM secret_rules").all() as Array<{ runtime_id: string }>).map((r) => r.runtime_id);
  }
}
