import * as fs from "node:fs";
import { Command } from "commander";
import { DEFAULTS } from "../../api/limits.js";
import { runcTrustWarning } from "../../api/trust.js";
import type { Image } from "../../api/images.js";
import type { RuntaApi } from "../../client/contract.js";
import type { CliContext } from "../context.js";
import { untilInterrupted } from "../interrupt.js";
import { StatusError, UsageError } from "../errors.js";
import { humanBytes, listFormat, printJson, printList, spinner, timeValue, type Column } from "../output.js";
import { forEachTarget } from "../targets.js";
import { collectPackage, packagesOf } from "../parse.js";

/** `runta image ls|build|import|rm`. */
export function imageCommand(ctx: CliContext): Command {
  const image = new Command("image").description("Manage root-filesystem images").addHelpText(
    "after",
    `
Examples:
  runta image ls
  runta image build            # the default image: Debian bookworm + python3, pip, git, curl, jq…, from the host's Debian mirror
  runta image build --package cowsay   # the default image + cowsay: what runta run --package cowsay stands on
  docker export $(docker create alpine) | runta image import alpine -
  runta image rm alpine`,
  );
  image
    .command("ls")
    .alias("list")
    .description("List images")
    .option("-q, --quiet", "only print image names")
    .option("--json", "print {\"images\": [...]} with the API objects")
    .addHelpText("after", "\nExamples:\n  runta image ls\n  runta image ls --json")
    .action((opts: { quiet?: boolean; json?: boolean }) => runImageLs(ctx, opts));
  image
    .command("build")
    .description(`Build the "${DEFAULTS.image}" image with debootstrap, or with --package an image of packages over a parent; shows progress`)
    .argument("[name]", `image to build (default "${DEFAULTS.image}"; with --package: named from the set unless given)`)
    .option("--package <pkg>", "Debian NAME[=VERSION] or Python pip:NAME[==VERSION] to install over the parent (repeatable)", collectPackage)
    .option("--parent <image>", `the image packages are installed over (default "${DEFAULTS.image}")`)
    .option("--force", "rebuild even if the image exists")
    .option("--json", "print the built image as JSON")
    .addHelpText(
      "after",
      `
"browser" is the image of chromium, fonts-liberation and socat over the default image. An image of packages is the parent plus one layer, built once in a build runtime that may reach only the Debian
mirror (runta run --package uses the same image: build it ahead so creates do not wait). pip: packages need a
package index the runtime can reach; none is by default, so they fail with pip's message.

Examples:
  runta image build
  runta image build --force
  runta image build --package cowsay --package tree
  runta image build --package cowsay --force
  runta image build browser    # Debian's Chromium (+ socat, fonts) over the default image: what runta run --type browser uses`,
    )
    .action((name: string | undefined, opts: { force?: boolean; package?: string[]; parent?: string }) => runImageBuild(ctx, name, opts));
  image
    .command("import")
    .description("Import a root-filesystem tarball (plain or gzip, e.g. docker export output) as an image")
    .argument("<name>", "name of the new image")
    .argument("<tarball>", "path of the tarball, or - for stdin")
    .option("--json", "print the imported image as JSON")
    .addHelpText("after", "\nExamples:\n  runta image import busybox ./busybox.tar\n  docker export $(docker create alpine) | runta image import alpine -")
    .action((name: string, tarball: string) => runImageImport(ctx, name, tarball));
  image
    .command("rm")
    .alias("remove")
    .description("Remove one or more images (refused while a runtime uses them)")
    .argument("<image...>", "image names")
    .addHelpText("after", "\nExamples:\n  runta image rm alpine")
    .action((names: string[]) => runImageRm(ctx, names));
  return image;
}

function imageColumns(now: Date): Column<Image>[] {
  return [
    { header: "NAME", value: (i) => i.name },
    { header: "SIZE", value: (i, tty) => (tty ? humanBytes(i.size_bytes) : String(i.size_bytes)) },
    { header: "CREATED", value: (i, tty) => timeValue(i.created_at, tty, now) },
    { header: "PYTHON", value: (i) => i.python_version ?? "-" },
    { header: "PARENT", value: (i) => i.parent ?? "-" },
    { header: "PACKAGES", value: (i) => (i.packages.length ? i.packages.join(",") : "-") },
    { header: "SOURCE", value: (i) => (i.parent ? "packages" : i.source) },
    { header: "USED BY", value: (i) => String(i.in_use_by.length) },
  ];
}

/** Lists images. */
export async function runImageLs(ctx: CliContext, opts: { quiet?: boolean; json?: boolean }): Promise<void> {
  const runta = await ctx.client();
  const images = await runta.images.list();
  await printList(ctx, images, { noun: "images", columns: imageColumns(ctx.now()), id: (i) => i.name }, listFormat(opts));
}

