/**
 * Facts about the host the engine runs on: used to validate resource requests (cores, memory), to answer
 * `version`, to tell a daemon restart from a host reboot (boot id) and to pick the Debian mirror for image builds.
 */
import { execFile } from "node:child_process";
import { accessSync, constants as fsConstants, readFileSync, readdirSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { RuntaError } from "../api/index.js";

const execFileAsync = promisify(execFile);

/** Used when the host's apt configuration names no Debian archive. */
export const FALLBACK_DEBIAN_MIRROR = "http://deb.debian.org/debian";

let cachedCores: number | undefined;
let cachedMemoryMib: number | undefined;
let cachedBootId: string | undefined;
const runcVersions = new Map<string, Promise<string>>();

/** Number of CPUs the host offers (the upper bound of a runtime's vCPUs); cached. */
export function hostCores(): number {
  cachedCores ??= os.availableParallelism();
  return cachedCores;
}

/** Host memory in MiB, rounded down (the upper bound of a runtime's memory); cached. */
export function hostMemoryMib(): number {
  cachedMemoryMib ??= Math.floor(os.totalmem() / (1024 * 1024));
  return cachedMemoryMib;
}

/** The running kernel's release string, e.g. `6.1.0-18-cloud-amd64`. */
export function kernelVersion(): string {
  return os.release();
}

/** The kernel's boot id: it changes at every boot, so a stored value that differs means the host rebooted. Cached. */
export function bootId(): string {
  cachedBootId ??= readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  return cachedBootId;
}

/**
 * The version of the runc binary at `runcPath` (e.g. `1.1.5+ds1`); cached per path once it succeeded.
 * A missing or broken binary is `unavailable` with the fix.
 */
export function runcVersion(runcPath: string): Promise<string> {
  let pending = runcVersions.get(runcPath);
  if (!pending) {
    pending = readRuncVersion(runcPath);
    runcVersions.set(runcPath, pending);
    // Do not cache a failure: the operator may install runc while the daemon runs.
    pending.catch(() => runcVersions.delete(runcPath));
  }
  return pending;
}

async function readRuncVersion(runcPath: string): Promise<string> {
  let stdout: string;
  try {
    ({ stdout } = await execFileAsync(runcPath, ["--version"], { timeout: 10_000 }));
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    const why = e.code === "ENOENT" ? "was not found" : `failed: ${(e.stderr || e.message).trim()}`;
    throw new RuntaError("unavailable", `runc at ${runcPath} ${why}; install it with 'apt-get install runc' or set the runc path`, {
      cause: err,
    });
  }
  const match = /runc version (\S+)/.exec(stdout);
  if (!match) {
    throw new RuntaError("unavailable", `runc at ${runcPath} printed no version ('${stdout.trim().slice(0, 200)}'); is it really runc?`);
  }
  return match[1];
}

/**
 * The first Debian archive URI in one-line apt sources (`sources.list`, `*.list`):
 * `deb [options] URI suite components`. `deb-src` lines and the security archive are skipped.
 */
export function mirrorFromSourcesList(text: string): string | undefined {
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*/, "").trim();
    if (!line.startsWith("deb ") && !line.startsWith("deb\t")) continue;
    const words = line
      .slice(3)
      .replace(/\[[^\]]*\]/, " ")
      .trim()
      .split(/\s+/);
    const [uri, suite, ...components] = words;
    if (uri && isDebianArchive(uri, suite, components)) return stripSlash(uri);
  }
  return undefined;
}

/**
 * The first Debian archive URI in deb822 apt sources (`*.sources`): stanzas of `Field: value` lines separated by
 * blank lines. Stanzas that are disabled, only `deb-src`, or the security archive are skipped.
 */
export function mirrorFromDeb822(text: string): string | undefined {
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    let last: string | undefined;
    for (const raw of stanza.split("\n")) {
      if (raw.startsWith("#")) continue;
      if (/^\s/.test(raw) && last) {
        // Continuation line of a multi-line field.
        fields.set(last, `${fields.get(last)} ${raw.trim()}`);
        continue;
      }
      const m = /^([A-Za-z0-9-]+):\s*(.*)$/.exec(raw);
      if (m) {
        last = m[1].toLowerCase();
        fields.set(last, m[2].trim());
      }
    }
    const types = (fields.get("types") ?? "").split(/\s+/);
    if (!types.includes("deb")) continue;
    if ((fields.get("enabled") ?? "yes").toLowerCase() === "no") continue;
    const suite = (fields.get("suites") ?? "").split(/\s+/)[0];
    const components = (fields.get("components") ?? "").split(/\s+/);
    for (const uri of (fields.get("uris") ?? "").split(/\s+/)) {
      if (uri && isDebianArchive(uri, suite, components)) return stripSlash(uri);
    }
  }
  return undefined;
}

/**
 * The host's configured Debian mirror: the first Debian archive in `/etc/apt/sources.list`, then in
 * `/etc/apt/sources.list.d/*.list` and `*.sources` (in name order); {@link FALLBACK_DEBIAN_MIRROR} if none.
 */
export function debianMirror(aptDir = "/etc/apt"): string {
  const candidates: Array<{ path: string; parse: (t: string) => string | undefined }> = [
    { path: join(aptDir, "sources.list"), parse: mirrorFromSourcesList },
  ];
  let entries: string[] = [];
  try {
    entries = readdirSync(join(aptDir, "sources.list.d")).sort();
  } catch {
    // No sources.list.d: only sources.list counts.
  }
  for (const name of entries) {
    const path = join(aptDir, "sources.list.d", name);
    if (name.endsWith(".list")) candidates.push({ path, parse: mirrorFromSourcesList });
    else if (name.endsWith(".sources")) candidates.push({ path, parse: mirrorFromDeb822 });
  }
  for (const { path, parse } of candidates) {
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch {
      continue;
    }
    const found = parse(text);
    if (found) return found;
  }
  return FALLBACK_DEBIAN_MIRROR;
}

/** A URI that serves the main Debian archive (not the security archive, not a third-party repository). */
function isDebianArchive(uri: string, suite: string | undefined, components: string[]): boolean {
  if (!/^(https?|ftp|file):/.test(uri)) return false;
  // Third-party repositories (docker's `.../linux/debian bookworm stable`) carry no `main` component.
  if (!components.includes("main")) return false;
  if (/debian-security/.test(uri) || (suite ?? "").endsWith("-security") || (suite ?? "").endsWith("/updates")) return false;
  // Only URIs that look like a Debian archive: third-party repos (nodesource, docker, google) are no use to debootstrap.
  let host = "";
  try {
    host = new URL(uri).hostname;
  } catch {
    return false;
  }
  return /\/debian\/?$/.test(uri) || /debian/.test(host);
}

function stripSlash(uri: string): string {
  return uri.replace(/\/+$/, "");
}

/**
 * An absolute path for a program name, searched in PATH and then the sbin directories (where Debian puts runc and
 * which a non-login root shell may lack). Paths with a '/' and names not found are returned unchanged, so the
 * version check reports them with the fix. Absolute paths also keep child processes independent of their PATH.
 */
export function resolveExecutable(name: string): string {
  if (name.includes("/")) return name;
  const dirs = [...(process.env.PATH ?? "").split(":"), "/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/local/bin", "/usr/bin", "/bin"];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // Not here; try the next directory.
    }
  }
  return name;
}
