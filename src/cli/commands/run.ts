import { Command, Option } from "commander";
import { RuntaError } from "../../api/errors.js";
import { pickImageForPython } from "../../api/runtime-version.js";
import type { Image } from "../../api/schemas.js";
import { DEFAULTS, LIMITS } from "../../api/limits.js";
import type { RuntaApi } from "../../client/contract.js";
import type { CliContext } from "../context.js";
import { untilInterrupted } from "../interrupt.js";
import { collectKeyValue, collectPackage, packagesOf, runtimeVersionFlag, cpusFlag, descriptionFlag, diskSizeFlag, ENV_NAME, execTimeoutFlag, idleTimeoutFlag, lifetimeFlag, flagForHostLimit, hostnameFlag, LABEL_KEY, memoryFlag, nameFlag } from "../parse.js";
import { spinner } from "../output.js";
import { NETWORK_MODES, type NetworkMode } from "../../api/egress-policy.js";
import { UsageError } from "../errors.js";
import { collectEntry, policyFromFlags } from "./egress.js";
import { buildImageWithProgress, findImage } from "./image.js";
import { collectPorts } from "./ports.js";
import type { PortRequest } from "../../api/ports-spec.js";

/** Flags of `runta run`. */
export interface RunOptions {
  name?: string;
  hostname?: string;
  description?: string;
  execTimeout?: number;
  lifetime?: number;
  idleTimeout?: number;
  idempotencyKey?: string;
  image?: string;
  cpus?: number;
  memory?: number;
  diskSizeGib?: number;
  env?: Record<string, string>;
  label?: Record<string, string>;
  detach?: boolean;
  network?: NetworkMode;
  egressAllow?: string[];
  egressDeny?: string[];
  package?: string[];
  publish?: PortRequest[];
  runtimeVersion?: string;
}

/** `runta run`: create a runtime and wait until it runs. */
export function runCommand(ctx: CliContext): Command {
  return new Command("run")
    .description("Create a runtime and start it (waits until it is running, then prints its id)")
    .option("--name <name>", "runtime name (letters, digits, '_', '.', '-'); generated when omitted", nameFlag)
    .option("--hostname <host>", "hostname inside, also in its /etc/hosts (default: the runtime's name)", hostnameFlag)
    .option("--description <text>", "free text shown in inspect and ps --json (change it with runta update)", descriptionFlag)
    .option("--exec-timeout <secs>", "timeout of every exec in it that sets none (plain exec, -it sessions, -d ones)", execTimeoutFlag)
    .option("--lifetime <secs>", "shut it down (filesystem kept) this long after each start; not an idle timeout", lifetimeFlag)
    .option(
      "--idle-timeout <secs>",
      `suspend it (frozen, memory kept) after this long without activity (${LIMITS.idleTimeoutSecsMin}-${LIMITS.idleTimeoutSecsMax}); an exec or request wakes it`,
      idleTimeoutFlag,
    )
    .option("--idempotency-key <key>", "retry-safe create: the same key and flags give the same runtime, other flags an error")
    .option("--image <image>", `root filesystem image (default "${DEFAULTS.image}", built on first use)`)
    .option("--runtime-version <V>", "the Python version it carries (3.11, 3.11.2): picks the image whose python3 matches (image ls's PYTHON)", runtimeVersionFlag)
    .option("--package <pkg>", "Debian NAME[=VERSION] or Python pip:NAME[==VERSION] to find installed (repeatable); an image per set, built once", collectPackage)
    .option("--cpus <n>", "vCPUs, fractions allowed (default 1)", cpusFlag)
    .option("-m, --memory <size>", "memory limit: 512m, 2g, or a bare number of MiB (default 1024)", memoryFlag)
    .option("--disk-size-gib <GiB>", "size of the runtime's disk, its writable layer (default 10; sparse: the host gives only what is written)", diskSizeFlag)
    .option("-e, --env <K=V>", "environment variable (repeatable; -e K takes K from your environment)", collectKeyValue("-e", ENV_NAME, ctx.env))
    .option("--label <k=v>", "label (repeatable)", collectKeyValue("--label", LABEL_KEY))
    .addOption(new Option("--network <mode>", "nat: an address, NAT and DNS (default); none: loopback only").choices(NETWORK_MODES))
    .option("--egress-allow <HOST_OR_CIDR>", "reach only these destinations (repeatable; see runta egress --help)", collectEntry("--egress-allow"))
    .option("--egress-deny <HOST_OR_CIDR>", "reach anything but these destinations (repeatable)", collectEntry("--egress-deny"))
    .option("-p, --publish <port>", "publish a port (repeatable): PORT[/http|/https|/tcp] through the ingress, or [HOST_IP:]HOST_PORT:PORT (see runta ports --help)", collectPorts("--publish"))
    .option("-d, --detach", "return as soon as the runtime is created, without waiting for it to run")
    .option("--json", "print the created runtime as JSON instead of its id")
    .addHelpText(
      "after",
      `
run takes no command: run one inside with runta exec -it <runtime> -- <command>.

Examples:
  runta run --name worker --cpus 2 --memory 2g
  runta run --name big --disk-size-gib 50
  runta run --name web -m 512m -e APP_ENV=dev --label team=infra
  runta run --name builder --egress-allow deb.debian.org --egress-allow registry.npmjs.org
  runta run --name web -p 8080 -p 8443/https
  runta run --name db -p 127.0.0.1:15432:5432
  runta run --name sealed --network none
  runta run --name api --hostname api.internal
  runta run --name etl --description "nightly ETL, owner: data team"
  runta run --name tools --package cowsay --package tree
  runta run --name py --runtime-version 3.11
  runta run --name jobs --exec-timeout 600
  runta run --name scratch --lifetime 3600
  runta run --name web --idle-timeout 300
  runta run --name once --idempotency-key deploy-42
  runta run -d --name batch
`,
    )
    .action((opts: RunOptions) => runRun(ctx, opts));
}

