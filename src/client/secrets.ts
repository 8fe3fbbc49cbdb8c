/** `runta.secrets`: secrets the daemon keeps (values go in, never come out) and the injection rules of runtimes. */
import type { Secret, SecretRule, SecretRuleInput } from "../api/secret-policy.js";
import type { SecretsApi } from "./contract.js";
import { Transport, seg } from "./http.js";

/** Secrets by name (or id), and rules by runtime. */
export class SecretsClient implements SecretsApi {
  constructor(private readonly http: Transport) {}

  /** Every secret: names, dates and the rules using it; never a value. */
  async list(): Promise<Secret[]> {
    return (await this.http.json<Secret[]>("GET", "/v1/secrets")).data;
  }

  /** One secret (no value). */
  async get(name: string): Promise<Secret> {
    return (await this.http.json<Secret>("GET", `/v1/secrets/${seg(name)}`)).data;
  }

  /** Stores `value` under `name` (in the request body, never the URL); an existing name is rotated. PUT: safe to retry. */
  async set(name: string, value: string): Promise<Secret> {
    return (await this.http.json<Secret>("PUT", `/v1/secrets/${seg(name)}`, { body: { value }, retry: true })).data;
  }

  /** Removes a secret (refused while rules use it: the error names them). */
  async remove(name: string): Promise<Secret> {
    return (await this.http.json<Secret>("DELETE", `/v1/secrets/${seg(name)}`)).data;
  }

  /** A runtime's injection rules. */
  async rules(runtime: string): Promise<SecretRule[]> {
    return (await this.http.json<SecretRule[]>("GET", `/v1/runtimes/${seg(runtime)}/secret-rules`)).data;
  }

  /** Adds or replaces the rule of (host, header) on a runtime. Default path every path, HTTPS only. */
  async setRule(runtime: string, rule: SecretRuleInput): Promise<SecretRule> {
    return (await this.http.json<SecretRule>("PUT", `/v1/runtimes/${seg(runtime)}/secret-rules`, { body: rule, retry: true })).data;
  }

  /** Removes the rule of (host, header) from a runtime. */
  async removeRule(runtime: string, host: string, header: string): Promise<SecretRule> {
    return (await this.http.json<SecretRule>("DELETE", `/v1/runtimes/${seg(runtime)}/secret-rules`, { query: { host, header } })).data;
  }
}
