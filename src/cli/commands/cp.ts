import * as fs from "node:fs";
import { basename, dirname, posix, resolve } from "node:path";
import { Transform, type Readable } from "node:stream";
import { Command } from "commander";
import { RuntaError } from "../../api/errors.js";
import type { FileStat } from "../../api/files.js";
import type { CliContext } from "../context.js";
import { UsageError } from "../errors.js";
import { humanBytes } from "../output.js";
import { withRuntime } from "../targets.js";

/** Flags of `runta cp`. */
export interface CpOptions {
  archive?: boolean;
}

/** One side of a copy: a local path, `-` (a tar stream on stdin/stdout), or a path inside a runtime. */
type Side = { kind: "local"; path: string } | { kind: "stdio" } | { kind: "runtime"; runtime: string; path: string };

/**
 * Parses `worker:/tmp/x` as a runtime path, as docker does: a local path with a ':' in it is written `./a:b` (or
 * absolute), so anything starting with '/' or '.' is local.
 */
export function parseSide(arg: string): Side {
  if (arg === "-") return { kind: "stdio" };
  const colon = arg.indexOf(":");
  if (arg.startsWith("/") || arg.startsWith(".") || colon <= 0) return { kind: "local", path: arg };
  const path = arg.slice(colon + 1);
  if (!path.startsWith("/")) throw new UsageError(`"${arg}": the path inside the runtime must be absolute, e.g. ${arg.slice(0, colon)}:/${path}`);
  return { kind: "runtime", runtime: arg.slice(0, colon), path };
}

/** `runta cp`: files between this machine and a runtime. */
export function cpCommand(ctx: CliContext): Command {
  return new Command("cp")
    .description("Copy files or directories between this machine and a runtime (running, paused or shut down)")
    .argument("<src>", "local path, RUNTIME:/path, or - for a tar stream on stdin")
    .argument("<dest>", "local path, RUNTIME:/path, or - for a tar stream on stdout")
    .option("-a, --archive", "keep the owners (uid/gid) of copied files instead of making root (copy in) or you (copy out) own them")
    .addHelpText(
      "after",
      `
Paths inside a runtime are resolved within its root: symlinks there never lead to this machine's files.
Into an existing directory the source keeps its name; otherwise it is created under the destination's name.

Examples:
  runta cp ./app.py worker:/tmp/app.py
  runta cp ./src worker:/srv            # makes /srv/src
  runta cp worker:/etc/os-release ./os-release
  tar -C ./src -c . | runta cp - worker:/tmp
  runta cp worker:/etc - | tar -t`,
    )
    .action((src: string, dest: string, opts: CpOptions) => runCp(ctx, src, dest, opts));
}

/** Counts bytes going through (a Transform for uploads, `count` for downloads) and shows them on a terminal after a second. */
function progress(ctx: CliContext, label: string): { meter: Transform; count(it: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array>; done(): void } {
  let bytes = 0;
  const started = Date.now();
  let shown = false;
  const timer = ctx.decorate
    ? setInterval(() => {
        if (Date.now() - started < 1000) return;
        shown = true;
        ctx.io.stderr.write(`\r${label}: ${humanBytes(bytes)}\x1b[K`);
      }, 250)
    : undefined;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      cb(null, chunk);
    },
  });
  return {
    meter,
    async *count(it) {
      for await (const chunk of it) {
        bytes += chunk.length;
        yield chunk;
      }
    },
    done() {
      if (timer) clearInterval(timer);
      if (shown) ctx.io.stderr.write(`\r${label}: ${humanBytes(bytes)}, done\x1b[K\n`);
    },
  };
}

/** Copies in one direction, as the two sides say. */
export async function runCp(ctx: CliContext, srcArg: string, destArg: string, opts: CpOptions): Promise<void> {
  const src = parseSide(srcArg);
  const dest = parseSide(destArg);
  if (src.kind === "runtime" && dest.kind !== "runtime") return copyOut(ctx, src, dest, opts);
  if (dest.kind === "runtime" && src.kind !== "runtime") return copyIn(ctx, src, dest, opts);
  if (src.kind === "runtime") throw new UsageError("copying between two runtimes is not supported; copy to this machine first, or use a tar pipe: runta cp a:/p - | runta cp - b:/dir");
  throw new UsageError(`one side must be a runtime path (RUNTIME:/path); got "${srcArg}" and "${destArg}"`);
}

