/**
 * Derived images: packages installed once per distinct set over a parent image, then reused by every create asking
 * for the same set. The install runs inside a **build runtime** — an ordinary runtime of the parent image, on the
 * runtime network, whose egress policy is an allowlist of the Debian mirror's host alone — so apt and pip run as
 * they would in any runtime and reach nothing else. When they succeed the build runtime is shut down, its writable
 * layer (the overlay's upper dir) is copied out as the image's one layer over its parent (as a checkpoint freezes a
 * layer, checkpoints/layers.ts), and the build runtime is deleted, whatever happened. It carries BUILD_LABEL, so
 * `runta ps` leaves it out (`--pooled` shows it), and a daemon that died mid-build removes it at its next start.
 *
 * Python packages (`pip:`) install with the parent's pip into the system Python (`--break-system-packages`, Debian's
 * PEP 668 marker otherwise refuses). The allowlist holds no package index: pip fails with its own message unless an
 * index is reachable some other way (none is by default).
 */
import { createHash } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { BUILD_LABEL, RuntaError, errors, parsePackage, type Image, type ImageBuildEvent, type Runtime } from "../../api/index.js";
import type { Logger } from "../../log.js";
import type { RuntimeRecord } from "../../store/record.js";
import { copyLayer } from "../checkpoints/layers.js";
import { INIT_PATH_IN_RUNTIME } from "../spec.js";
import type { CreateSpec, StreamProcess, StreamSpec } from "../types.js";
import { DEFAULT_IMAGE, type ImageStore } from "./store.js";
import { BROWSER_IMAGE, BROWSER_PACKAGES } from "../browser/browser.js";

/** The engine's verbs a build runtime needs. */
export interface BuildRuntimeHost {
  create(spec: CreateSpec): Promise<Runtime>;
  execStream(ref: string, spec: StreamSpec): Promise<StreamProcess>;
  stop(ref: string, opts?: { graceSecs?: number }): Promise<Runtime>;
  delete(ref: string): Promise<Runtime>;
  /** The host path of the runtime's writable layer. */
  upperDir(id: string): string;
}

/**
 * A build runtime left by a daemon that died mid-build (the build's client is gone with it): removed at the next
 * start, after the reconcile has put its record in line with what runs. Its half-installed layer was never copied
 * out, so removing the runtime removes all of it.
 */
export async function removeLeftoverBuilds(records: RuntimeRecord[], remove: (id: string) => Promise<unknown>, logger: Logger): Promise<void> {
  for (const rec of records) {
    if (rec.labels[BUILD_LABEL] === undefined) continue;
    logger.warn("removing a build runtime a previous daemon left (it died mid-build); the image builds again when asked", { id: rec.id, name: rec.name, image: rec.labels[BUILD_LABEL] });
    await remove(rec.id).catch((err: Error) => logger.error("could not remove a leftover build runtime", { id: rec.id, name: rec.name, error: err.message }));
  }
}

/** A step's time limit: apt-get update/install and pip of a large set (Chromium is ~100 MB) on a slow mirror. */
const STEP_TIMEOUT_SECS = 1800;

/** Files the daemon writes into every runtime at boot: not part of what the packages installed. */
const DAEMON_FILES = ["etc/hosts", "etc/hostname", "etc/resolv.conf", INIT_PATH_IN_RUNTIME.slice(1), "tmp", "root/.cache", "var/cache/apt", "var/lib/apt/lists"];

/**
 * The derived image's name: the parent's and a digest of the parent and the normalised set, so the same set over the
 * same parent always names the same image (`default-pkgs-3f1c…`).
 */
export function derivedImageName(parent: string, packages: string[]): string {
  const digest = createHash("sha256").update(`${parent}\n${packages.join("\n")}`).digest("hex").slice(0, 12);
  return `${parent.slice(0, 45)}-pkgs-${digest}`;
}

/** The shell steps that install a normalised package set, each with its share of the progress bar. */
export function installSteps(packages: string[]): { title: string; script: string; from: number; to: number }[] {
  const refs = packages.map(parsePackage);
  const deb = refs.filter((p) => p.kind === "deb").map((p) => (p.version ? `${p.name}=${p.version}` : p.name));
  const pip = refs.filter((p) => p.kind === "pip").map((p) => (p.version ? `${p.name}==${p.version}` : p.name));
  const steps: { title: string; script: string; from: number; to: number }[] = [];
  // Names are validated (packages.ts in api/): no quoting needed, but quote anyway so a future rule change cannot inject.
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  if (deb.length) {
    steps.push({ title: "apt-get update", script: "apt-get update -q", from: 10, to: 30 });
    steps.push({
      title: `apt-get install ${deb.join(" ")}`,
      script: `DEBIAN_FRONTEND=noninteractive apt-get install -q -y --no-install-recommends ${deb.map(q).join(" ")} && apt-get clean`,
      from: 30,
      to: pip.length ? 70 : 88,
    });
  }
  if (pip.length) {
    steps.push({
      title: `pip install ${pip.join(" ")}`,
      script: `python3 -m pip install --no-cache-dir --break-system-packages --disable-pip-version-check --retries 1 --timeout 20 ${pip.map(q).join(" ")}`,
      from: deb.length ? 70 : 10,
      to: 88,
    });
  }
  return steps;
}

