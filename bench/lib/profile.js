/**
 * Reading V8 CPU profiles (`node --cpu-prof`) into a short answer to "where does the time go": self time per
 * function and per origin (node internals, each npm package, each runta module).
 */
import { readFileSync } from "node:fs";

/**
 * The origin of a call frame's script: `npm:<package>`, `runta:<dist path>`, `node:<module>`, or a V8 pseudo-frame.
 * @param {string} url
 */
export function origin(url) {
  if (!url) return "(native / V8)";
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return `npm:${nm[1]}`;
  const dist = /\/dist\/(.+)$/.exec(url);
  if (dist) return `runta:${dist[1]}`;
  if (url.startsWith("node:")) return url.replace(/^node:internal\/deps\/([^/]+).*/, "node:$1 (bundled)").replace(/^(node:internal\/[^/]+).*/, "$1");
  return url.replace(/^file:\/\//, "");
}

/**
 * Self time in ms per function and per origin, biggest first.
 * @param {{nodes: {id:number, callFrame:{functionName:string, url:string, lineNumber:number}}[], samples:number[], timeDeltas:number[], startTime:number, endTime:number}} profile
 * @param {number} [top]
 */
export function summarizeProfile(profile, top = 10) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  /** @type {Map<string, number>} */
  const fns = new Map();
  /** @type {Map<string, number>} */
  const origins = new Map();
  profile.samples.forEach((id, i) => {
    const n = byId.get(id);
    if (!n) return;
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    const { functionName, url, lineNumber } = n.callFrame;
    const fn = `${functionName || "(anonymous)"} ${origin(url)}${url ? `:${lineNumber + 1}` : ""}`;
    fns.set(fn, (fns.get(fn) ?? 0) + ms);
    const o = functionName === "(idle)" ? "(idle: waiting on I/O)" : functionName === "(garbage collector)" ? "(garbage collector)" : origin(url);
    origins.set(o, (origins.get(o) ?? 0) + ms);
  });
  const sorted = (/** @type {Map<string, number>} */ m) =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, top).map(([name, ms]) => ({ name, ms: Math.round(ms * 10) / 10 }));
  return { total_ms: Math.round((profile.endTime - profile.startTime) / 100) / 10, functions: sorted(fns), origins: sorted(origins) };
}

/** @param {string} file */
export function summarizeProfileFile(file, top = 10) {
  return summarizeProfile(JSON.parse(readFileSync(file, "utf8")), top);
}

/** Text lines for the report. @param {string} title @param {ReturnType<typeof summarizeProfile>} s */
export function renderProfile(title, s) {
  return [
    `${title} (profile ${s.total_ms} ms)`,
    `  by origin:   ${s.origins.map((o) => `${o.name} ${o.ms}`).join(", ")}`,
    `  by function: ${s.functions.slice(0, 6).map((f) => `${f.name} ${f.ms}`).join(", ")}`,
  ].join("\n");
}
