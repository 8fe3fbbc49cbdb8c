/**
 * The flags that say what a new runtime is made of, shared by `runta run` and `runta checkpoint restore` (a restore
 * is a create standing on a checkpoint): declared once here, and turned into the SDK's create options once.
 */
import { Option, type Command } from "commander";
import { NETWORK_MODES, type NetworkMode } from "../api/egress-policy.js";
import { LIMITS } from "../api/limits.js";
import type { CreateOptions, VolumeMountOptions } from "../client/contract.js";
import type { CliContext } from "./context.js";
import { UsageError } from "./errors.js";
import {
  collectKeyValue,
  cpusFlag,
  descriptionFlag,
  diskSizeFlag,
  ENV_NAME,
  execTimeoutFlag,
  hostnameFlag,
  idleTimeoutFlag,
  LABEL_KEY,
  lifetimeFlag,
  memoryFlag,
  typedFlags,
  volumeFlag,
} from "./parse.js";
import { collectEntry, policyFromFlags } from "./commands/egress.js";
import { collectPorts } from "./commands/ports.js";
import type { PortRequest } from "../api/ports-spec.js";

/** The shared flags, as commander hands them to the action. */
export interface RuntimeFlags {
  hostname?: string;
  description?: string;
  execTimeout?: number;
  lifetime?: number;
  idleTimeout?: number;
  cpus?: number;
  memory?: number;
  diskSizeGib?: number;
  env?: Record<string, string>;
  label?: Record<string, string>;
  volume?: VolumeMountOptions[];
  network?: NetworkMode;
  egressAllow?: string[];
  egressDeny?: string[];
  publish?: PortRequest[];
  /** What was typed for --cpus and --memory, so a refusal echoes it (flagForHostLimit). */
  typed?: Record<string, string>;
}

/** Adds the shared flags to `cmd`, in the order `--help` shows them. */
export function addRuntimeFlags(cmd: Command, ctx: CliContext, what = "the runtime"): Command {
  cmd
    .option("--hostname <host>", `hostname inside, also in its /etc/hosts (default: ${what}'s name)`, hostnameFlag)
    .option("--description <text>", "free text shown in inspect and ps --json (change it with runta update)", descriptionFlag)
    .option("--exec-timeout <secs>", "timeout of every exec in it that sets none (plain exec, -it sessions, -d ones)", execTimeoutFlag)
    .option("--lifetime <secs>", "shut it down (filesystem kept) this long after each start; not an idle timeout", lifetimeFlag)
    .option(
      "--idle-timeout <secs>",
      `suspend it (frozen, memory kept) after this long without activity (${LIMITS.idleTimeoutSecsMin}-${LIMITS.idleTimeoutSecsMax}); an exec or request wakes it`,
      idleTimeoutFlag,
    )
    .option("--cpus <n>", "vCPUs, fractions allowed (default 1)", cpusFlag)
    .option("-m, --memory <size>", "memory limit: 512m, 2g, or a bare number of MiB (default 1024)", memoryFlag)
    .option("--disk-size-gib <GiB>", `size of ${what}'s own disk, its writable layer (default 10; sparse: the host gives only what is written)`, diskSizeFlag)
    .option("-e, --env <K=V>", "environment variable (repeatable; -e K takes K from your environment)", collectKeyValue("-e", ENV_NAME, ctx.env))
    .option("--label <k=v>", "label (repeatable)", collectKeyValue("--label", LABEL_KEY))
    .option("-v, --volume <NAME:PATH[:ro]>", "mount a volume (runta volume create NAME) at PATH inside; repeatable; :ro for read-only", volumeFlag)
    .addOption(new Option("--network <mode>", "nat: an address, NAT and DNS (default); none: loopback only").choices(NETWORK_MODES))
    .option("--egress-allow <HOST_OR_CIDR>", "reach only these destinations (repeatable; see runta egress --help)", collectEntry("--egress-allow"))
    .option("--egress-deny <HOST_OR_CIDR>", "reach anything but these destinations (repeatable)", collectEntry("--egress-deny"))
    .option("-p, --publish <port>", "publish a port (repeatable): PORT[/http|/https|/tcp] through the ingress, or [HOST_IP:]HOST_PORT:PORT (see runta ports --help)", collectPorts("--publish"));
  return typedFlags(cmd, ["cpus", "memory"]);
}

/** The SDK's create options from the shared flags (checked together: the egress flags need a network). */
export function createOptionsFrom(opts: RuntimeFlags): Omit<CreateOptions, "image" | "wait" | "idempotencyKey"> {
  const egress = policyFromFlags({ allow: opts.egressAllow, deny: opts.egressDeny }, { allow: "--egress-allow", deny: "--egress-deny" });
  if (egress && opts.network === "none") throw new UsageError("--egress-allow/--egress-deny need a network: drop --network none");
  if (opts.publish?.length && opts.network === "none") throw new UsageError("--publish needs a network: nothing can reach a runtime made with --network none");
  return {
    vcpus: opts.cpus,
    memoryMiB: opts.memory,
    diskSizeGiB: opts.diskSizeGib,
    env: opts.env,
    labels: opts.label,
    hostname: opts.hostname,
    description: opts.description,
    execTimeoutSecs: opts.execTimeout,
    lifetimeSecs: opts.lifetime,
    idleTimeoutSecs: opts.idleTimeout,
    volumes: opts.volume,
    network: opts.network,
    egress,
    ports: opts.publish,
  };
}