/**
 * The error of a failed step, with the package manager's own words: its `E:` / `ERROR:` lines (else its last lines).
 * A package or version that does not exist is `invalid_argument`; a mirror or index that cannot be reached `unavailable`.
 */
export function stepFailure(title: string, code: number, output: string[]): RuntaError {
  const said = output.filter((l) => /^(E:|ERROR:)/.test(l));
  const words = (said.length ? said : output.slice(-8)).join("; ").slice(0, 1500) || `exit code ${code}`;
  const message = `${title} failed: ${words}`;
  // pip reports an index it cannot reach as a missing distribution, after warnings about the connection.
  if (title.startsWith("pip ") && output.some((l) => /NewConnectionError|Failed to establish a new connection|name resolution|ProxyError/.test(l))) {
    return errors.unavailable(
      `${message}. No Python package index is reachable from the build runtime (its egress allows only the Debian mirror); Python packages Debian ships install as Debian packages (e.g. python3-requests)`,
    );
  }
  if (/Unable to locate package|has no installation candidate|Version '.*' for '.*' was not found|No matching distribution found|Could not find a version that satisfies/.test(message)) {
    return errors.invalid(`${message}. Check the package names (Debian: apt-cache search NAME; Python: pip:NAME)`, { field: "packages" });
  }
  if (/Failed to fetch|Temporary failure resolving|Could not resolve|Could not connect|Unable to connect|No module named pip/.test(message)) {
    return errors.unavailable(message);
  }
  return errors.precondition(message);
}

