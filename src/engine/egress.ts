/**
 * What a runtime's network lets out, changed under its lock: its egress policy (network/ enforces it) and the secret
 * rules the egress proxy applies to its requests (secrets/). Both need a runtime with a network of its own, neither
 * being created nor deleted; a rule on a live runtime also puts the egress CA into its trust store at once.
 */
import type { EgressPolicyInput, RuntimeEgress } from "../api/egress.js";
import type { SecretRule, SecretRuleRequest } from "../api/secrets.js";
import type { RuntimeRecord } from "../store/record.js";
import type { RuntimeNetworks } from "./network/network.js";
import { checkedPolicy } from "./network/policy.js";
import type { RuntimeRecords } from "./records.js";
import { noNetwork, preconditionFor } from "./refusals.js";
import { runtimePaths } from "./rootfs.js";
import type { RuntimeSecrets } from "./secrets/secrets.js";
import { isLive } from "./status.js";

export class RuntimeEgressSettings {
  constructor(
    private readonly deps: {
      records: RuntimeRecords;
      networks: Pick<RuntimeNetworks, "describe" | "setPolicy">;
      secrets: Pick<RuntimeSecrets, "setRule" | "installTrust">;
      dataDir: string;
    },
  ) {}

  /** The runtime's network, address and egress policy as the API shows them. */
  of(rec: RuntimeRecord): RuntimeEgress {
    const net = this.deps.networks.describe(rec.id);
    return { runtime: rec.name, runtime_id: rec.id, network: net.mode, address: net.address, policy: net.policy };
  }

  async setPolicy(ref: string, input: EgressPolicyInput): Promise<RuntimeEgress> {
    const policy = checkedPolicy(input);
    return this.withNetwork(ref, "change its egress policy", "there is no egress to control", async (rec) => {
      await this.deps.networks.setPolicy(rec.id, policy);
      return this.of(rec);
    });
  }

  /** A rule on a running runtime also puts the egress CA into its trust store now (a boot does it anyway). */
  async setSecretRule(ref: string, rule: SecretRuleRequest): Promise<SecretRule> {
    const { secrets, dataDir } = this.deps;
    return this.withNetwork(ref, "set a secret rule", "it sends no requests to inject into", async (rec) => {
      const set = secrets.setRule(rec.id, rec.name, rule);
      // Files are written from the host, so a frozen runtime (paused, suspended) takes them as a running one does.
      if (isLive(rec.status)) await secrets.installTrust(runtimePaths(dataDir, rec.id).rootfs);
      return set;
    });
  }

  /** `fn` under the lock of a runtime that has a network (refused while it is created or deleted); `why` says what one without lacks. */
  private withNetwork<T>(ref: string, what: string, why: string, fn: (rec: RuntimeRecord) => Promise<T>): Promise<T> {
    return this.deps.records.withRuntime(ref, async (rec) => {
      if (rec.status === "creating" || rec.status === "deleting") throw preconditionFor(rec, what);
      if (this.deps.networks.describe(rec.id).mode === "none") throw noNetwork(rec, why);
      return fn(rec);
    });
  }
}