/** Builds an image, streaming progress to stderr. */
export async function runImageBuild(ctx: CliContext, nameArg: string | undefined, opts: { force?: boolean; package?: string[]; parent?: string }): Promise<void> {
  const packages = packagesOf(opts.package);
  if (opts.parent !== undefined && !packages) throw new UsageError("--parent needs --package: the packages to install over it");
  const name = nameArg ?? (packages ? undefined : DEFAULTS.image);
  const runta = await ctx.client();
  // The daemon answers an existing image with a progress line naming its API field; say it in CLI terms instead.
  const existing = opts.force ? undefined : findImage(await runta.images.list(), name, packages && { parent: opts.parent ?? DEFAULTS.image, packages });
  const again = `runta image build --force ${packages ? packages.map((p) => `--package ${p}`).join(" ") : (name ?? "")}`.trim();
  if (existing) ctx.io.stderr.write(`runta: image ${existing.name} is already built (${existing.created_at}); rebuild it with ${again}\n`);
  const image = existing ?? (await buildImageWithProgress(ctx, runta, name, opts.force === true, packages && { packages, parent: opts.parent }));
  if (ctx.json) printJson(ctx, image);
  else ctx.io.stdout.write(`${image.name}\n`);
}

/** The image a build asks for, if it exists: by name, or (a package set without a name) by parent and packages. */
export function findImage(images: Image[], name: string | undefined, derive?: { parent: string; packages: string[] }): Image | undefined {
  if (name !== undefined) return images.find((i) => i.name === name);
  return images.find((i) => derive !== undefined && i.parent === derive.parent && i.packages.join("\n") === derive.packages.join("\n"));
}

/** Image build with a spinner showing the latest progress line on a terminal, plain progress lines otherwise. */
export async function buildImageWithProgress(
  ctx: CliContext,
  runta: RuntaApi,
  nameArg: string | undefined,
  force: boolean,
  derive?: { packages: string[]; parent?: string },
): Promise<Image> {
  let name = nameArg ?? `with ${derive?.packages.join(" ")}`;
  const progress = await spinner(ctx, `building image ${name}…`, { plainLines: true });
  try {
    const build = runta.images.build(nameArg, {
      force,
      packages: derive?.packages,
      parent: derive?.parent,
      onEvent: (ev) => {
        if (ev.type === "progress") {
          const pct = ev.percent === undefined ? "" : `${Math.round(ev.percent)}% `;
          progress.update(`building image ${name}: ${pct}${ev.message}`);
        }
      },
    });
    const image = await untilInterrupted(
      ctx,
      build,
      () => ctx.io.stderr.write(`runta: interrupted — the daemon goes on building image ${name}; runta image ls lists it once built\n`),
      progress,
    );
    name = image.name;
    progress.succeed(`image ${name} built (${humanBytes(image.size_bytes)})`);
    return image;
  } catch (err) {
    if (!(err instanceof StatusError)) progress.fail(`building image ${name} failed`);
    throw err;
  }
}

/** Imports a tarball from a file or stdin. */
export async function runImageImport(ctx: CliContext, name: string, tarball: string): Promise<void> {
  // Open the file before talking to the daemon so a typo fails fast, as a usage error.
  let source: NodeJS.ReadableStream = ctx.io.stdin;
  if (tarball === "-" && ctx.io.stdin.isTTY === true) {
    throw new UsageError(`- reads the tarball from stdin, which is a terminal — pipe it in (docker export $(docker create alpine) | runta image import ${name} -) or give a path`);
  }
  if (tarball !== "-") {
    try {
      // fs.promises on first use: loading node:fs/promises (and the readline it pulls in) costs every command.
      source = (await fs.promises.open(tarball)).createReadStream();
    } catch (err) {
      throw new UsageError(`cannot read ${tarball}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message} — give a tarball path or - for stdin`);
    }
  }
  const runta = await ctx.client();
  const progress = await spinner(ctx, `importing image ${name}…`);
  try {
    const image = await runta.images.import(name, source);
    progress.succeed(`image ${name} imported (${humanBytes(image.size_bytes)})`);
    // The person importing decides what to trust, so they hear what the daemon's log says about its runc.
    const warning = runcTrustWarning((await runta.version().catch(() => null))?.runc ?? "");
    if (warning) ctx.io.stderr.write(`runta: warning: ${warning}\n`);
    if (ctx.json) printJson(ctx, image);
    else ctx.io.stdout.write(`${image.name}\n`);
  } catch (err) {
    progress.fail();
    throw err;
  }
}

/** Removes images, each independently. */
export async function runImageRm(ctx: CliContext, names: string[]): Promise<void> {
  const runta = await ctx.client();
  await forEachTarget(ctx, names, (n) => runta.images.remove(n));
}
