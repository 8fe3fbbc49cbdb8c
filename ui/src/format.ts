/** Small formatting helpers shared by the views (docker-ps style: short ids, relative ages, binary units). */

/** First 12 characters of an id, as `docker ps` shows them. */
export const shortId = (id: string) => id.slice(0, 12);

/** "3s", "5m", "2h", "4d" since `iso` (at `now`). */
export function age(iso: string | null, now: number): string {
  if (!iso) return "—";
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** Bytes in KiB/MiB/GiB, one decimal below 10. */
export function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n < 10 && i > 0 ? n.toFixed(1).replace(/\.0$/, "") : Math.round(n)} ${units[i]}`;
}

/** MiB as the CLI shows memory limits ("512 MiB", "2 GiB"). */
export const mib = (m: number) => bytes(m * 1024 * 1024);

/** Labels as `k=v` pairs, sorted. */
export const labelPairs = (labels: Record<string, string>) =>
  Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`);

/** Parses `KEY=value` lines (env, labels); blank lines are skipped. Throws with the line number on a bad line. */
export function parsePairs(text: string, what: string): Record<string, string> {
  const out: Record<string, string> = {};
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    const eq = line.indexOf("=");
    if (eq <= 0) throw new Error(`${what}, line ${i + 1}: write KEY=value (got '${line}')`);
    out[line.slice(0, eq)] = line.slice(eq + 1);
  });
  return out;
}