/** The hosts of the `deb` lines of one-line apt sources (`deb [opts] http://host/path suite …`). */
export function sourcesHosts(text: string): string[] {
  const hosts: string[] = [];
  for (const raw of text.split("\n")) {
    const m = /^deb\s+(?:\[[^\]]*\]\s+)?(https?):\/\/([^/\s:]+)/.exec(raw.replace(/#.*/, "").trim());
    if (m && !hosts.includes(m[2]!.toLowerCase())) hosts.push(m[2]!.toLowerCase());
  }
  return hosts;
}

/**
 * The host names apt in the build runtime must reach: the host's configured mirror (the default image was built from
 * it) and those the parent's own /etc/apt/sources.list names (the topmost layer holding it is what the runtime sees).
 */
export async function mirrorHosts(hostMirror: string, parentLayers: string[]): Promise<string[]> {
  const hosts = new Set([new URL(hostMirror).hostname.toLowerCase()]);
  for (const dir of parentLayers) {
    const text = await readFile(join(dir, "etc/apt/sources.list"), "utf8").catch(() => null);
    if (text === null) continue;
    for (const h of sourcesHosts(text)) hosts.add(h);
    break;
  }
  return [...hosts];
}

/** Runs one step in the build runtime, each output line a progress event; resolves with the exit code and the last lines. */
async function runStep(host: BuildRuntimeHost, runtime: string, script: string, onLine: (line: string) => void): Promise<{ code: number; tail: string[] }> {
  const proc = await host.execStream(runtime, { argv: ["sh", "-c", script], tty: false, timeoutSecs: STEP_TIMEOUT_SECS, env: { LC_ALL: "C" } });
  const tail: string[] = [];
  const lines = (chunk: Buffer, rest: { s: string }) => {
    rest.s += chunk.toString("utf8");
    const parts = rest.s.split(/\r?\n|\r/);
    rest.s = parts.pop() ?? "";
    for (const raw of parts) {
      const line = raw.trim();
      if (!line) continue;
      tail.push(line);
      if (tail.length > 60) tail.shift();
      onLine(line);
    }
  };
  const out = { s: "" };
  const err = { s: "" };
  proc.onStdout((c) => lines(c, out));
  proc.onStderr((c) => lines(c, err));
  proc.closeStdin();
  const exit = await proc.wait();
  for (const rest of [out, err]) if (rest.s.trim()) lines(Buffer.from("\n"), rest);
  return { code: exit.code, tail };
}

/**
 * Installs `packages` over `parent` in a build runtime and writes the resulting layer to `layer` (which must not
 * exist). The build runtime is deleted on every path; on failure `layer` is not left behind either.
 */
export async function installPackages(
  host: BuildRuntimeHost,
  req: { image: string; parent: string; packages: string[]; allowHosts: string[] },
  layer: string,
  emit: (ev: ImageBuildEvent) => void,
): Promise<void> {
  emit({ type: "progress", message: `building image '${req.image}': ${req.packages.join(" ")} over '${req.parent}', in a build runtime that may reach ${req.allowHosts.join(", ")}`, percent: 2 });
  const rt = await host.create({
    image: req.parent,
    labels: { [BUILD_LABEL]: req.image },
    description: `builds image ${req.image}: ${req.packages.join(" ")}`,
    network: "nat",
    egress: { mode: "allowlist", allow: req.allowHosts },
  });
  try {
    for (const step of installSteps(req.packages)) {
      emit({ type: "progress", message: step.title, percent: step.from });
      let seen = 0;
      const { code, tail } = await runStep(host, rt.id, step.script, (line) => {
        // Creep towards the step's end; apt does not say how many lines are coming.
        seen++;
        emit({ type: "progress", message: line, percent: Math.min(step.to - 1, step.from + Math.floor((step.to - step.from) * (1 - 1 / (1 + seen / 40)))) });
      });
      if (code !== 0) throw stepFailure(step.title, code, tail);
    }
    emit({ type: "progress", message: "saving the installed files as the image's layer", percent: 90 });
    await host.stop(rt.id, { graceSecs: 2 });
    await copyLayer(host.upperDir(rt.id), layer);
    for (const path of DAEMON_FILES) await rm(join(layer, path), { recursive: true, force: true });
  } catch (err) {
    await rm(layer, { recursive: true, force: true });
    throw err;
  } finally {
    await host.delete(rt.id).catch(() => undefined);
  }
}

/** What an image build or a create asks for: a base image by name, or packages over a parent (named from the set unless `name`). */
export interface ImageRequest {
  name?: string;
  parent?: string;
  packages?: string[];
}

/**
 * The engine's image builds: the default image (debootstrap), derived images (packages over a parent, in a build
 * runtime), each parent built first when it is the missing default image.
 */
export class ImageBuilder {
  constructor(
    private readonly images: ImageStore,
    private readonly host: BuildRuntimeHost,
    private readonly opts: { mirror: () => string; logger: Logger },
  ) {}

  /** A named image with a known recipe (`runta image build browser`): packages over the default image. */
  private static preset(req: ImageRequest): ImageRequest {
    if (!req.packages?.length && req.name === BROWSER_IMAGE) return { name: BROWSER_IMAGE, parent: DEFAULT_IMAGE, packages: BROWSER_PACKAGES };
    return req;
  }

  /** The image name a request resolves to (a package set names its derived image). */
  static nameOf(req: ImageRequest): string {
    if (req.packages?.length) return req.name ?? derivedImageName(req.parent ?? DEFAULT_IMAGE, req.packages);
    return req.name ?? DEFAULT_IMAGE;
  }

  /**
   * Builds the image `req` names (rebuilds with `force`); an existing image is returned as is, a build of the same
   * name in progress is joined. A missing default parent is built first, its progress reported too.
   */
  async build(asked: ImageRequest, onEvent: (ev: ImageBuildEvent) => void, opts: { force?: boolean } = {}): Promise<Image> {
    const req = ImageBuilder.preset(asked);
    const name = ImageBuilder.nameOf(req);
    if (!req.packages?.length) return this.images.build(name, onEvent, opts);
    const parent = req.parent ?? DEFAULT_IMAGE;
    if (parent === DEFAULT_IMAGE && !this.images.exists(parent)) await this.images.build(DEFAULT_IMAGE, onEvent);
    const packages = req.packages;
    return this.images.build(name, onEvent, {
      force: opts.force,
      derive: {
        parent,
        packages,
        install: async (layer, emit) => {
          const allowHosts = await mirrorHosts(this.opts.mirror(), this.images.layers(parent));
          await installPackages(this.host, { image: name, parent, packages, allowHosts }, layer, emit);
        },
      },
    });
  }

  /** Makes sure the image a create stands on exists (building it, logging progress), before the runtime is provisioned. */
  async ensure(asked: ImageRequest, runtime: string): Promise<void> {
    const req = ImageBuilder.preset(asked);
    const name = ImageBuilder.nameOf(req);
    if (this.images.exists(name)) return;
    if (!req.packages?.length && name !== DEFAULT_IMAGE) return; // admission checked it; a race with image rm fails at mount
    this.opts.logger.info(`building image '${name}' first (once; later creates reuse it)`, { runtime, packages: req.packages });
    await this.build(req, (ev) => {
      if (ev.type === "progress") this.opts.logger.debug(`image ${name}: ${ev.message}`, { percent: ev.percent });
    });
  }
}