/** Creates the runtime (building the default image first if needed) and prints its id. */
export async function runRun(ctx: CliContext, opts: RunOptions): Promise<void> {
  const egress = policyFromFlags({ allow: opts.egressAllow, deny: opts.egressDeny }, { allow: "--egress-allow", deny: "--egress-deny" });
  if (egress && opts.network === "none") throw new UsageError("--egress-allow/--egress-deny need a network: drop --network none");
  const packages = packagesOf(opts.package);
  if (opts.publish?.length && opts.network === "none") throw new UsageError("--publish needs a network: nothing can reach a runtime made with --network none");
  const runta = await ctx.client();
  let image = opts.image ?? DEFAULTS.image;
  // Packages are built over the image the Python version picks: pick it here by the daemon's rule, so it is the parent.
  if (packages && opts.runtimeVersion && !opts.image) image = pickImage(await runta.images.list(), opts.runtimeVersion);
  // The image of a package set is built once, with visible progress; the create then stands on it.
  if (packages) await ensurePackagesImage(ctx, runta, image, packages);
  else if (image === DEFAULTS.image) await ensureDefaultImage(ctx, runta);
  const progress = await spinner(ctx, opts.name ? `creating runtime ${opts.name}…` : "creating runtime…");
  const left = opts.name
    ? `runtime ${opts.name}; see it with runta ps -a, remove it with runta rm ${opts.name}`
    : "the runtime; find it with runta ps -a";
  try {
    const create = runta.runtimes.create(opts.name, {
      image: packages && opts.runtimeVersion ? image : opts.image,
      runtimeVersion: opts.runtimeVersion,
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
      idempotencyKey: opts.idempotencyKey,
      network: opts.network,
      egress,
      packages,
      ports: opts.publish,
      wait: !opts.detach,
    });
    const rt = await untilInterrupted(ctx, create, () => ctx.io.stderr.write(`runta: interrupted — the daemon goes on creating ${left}\n`), progress);
    progress.stop();
    if (!opts.detach && rt.info.status !== "running") {
      // The record exists (so rm works) but the runtime did not come up: that is a failure, not an id to use.
      const why = rt.info.last_error ? `: ${rt.info.last_error}` : "";
      throw new RuntaError("failed_precondition", `runtime "${rt.name}" did not start (status ${rt.info.status}${why}) — see runta inspect ${rt.name}, remove it with runta rm ${rt.name}`);
    }
    if (ctx.json) ctx.io.stdout.write(`${JSON.stringify(rt.info, null, 2)}\n`);
    else ctx.io.stdout.write(`${rt.id}\n`);
  } catch (err) {
    progress.fail();
    throw flagForHostLimit(err);
  }
}

/** The default image is built once per host; the first `run` (or `apply`) does it with visible progress instead of failing. */
export async function ensureDefaultImage(ctx: CliContext, runta: RuntaApi): Promise<void> {
  const images = await runta.images.list();
  if (images.some((i) => i.name === DEFAULTS.image)) return;
  ctx.io.stderr.write(`runta: image "${DEFAULTS.image}" is not built yet; building it now (one to a few minutes, once per host)\n`);
  await buildImageWithProgress(ctx, runta, DEFAULTS.image, false);
}

/** The image of `packages` over `parent` is built once (progress shown, apt's message on failure); later runs find it. */
export async function ensurePackagesImage(ctx: CliContext, runta: RuntaApi, parent: string, packages: string[]): Promise<void> {
  if (findImage(await runta.images.list(), undefined, { parent, packages })) return;
  ctx.io.stderr.write(`runta: building the image of ${packages.join(" ")} over ${parent} (once; later runs with these packages reuse it)\n`);
  await buildImageWithProgress(ctx, runta, undefined, false, { packages, parent });
}

/** The image a Python version picks (api/runtime-version.ts); an error listing the versions there are otherwise. */
function pickImage(images: Image[], version: string): string {
  try {
    return pickImageForPython(images, version, undefined, DEFAULTS.image);
  } catch (err) {
    throw new RuntaError("invalid_argument", `--runtime-version ${version}: ${(err as Error).message}`);
  }
}
