/**
 * Whether a runc release has the fixes for the container-escape bugs a hostile image can reach. The engine logs the
 * warning on every import; the CLI prints it too, because the person importing is the one who must decide.
 */

/** runc releases that carry the fixes: 1.2.8+, 1.3.3+, 1.4.0+ (CVE-2024-21626 was fixed earlier, in 1.1.12). */
function hasEscapeFixes(major: number, minor: number, patch: number): boolean {
  if (major !== 1) return major > 1;
  return minor >= 4 || (minor === 3 && patch >= 3) || (minor === 2 && patch >= 8);
}

/** The warning for runc `version` (e.g. "1.1.5+ds1"), or null when that runc has the fixes or its version is unknown. */
export function runcTrustWarning(version: string): string | null {
  const m = /^(\d+)\.(\d+)\.(\d+)/.exec(version.trim());
  if (!m) return null;
  const [major, minor, patch] = m.slice(1).map(Number) as [number, number, number];
  if (hasEscapeFixes(major, minor, patch)) return null;
  const old = major === 1 && (minor < 1 || (minor === 1 && patch < 12));
  return (
    `runc ${version} on this host lacks fixes for container-escape bugs a hostile image can reach ` +
    `(${old ? "CVE-2024-21626, fixed in runc 1.1.12; " : ""}CVE-2025-31133, CVE-2025-52565, CVE-2025-52881, fixed in 1.2.8/1.3.3): ` +
    "only import and run images you trust"
  );
}
