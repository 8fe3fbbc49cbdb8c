/**
 * The python3 an image carries, for `image ls` and a create's `runtime_version`. Read from the image's files, never by
 * running its binaries on the host (an imported image is not trusted): `/usr/bin/python3` names the interpreter
 * (`python3.11`), and the dpkg database says which upstream version of that package is installed (`3.11.2-6+deb12u8`
 * → `3.11.2`). Without dpkg, the interpreter's name gives the minor version alone (`3.11`).
 */
import { existsSync } from "node:fs";
import { lstat, readFile, readlink } from "node:fs/promises";
import { join } from "node:path";

/** The upstream part of a Debian version: no epoch, no Debian revision, no `+dfsg`-style suffix. */
export function upstreamVersion(debianVersion: string): string {
  const noEpoch = debianVersion.replace(/^\d+:/, "");
  const dash = noEpoch.lastIndexOf("-");
  return (dash > 0 ? noEpoch.slice(0, dash) : noEpoch).replace(/[+~].*$/, "");
}

/** The installed version of `pkg` in a dpkg status file's text, or null. */
export function installedVersion(status: string, pkg: string): string | null {
  for (const para of status.split(/\n\n+/)) {
    if (!para.startsWith(`Package: ${pkg}\n`)) continue;
    if (!/^Status: .* installed$/m.test(para)) continue;
    const m = /^Version: (\S+)$/m.exec(para);
    if (m) return m[1]!;
  }
  return null;
}

/** The first of `layers` (top first, as overlayfs stacks them) that holds `path`, its full path; null if none does. */
async function topmost(layers: string[], path: string): Promise<string | null> {
  for (const dir of layers) {
    const full = join(dir, path);
    if (await lstat(full).then(() => true, () => false)) return full;
  }
  return null;
}

/**
 * The python3 version of the image made of `layers` (top first): "3.11.2", "3.11" when only the interpreter's name
 * says it, null without a python3.
 */
export async function pythonVersion(layers: string[]): Promise<string | null> {
  const link = await topmost(layers, "usr/bin/python3");
  if (!link) return null;
  const target = await readlink(link).catch(() => null);
  const minor = target ? /^(?:.*\/)?python(3\.\d+)$/.exec(target)?.[1] : undefined;
  if (!minor) return null;
  const status = await topmost(layers, "var/lib/dpkg/status");
  if (status && existsSync(status)) {
    const version = installedVersion(await readFile(status, "utf8"), `python${minor}`);
    if (version) return upstreamVersion(version);
  }
  return minor;
}
