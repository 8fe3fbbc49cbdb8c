/**
 * The builder of the default image: Debian bookworm minbase plus a few packages, made by debootstrap from the host's
 * Debian mirror, with its output turned into progress events and the result cleaned of host-specific files.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { RuntaError, errors, type ImageBuildEvent } from "../../api/index.js";
import { unmountUnder } from "../mounts.js";
import { HOSTS_FILE, ensureBaseDirs, nearlyFull, noSpace } from "./files.js";

/**
 * Debian release and packages of the default image: what agents and scripts reach for first (python with pip and
 * venv, curl, git, jq, less, xz, flock/setsid from util-linux) on top of minbase.
 */
export const DEFAULT_IMAGE_SUITE = "bookworm";
export const DEFAULT_IMAGE_PACKAGES = [
  "python3",
  "python3-pip",
  "python3-venv",
  "ca-certificates",
  "procps",
  "bash",
  "curl",
  "git",
  "jq",
  "less",
  "xz-utils",
  "util-linux",
] as const;

/** Where the default image comes from, for its `source`. */
export function debootstrapSource(mirror: string): string {
  return `debootstrap ${DEFAULT_IMAGE_SUITE} minbase + ${DEFAULT_IMAGE_PACKAGES.join(",")} from ${mirror}`;
}

/** Builds the default image's root filesystem into `rootfs` (which must not exist yet), reporting progress. */
export async function debootstrapRootfs(rootfs: string, mirror: string, name: string, emit: (ev: ImageBuildEvent) => void): Promise<void> {
  emit({ type: "progress", message: `building image '${name}': debootstrap ${DEFAULT_IMAGE_SUITE} (minbase + ${DEFAULT_IMAGE_PACKAGES.join(", ")}) from ${mirror}`, percent: 0 });
  await runDebootstrap(rootfs, mirror, emit);
  emit({ type: "progress", message: "cleaning apt caches and host-specific files", percent: 96 });
  await finishDefaultRootfs(rootfs);
}

/**
 * Turns debootstrap's output lines into progress events with a rough, never decreasing percent.
 * debootstrap does not print its package count up front, so the download phase is measured against an expected
 * count (≈ 150 packages for the default image); later phases count against the packages actually downloaded.
 */
export class DebootstrapProgress {
  private retrieved = 0;
  private extracted = 0;
  private unpacked = 0;
  private configured = 0;
  private last = 0;
  /** Error (`E:`) lines seen, for the failure message. */
  readonly errorLines: string[] = [];

  constructor(private readonly expectedPackages = 150) {}

  /** The event for one output line, or undefined for lines not worth reporting. */
  feed(rawLine: string): { message: string; percent: number } | undefined {
    const line = rawLine.trim();
    if (!line) return undefined;
    const [tag, rest] = [line.slice(0, 2), line.slice(2).trim()];
    if (tag === "E:") {
      this.errorLines.push(rest);
      return this.event(`error: ${rest}`);
    }
    if (tag === "W:") return this.event(`warning: ${rest}`);
    if (tag !== "I:") return undefined;
    let m: RegExpExecArray | null;
    if ((m = /^Retrieving (\S+)(?:\s+(\S+))?$/.exec(rest))) {
      if (m[1] === "InRelease" || m[1] === "Release" || m[1] === "Packages") return this.event(`downloading the ${m[1]} index`);
      this.retrieved++;
      return this.event(`downloading ${m[1]}${m[2] ? ` ${m[2]}` : ""} (${this.retrieved})`);
    }
    if (/^Validating /.test(rest)) return undefined;
    if ((m = /^Extracting (\S+?)\.\.\.$/.exec(rest))) {
      this.extracted++;
      return this.event(`extracting ${m[1]}`);
    }
    // Phase lines ("Unpacking required packages...") have spaces, so these only match one package each.
    if ((m = /^Unpacking (\S+?)\.\.\.$/.exec(rest))) {
      this.unpacked++;
      return this.event(`unpacking ${m[1]}`);
    }
    if ((m = /^Configuring (\S+?)\.\.\.$/.exec(rest))) {
      this.configured++;
      return this.event(`configuring ${m[1]}`);
    }
    if (/^Base system installed successfully/.test(rest)) {
      this.last = Math.max(this.last, 95);
      return this.event("base system installed");
    }
    return this.event(rest.replace(/\.\.\.$/, ""));
  }

  /** The current estimate, 0-95 (the last 5 % are runta's own finishing steps). */
  percent(): number {
    const downloading = this.extracted + this.unpacked + this.configured === 0;
    const total = Math.max(1, downloading ? Math.max(this.expectedPackages, this.retrieved) : this.retrieved);
    // Rough weights of the phases in wall time: download 30 %, extract 10 %, unpack 25 %, configure 30 %.
    const raw =
      30 * Math.min(1, this.retrieved / total) +
      10 * Math.min(1, this.extracted / total) +
      25 * Math.min(1, this.unpacked / total) +
      30 * Math.min(1, this.configured / total);
    this.last = Math.max(this.last, Math.min(95, Math.floor(raw)));
    return this.last;
  }

