/**
 * Packages a runtime asks to find preinstalled (`runta run --package`, the create body's `packages`): Debian packages
 * as apt names them (`NAME` or `NAME=VERSION`) and Python packages as pip does (`pip:NAME` or `pip:NAME==VERSION`).
 * Seed 000 sends objects `{name, version, description}` naming Python packages (its example is mstrio-py); they are
 * taken as `pip:` entries. One normal form for all of them, so a set names one derived image whatever its spelling.
 * No zod here: the CLI checks `--package` with the same functions without loading it (the schema is in schemas.ts).
 */
/** At most this many packages in one set. */
export const PACKAGES_MAX = 64;

/** One package in normal form: `deb:` or `pip:`, the name (Debian's lowercase; pip's PEP 503 normalised), the version. */
export interface PackageRef {
  kind: "deb" | "pip";
  name: string;
  version: string | null;
}

/** Debian policy: lowercase letters, digits, `+`, `-`, `.`, at least two characters, starting alphanumeric. */
const DEB_NAME = /^[a-z0-9][a-z0-9+.-]+$/;
/** Debian versions: `[epoch:]upstream[-revision]`. */
const DEB_VERSION = /^[0-9A-Za-z.+~:-]{1,64}$/;
/** PEP 508 names. */
const PIP_NAME = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,98}[A-Za-z0-9])?$/;
/** PEP 440 versions (an exact pin only: `==` is the one operator taken). */
const PIP_VERSION = /^[0-9A-Za-z.+!_-]{1,64}$/;

const USAGE = "packages are Debian NAME or NAME=VERSION, or Python pip:NAME or pip:NAME==VERSION";

/** Parses one package as the CLI and the API take it; throws an Error whose message says what is wrong. */
export function parsePackage(text: string): PackageRef {
  const s = text.trim();
  if (s.startsWith("pip:")) {
    const [name, version, extra] = s.slice(4).split("==");
    if (extra !== undefined || !name || !PIP_NAME.test(name) || (version !== undefined && !PIP_VERSION.test(version))) {
      throw new Error(`${JSON.stringify(text)} is not a Python package: ${USAGE}`);
    }
    return { kind: "pip", name: name.toLowerCase().replace(/[-_.]+/g, "-"), version: version ?? null };
  }
  const [name, version, extra] = s.split("=");
  if (extra !== undefined || !name || !DEB_NAME.test(name) || (version !== undefined && !DEB_VERSION.test(version))) {
    throw new Error(`${JSON.stringify(text)} is not a Debian package: ${USAGE} (Debian names are lowercase)`);
  }
  return { kind: "deb", name, version: version ?? null };
}

/** The normal spelling of one package: `cowsay`, `cowsay=3.03+dfsg2-8`, `pip:requests`, `pip:requests==2.31.0`. */
export function formatPackage(p: PackageRef): string {
  if (p.kind === "pip") return `pip:${p.name}${p.version ? `==${p.version}` : ""}`;
  return `${p.name}${p.version ? `=${p.version}` : ""}`;
}

/**
 * A package set in normal form: parsed, deduplicated and sorted (Debian first, then pip), so equal sets spell the
 * same. One name asked with two versions is an error.
 */
export function normalizePackages(list: string[]): string[] {
  const byName = new Map<string, PackageRef>();
  for (const text of list) {
    const p = parsePackage(text);
    const key = `${p.kind}:${p.name}`;
    const seen = byName.get(key);
    if (seen && seen.version !== p.version) throw new Error(`${p.kind === "pip" ? "pip:" : ""}${p.name} is asked for twice with different versions; give it once`);
    byName.set(key, p);
  }
  if (byName.size > PACKAGES_MAX) throw new Error(`at most ${PACKAGES_MAX} packages in one set (got ${byName.size})`);
  return [...byName.values()].sort((a, b) => (a.kind === b.kind ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.kind === "deb" ? -1 : 1)).map(formatPackage);
}
