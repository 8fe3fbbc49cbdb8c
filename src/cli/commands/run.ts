import { Command, Option } from "commander";
import { RuntaError } from "../../api/errors.js";
import { pickImageForPython } from "../../api/runtime-version.js";
import type { Image } from "../../api/images.js";
import { DEFAULTS } from "../../api/limits.js";
import type { RuntaApi } from "../../client/contract.js";
import type { CliContext } from "../context.js";
import { untilInterrupted } from "../interrupt.js";
import { collectPackage, packagesOf, runtimeVersionFlag, flagForHostLimit, nameFlag } from "../parse.js";
import { spinner } from "../output.js";
import { addRuntimeFlags, createOptionsFrom, type RuntimeFlags } from "../runtime-flags.js";
import { buildImageWithProgress, findImage } from "./image.js";

/** Flags of `runta run`: the shared ones of a new runtime (runtime-flags.ts) and run's own. */
export interface RunOptions extends RuntimeFlags {
  name?: string;
  idempotencyKey?: string;
  image?: string;
  detach?: boolean;
  package?: string[];
  runtimeVersion?: string;
  type?: "default" | "browser";
}

/** `runta run`: create a runtime and wait until it runs. */
export function runCommand(ctx: CliContext): Command {
  const cmd = new Command("run")
    .description("Create a runtime and start it (waits until it is running, then prints its id)")
    .option("--name <name>", "runtime name (letters, digits, '_', '.', '-'); generated when omitted", nameFlag);
  return addRuntimeFlags(cmd, ctx)
    .option("--idempotency-key <key>", "retry-safe create: the same key and flags give the same runtime, other flags an error")
    .option("--image <image>", `root filesystem image (default "${DEFAULTS.image}", built on first use)`)
    .addOption(new Option("--type <type>", "browser: headless Chromium whose DevTools (CDP) URL inspect gives (browser.ws); default: a plain runtime").choices(["default", "browser"]))
    .option("--runtime-version <V>", "the Python version it carries (3.11, 3.11.2): picks the image whose python3 matches (image ls's PYTHON)", runtimeVersionFlag)
    .option("--package <pkg>", "Debian NAME[=VERSION] or Python pip:NAME[==VERSION] to find installed (repeatable); an image per set, built once", collectPackage)
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
  runta run --name chrome --type browser
  runta run --name jobs --exec-timeout 600
  runta run --name scratch --lifetime 3600
  runta run --name web --idle-timeout 300
  runta run --name once --idempotency-key deploy-42
  runta volume create data && runta run --name dev -v data:/work
  runta run -d --name batch
`,
    )
    .action((opts: RunOptions) => runRun(ctx, opts));
}

/** Creates the runtime (building the default image first if needed) and prints its id. */
export async function runRun(ctx: CliContext, opts: RunOptions): Promise<void> {
  const options = createOptionsFrom(opts);
  const packages = packagesOf(opts.package);
  const runta = await ctx.client();
  let image = opts.image ?? DEFAULTS.image;
  // Packages are built over the image the Python version picks: pick it here by the daemon's rule, so it is the parent.
  if (packages && opts.runtimeVersion && !opts.image) image = pickImage(await runta.images.list(), opts.runtimeVersion);
  // The image of a package set is built once, with visible progress; the create then stands on it.
  if (packages) await ensurePackagesImage(ctx, runta, image, packages);
  else if (opts.type === "browser" && !opts.image) await ensureImage(ctx, runta, "browser", "Debian's Chromium over the default image, a few minutes");
  else if (image === DEFAULTS.image) await ensureDefaultImage(ctx, runta);
  const progress = await spinner(ctx, opts.name ? `creating runtime ${opts.name}…` : "creating runtime…");
  const left = opts.name
    ? `runtime ${opts.name}; see it with runta ps -a, remove it with runta rm ${opts.name}`
    : "the runtime; find it with runta ps -a";
  try {
    const create = runta.runtimes.create(opts.name, {
      ...options,
      image: packages && opts.runtimeVersion ? image : opts.image,
      runtimeVersion: opts.runtimeVersion,
      type: opts.type,
      packages,
      idempotencyKey: opts.idempotencyKey,
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
    throw flagForHostLimit(err, opts.typed);
  }
}

/** The default image is built once per host; the first `run` (or `apply`) does it with visible progress instead of failing. */
export async function ensureDefaultImage(ctx: CliContext, runta: RuntaApi): Promise<void> {
  await ensureImage(ctx, runta, DEFAULTS.image, "one to a few minutes, once per host");
}

/** A buildable image (default, browser) missing yet is built first, with visible progress; `takes` says how long. */
async function ensureImage(ctx: CliContext, runta: RuntaApi, name: string, takes: string): Promise<void> {
  const images = await runta.images.list();
  if (images.some((i) => i.name === name)) return;
  ctx.io.stderr.write(`runta: image "${name}" is not built yet; building it now (${takes})\n`);
  await buildImageWithProgress(ctx, runta, name, false);
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