/** What is at a path in a runtime, or null when nothing is. */
async function remoteStat(ctx: CliContext, runtime: string, path: string): Promise<FileStat | null> {
  const runta = await ctx.client();
  try {
    return await withRuntime(runta, runtime, (rt) => runta.runtimes.files(rt).stat(path));
  } catch (err) {
    // A missing runtime is an error; a missing path is an answer.
    const e = err as { code?: string; details?: Record<string, unknown> };
    if (e.code === "not_found" && e.details?.runtime === undefined) return null;
    throw err;
  }
}

async function copyIn(ctx: CliContext, src: Side, dest: Extract<Side, { kind: "runtime" }>, opts: CpOptions): Promise<void> {
  const runta = await ctx.client();
  const files = (rt: string) => runta.runtimes.files(rt);
  if (src.kind === "stdio") {
    // A tar stream goes into a directory, as `docker cp -` does.
    await withRuntime(runta, dest.runtime, (rt) => files(rt).upload(dest.path, ctx.io.stdin as Readable, { keepOwner: opts.archive }));
    return;
  }
  if (src.kind !== "local") return;
  // fs.promises on first use: loading node:fs/promises (and the readline it pulls in) costs every command.
  const local = await fs.promises.lstat(src.path).catch(() => {
    throw new RuntaError("not_found", `${src.path}: no such file or directory`);
  });
  const there = await remoteStat(ctx, dest.runtime, dest.path);
  let dir: string;
  let topName: string;
  if (there?.type === "directory") {
    dir = dest.path;
    topName = basename(resolve(src.path));
  } else {
    if (dest.path.endsWith("/")) throw new RuntaError("not_found", `${dest.runtime}:${dest.path}: the directory does not exist`);
    if (there && local.isDirectory()) throw new RuntaError("invalid_argument", `cannot copy the directory ${src.path} onto the file ${dest.runtime}:${dest.path}`);
    dir = posix.dirname(dest.path);
    topName = posix.basename(dest.path);
  }
  const { packLocal } = await import("../cp/local-tar.js");
  const meter = progress(ctx, `copying ${src.path} to ${dest.runtime}:${dest.path}`);
  try {
    const archive = packLocal(src.path, topName);
    archive.on("error", (err) => meter.meter.destroy(err));
    await withRuntime(runta, dest.runtime, (rt) => files(rt).upload(dir, archive.pipe(meter.meter), { keepOwner: opts.archive }));
  } finally {
    meter.done();
  }
}

async function copyOut(ctx: CliContext, src: Extract<Side, { kind: "runtime" }>, dest: Side, opts: CpOptions): Promise<void> {
  const runta = await ctx.client();
  const there = await remoteStat(ctx, src.runtime, src.path);
  if (!there) throw new RuntaError("not_found", `${src.runtime}:${src.path}: no such file or directory in the runtime`);
  const download = () => withRuntime(runta, src.runtime, (rt) => runta.runtimes.files(rt).download(src.path));
  if (dest.kind === "stdio") {
    const out = ctx.io.stdout;
    for await (const chunk of await download()) {
      if (!out.write(chunk)) await new Promise((r) => out.once("drain", r));
    }
    return;
  }
  if (dest.kind !== "local") return;
  const here = await fs.promises.stat(dest.path).catch(() => null);
  let dir: string;
  let rename: string | undefined;
  if (here?.isDirectory()) {
    dir = dest.path;
  } else {
    if (dest.path.endsWith("/")) throw new RuntaError("not_found", `${dest.path}: the directory does not exist`);
    if (here && there.type === "directory") throw new RuntaError("invalid_argument", `cannot copy the directory ${src.runtime}:${src.path} onto the file ${dest.path}`);
    dir = dirname(resolve(dest.path));
    if (!(await fs.promises.stat(dir).catch(() => null))?.isDirectory()) throw new RuntaError("not_found", `${dirname(dest.path)}: the directory does not exist`);
    rename = basename(resolve(dest.path));
  }
  const { unpackLocal } = await import("../cp/local-tar.js");
  const meter = progress(ctx, `copying ${src.runtime}:${src.path} to ${dest.path}`);
  try {
    await unpackLocal(meter.count(await download()), dir, { rename, keepOwner: opts.archive });
  } catch (err) {
    if (err instanceof RuntaError || (err as { code?: unknown }).code) throw err;
    throw new RuntaError("unavailable", `the copy of ${src.runtime}:${src.path} broke off: ${(err as Error).message}`);
  } finally {
    meter.done();
  }
}