  private event(message: string): { message: string; percent: number } {
    return { message, percent: this.percent() };
  }
}

/** Refuses a build on a host without debootstrap, with the fix. */
export async function ensureDebootstrap(): Promise<void> {
  for (const p of ["/usr/sbin/debootstrap", "/sbin/debootstrap", "/usr/bin/debootstrap"]) if (existsSync(p)) return;
  throw errors.precondition("debootstrap was not found; install it with 'apt-get install debootstrap' and retry");
}

/** Runs debootstrap into `rootfs`, turning its output into progress events; its own error lines make the failure message. */
async function runDebootstrap(rootfs: string, mirror: string, emit: (ev: ImageBuildEvent) => void): Promise<void> {
  const args = [
    "--variant=minbase",
    `--include=${DEFAULT_IMAGE_PACKAGES.join(",")}`,
    DEFAULT_IMAGE_SUITE,
    rootfs,
    mirror,
  ];
  const child = spawn("debootstrap", args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LANG: "C.UTF-8", DEBIAN_FRONTEND: "noninteractive" },
  });
  const progress = new DebootstrapProgress();
  const tail: string[] = [];
  const onLine = (line: string) => {
    tail.push(line);
    if (tail.length > 20) tail.shift();
    const ev = progress.feed(line);
    if (ev) emit({ type: "progress", ...ev });
  };
  createInterface({ input: child.stdout }).on("line", onLine);
  createInterface({ input: child.stderr }).on("line", onLine);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (c, s) => resolve([c, s]));
  });
  if (code === 0) return;
  // debootstrap mounts /proc and /sys into the target while it works; a failure can leave them behind.
  await unmountUnder(rootfs);
  const why = progress.errorLines.length > 0 ? progress.errorLines.join("; ") : tail.filter(Boolean).slice(-5).join(" | ");
  if (/No space left on device/i.test(tail.join("\n")) || (await nearlyFull(rootfs))) throw noSpace("building the default image");
  throw new RuntaError(
    "unavailable",
    `debootstrap failed (${signal ? `signal ${signal}` : `exit ${code}`}) while building the default image from ${mirror}: ${why}. ` +
      "Check that the mirror is reachable (apt sources in /etc/apt) and retry",
  );
}

/** Makes a fresh debootstrap independent of the build host and small: caches out, host name and DNS out. */
async function finishDefaultRootfs(rootfs: string): Promise<void> {
  await unmountUnder(rootfs);
  await emptyDir(join(rootfs, "var", "cache", "apt", "archives"), (f) => f.endsWith(".deb"));
  await emptyDir(join(rootfs, "var", "cache", "apt"), (f) => f.endsWith(".bin"));
  await emptyDir(join(rootfs, "var", "lib", "apt", "lists"), (f) => f !== "partial" && f !== "lock");
  await rm(join(rootfs, "debootstrap"), { recursive: true, force: true });
  // debootstrap copies the build host's name and DNS servers in; neither belongs in an image shared by runtimes.
  await writeFile(join(rootfs, "etc", "hostname"), "runtime\n");
  await rm(join(rootfs, "etc", "resolv.conf"), { force: true });
  await writeFile(join(rootfs, "etc", "resolv.conf"), "# runta: runtimes have no outside network yet; the engine replaces this file when they do\n");
  await writeFile(join(rootfs, "etc", "hosts"), HOSTS_FILE);
  await slim(rootfs);
  await ensureBaseDirs(rootfs);
}

/**
 * Paths dpkg leaves out, as in Debian's "slim" container images: manuals, docs (but the copyright files) and
 * translations, about 70 MB of the default image that nobody reads inside a runtime. The same rules go into
 * /etc/dpkg/dpkg.cfg.d so packages installed later in a runtime follow them.
 */
const SLIM_RULES = [
  "path-exclude /usr/share/doc/*",
  "path-include /usr/share/doc/*/copyright",
  "path-exclude /usr/share/man/*",
  "path-exclude /usr/share/info/*",
  "path-exclude /usr/share/locale/*",
  "path-include /usr/share/locale/locale.alias",
];

async function slim(rootfs: string): Promise<void> {
  await mkdir(join(rootfs, "etc", "dpkg", "dpkg.cfg.d"), { recursive: true });
  await writeFile(join(rootfs, "etc", "dpkg", "dpkg.cfg.d", "runta-slim"), `# runta: leave docs, manuals and translations out (Debian slim images do the same)\n${SLIM_RULES.join("\n")}\n`);
  const share = join(rootfs, "usr", "share");
  await emptyDir(join(share, "man"), () => true);
  await emptyDir(join(share, "info"), () => true);
  await emptyDir(join(share, "locale"), (f) => f !== "locale.alias");
  for (const pkg of await readdir(join(share, "doc")).catch(() => [])) {
    await emptyDir(join(share, "doc", pkg), (f) => f !== "copyright");
  }
}

/** Removes the entries of `dir` that `remove` picks (a missing dir is fine). */
async function emptyDir(dir: string, remove: (file: string) => boolean): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return;
  }
  for (const f of entries) if (remove(f)) await rm(join(dir, f), { recursive: true, force: true });
}

