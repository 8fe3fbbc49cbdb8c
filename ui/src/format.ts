/** Small formatting and parsing helpers shared by the views (docker-ps style: short ids, relative ages, binary units). */
import { parseVolumeSpec } from "../../src/api/mount-path.js";
import type { Runtime } from "../../src/api/schemas.js";

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

/**
 * A runtime's disk as `runta ps` means its DISK column (the size given at create or resize, `disk_size_gib`), with
 * the bytes in use in front when usage was read: "12 MiB / 10 GiB", "10 GiB", or "—" for a runtime from before
 * per-runtime disks (no size of its own).
 */
export function disk(rt: { resources: { requests: { disk_size_gib?: number | null } }; usage?: { disk_used_bytes?: number } | null }): string {
  const gib = rt.resources.requests.disk_size_gib;
  if (!gib) return "—";
  const used = rt.usage?.disk_used_bytes;
  return `${used === undefined ? "" : `${bytes(used)} / `}${bytes(gib * 1024 ** 3)}`;
}

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

/** A runtime's idle state in one line (the `idle` object of the API), or "—" without an idle timeout. */
export function idleLine(rt: Pick<Runtime, "status" | "idle">, now: number): string {
  const idle = rt.idle;
  if (!idle) return "—";
  const t = `timeout ${idle.timeout_secs} s`;
  const last = idle.last_activity_at ? `, last activity ${age(idle.last_activity_at, now)} ago (${idle.last_activity})` : "";
  if (rt.status === "suspended") return `suspended while idle${last}; the next exec or request wakes it (${t})`;
  if (idle.awake_because) return `${t} · awake: ${idle.awake_because}`;
  if (idle.suspends_at) return `${t} · suspends in ${age(new Date(now).toISOString(), Date.parse(idle.suspends_at))} if nothing happens${last}`;
  return t;
}

/**
 * Parses volume mounts, one `NAME:/path[:ro]` a line as `runta run -v` takes them (the same reading, api/mount-path.ts),
 * into the API's `volumes`; blank lines are skipped. Throws with the line number on a bad line.
 */
export function parseVolumeLines(text: string): { volume: string; path: string; read_only: boolean }[] {
  return text
    .split("\n")
    .map((raw, i) => [raw.trim(), i + 1] as const)
    .filter(([line]) => line)
    .map(([line, n]) => {
      const spec = parseVolumeSpec(line);
      if ("problem" in spec) throw new Error(`volumes, line ${n}: ${spec.usage ? `write NAME:/path or NAME:/path:ro (got '${line}')` : spec.problem}`);
      return { volume: spec.volume, path: spec.path, read_only: spec.readOnly };
    });
}
