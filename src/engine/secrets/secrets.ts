/**
 * `RuntimeSecrets`: the secrets room of the engine (DESIGN §11, Secrets). It owns the encrypted store (store.ts), the
 * injection rules of each runtime, and what the rest of the engine asks of them: the names every runtime sees as
 * stubs (spec.ts puts them into every exec'd process), and for the egress proxy, the rules of a (runtime, host) pair
 * and a value opened at the moment of injection. Values leave this room only towards the proxy.
 */
import type Database from "better-sqlite3";
import { join } from "node:path";
import { errors } from "../../api/index.js";
import type { Logger } from "../../log.js";
import { CertificateAuthority } from "../tls/ca.js";
import { Interceptor, upstreamTrust } from "./intercept.js";
import { installEgressCa } from "./trust.js";
import {
  SECRET_LIMITS,
  ruleKey,
  secretNameError,
  secretValueError,
  type Secret,
  type SecretRule,
  type SecretRuleRequest,
} from "../../api/secrets.js";
import { SecretStore, type RuleRecord, type SecretRecord } from "./store.js";

/** What the room needs from the engine: runtimes' names for messages and `used_by`. */
export interface SecretsDeps {
  runtimeName(id: string): string | null;
}

/** Options of {@link RuntimeSecrets.open}. */
export interface SecretsOptions extends SecretsDeps {
  /** The runtime store's database (the secrets' and rules' tables live beside the runtimes). */
  db: Database.Database;
  dataDir: string;
  /** A PEM bundle of CAs upstream servers may also chain to (besides the host's trust store); for test hosts. */
  upstreamCaFile?: string;
  logger: Logger;
}

function publicRule(r: RuleRecord): SecretRule {
  return { secret: r.secret, host: r.host, path: r.path, header: r.header, template: r.template, allow_http: r.allow_http, created_at: r.created_at };
}

/** The daemon's secrets and injection rules. */
export class RuntimeSecrets {
  readonly store: SecretStore;
  /** What the egress proxy hands connections with rules to (network/proxy.ts `Takeover`). */
  readonly takeover: Interceptor;

  private constructor(
    private readonly deps: SecretsOptions,
    private readonly ca: CertificateAuthority,
    upstreamCa: string[],
  ) {
    this.store = new SecretStore(deps.db, deps.dataDir);
    this.takeover = new Interceptor({
      secureContext: (host) => ca.secureContext(host),
      rulesFor: (runtimeId, host) => this.store.rulesFor(runtimeId, host),
      valueOf: (name) => this.store.value(name),
      upstreamCa,
    });
  }

  /** Opens the store (making the key on first use) and loads or creates the egress CA (`<dataDir>/egress-ca/`). */
  static async open(opts: SecretsOptions): Promise<RuntimeSecrets> {
    let upstreamCa: string[];
    try {
      upstreamCa = upstreamTrust(opts.upstreamCaFile);
    } catch (err) {
      throw errors.invalid(`cannot read the egress CA bundle ${opts.upstreamCaFile}: ${(err as Error).message}; give a readable PEM file (--egress-ca-bundle)`);
    }
    const ca = await CertificateAuthority.loadOrCreate({ dir: join(opts.dataDir, "egress-ca"), commonName: "runta egress CA", logger: opts.logger });
    return new RuntimeSecrets(opts, ca, upstreamCa);
  }

  /** Puts the egress CA into a runtime's trust store (its root at `rootfs`); at every boot, and when a rule is set. */
  installTrust(rootfs: string): Promise<void> {
    return installEgressCa(rootfs, this.ca.certPem);
  }

  private toSecret(rec: SecretRecord): Secret {
    const used_by = this.store.rulesUsing(rec.name).map((r) => ({ runtime: this.deps.runtimeName(r.runtimeId) ?? r.runtimeId, runtime_id: r.runtimeId, host: r.host, header: r.header }));
    return { id: rec.id, display_name: rec.name, created_at: rec.createdAt, updated_at: rec.updatedAt, used_by };
  }

  private find(ref: string): SecretRecord {
    const rec = this.store.get(ref);
    if (!rec) throw errors.notFound(`secret "${ref}" not found; list secrets with: runta secret ls`, { secret: ref });
    return rec;
  }

