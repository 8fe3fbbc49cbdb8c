/** The fleet's filter: what the text box and the status menu keep. */
import type { Runtime } from "./api.js";

/** The statuses the default filter, "active", shows. */
export const ACTIVE = new Set<Runtime["status"]>(["running", "paused", "suspended", "creating"]);

/**
 * Whether a runtime matches every word of the filter: `key=value` and `key=` match labels exactly, other words match
 * the name (ignoring case) or an id prefix.
 */
export function matches(rt: Runtime, words: string[]): boolean {
  return words.every((w) => {
    const eq = w.indexOf("=");
    if (eq > 0) {
      const v = rt.labels[w.slice(0, eq)];
      return v !== undefined && (eq === w.length - 1 || v === w.slice(eq + 1));
    }
    return rt.name.toLowerCase().includes(w.toLowerCase()) || rt.id.startsWith(w.toLowerCase());
  });
}

/** Whether a runtime passes the status menu: "active", "all" or one status. */
export const statusMatches = (rt: Runtime, status: string) => status === "all" || (status === "active" ? ACTIVE.has(rt.status) : rt.status === status);