  list(): Secret[] {
    return this.store.all().map((r) => this.toSecret(r));
  }

  get(ref: string): Secret {
    return this.toSecret(this.find(ref));
  }

  /** Stores a value under `name` (checked again here: the engine is an API of its own); an existing name is rotated. */
  set(name: string, value: string): { secret: Secret; created: boolean } {
    const bad = secretNameError(name) ?? secretValueError(value);
    if (bad) throw errors.invalid(bad, { field: secretNameError(name) ? "name" : "value" });
    if (!this.store.get(name) && this.store.count() >= SECRET_LIMITS.secretsMax) {
      throw errors.exhausted(`the daemon already holds ${SECRET_LIMITS.secretsMax} secrets, the most it keeps; remove some with: runta secret rm NAME`);
    }
    const { record, created } = this.store.set(name, value);
    return { secret: this.toSecret(record), created };
  }

  /** Removes a secret; refused while rules inject it (they are named, with how to remove them). */
  remove(ref: string): Secret {
    const rec = this.find(ref);
    const users = this.store.rulesUsing(rec.name);
    if (users.length) {
      const named = users.map((r) => `${this.deps.runtimeName(r.runtimeId) ?? r.runtimeId} ${r.host} ${r.header}`);
      const first = users[0]!;
      throw errors.precondition(
        `secret "${rec.name}" is used by ${users.length} rule(s): ${named.join("; ")}; remove them first, e.g. runta secret rule rm ${this.deps.runtimeName(first.runtimeId) ?? first.runtimeId} --host ${first.host} --header ${first.header}`,
        { rules: users.map((r) => ({ runtime_id: r.runtimeId, host: r.host, header: r.header })) },
      );
    }
    const shown = this.toSecret(rec);
    this.store.remove(rec.id);
    return shown;
  }

  /** The names every runtime sees as stubs. */
  names(): string[] {
    return this.store.names();
  }

  // Rules ---------------------------------------------------------------------------------------------------------

  rules(runtimeId: string): SecretRule[] {
    return this.store.rules(runtimeId).map(publicRule);
  }

  /** Adds or replaces the rule of (runtime, host, header). The secret must exist; the runtime's name is for messages. */
  setRule(runtimeId: string, runtime: string, req: SecretRuleRequest): SecretRule {
    if (!this.store.get(req.secret)) throw errors.notFound(`secret "${req.secret}" not found; set it first: runta secret set ${req.secret} --prompt`, { secret: req.secret });
    const { host, header } = ruleKey(req.host, req.header);
    const existing = this.store.rules(runtimeId);
    const replaces = existing.some((r) => r.host === host && r.header.toLowerCase() === header.toLowerCase());
    if (!replaces && existing.length >= SECRET_LIMITS.rulesPerRuntimeMax) {
      throw errors.exhausted(`runtime "${runtime}" already has ${SECRET_LIMITS.rulesPerRuntimeMax} secret rules, the most one runtime may have; remove one with: runta secret rule rm ${runtime} --host HOST --header HEADER`);
    }
    const rule: RuleRecord = {
      runtimeId,
      secret: req.secret,
      host,
      path: req.path ?? "/*",
      header,
      template: req.template,
      allow_http: req.allow_http ?? false,
      created_at: new Date().toISOString(),
    };
    this.store.putRule(rule);
    return publicRule(rule);
  }

  removeRule(runtimeId: string, runtime: string, hostIn: string, headerIn: string): SecretRule {
    const { host, header } = ruleKey(hostIn, headerIn);
    const rule = this.store.rules(runtimeId).find((r) => r.host === host && r.header.toLowerCase() === header.toLowerCase());
    if (!rule) throw errors.notFound(`runtime "${runtime}" has no secret rule for host ${host} and header ${header}; list its rules with: runta secret rule ls ${runtime}`);
    this.store.removeRule(runtimeId, host, header);
    return publicRule(rule);
  }

  /** Forgets a runtime's rules (it was deleted). */
  forget(runtimeId: string): void {
    this.store.removeRules(runtimeId);
  }

  /** Drops the rules of runtimes that no longer exist (deleted while the daemon was down); done at open. */
  reconcile(exists: (runtimeId: string) => boolean): void {
    for (const id of this.store.ruledRuntimes()) if (!exists(id)) this.store.removeRules(id);
  }

}
