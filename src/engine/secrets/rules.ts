/**
 * What a rule does to one request: whether its path pattern matches, and the header value it puts in. Pure, so the
 * proxy's interception (intercept.ts) and the unit tests share it.
 */
import { SECRET_PLACEHOLDER } from "../../api/secrets.js";

/** Whether a request target's path matches a rule's pattern (`*` matches anything, `/` included; the query is ignored). */
export function pathMatches(pattern: string, target: string): boolean {
  const path = target.split(/[?#]/, 1)[0] || "/";
  const re = new RegExp(`^${pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);
  return re.test(path);
}

/** The template with the placeholder replaced by the value (a function replacer: `$&` in a value stays literal). */
export function fillTemplate(template: string, value: string): string {
  return template.replace(SECRET_PLACEHOLDER, () => value);
}

/**
 * The raw header list (name, value, name, value, …) with each named header's value replaced (keys lowercase), whatever the runtime
 * sent (the stub included): every occurrence of the name goes, the rule's value is put where the first one was (or
 * at the end when the request had none).
 */
export function rewriteHeaders(raw: string[], replace: Map<string, { name: string; value: string }>): string[] {
  const out: string[] = [];
  const done = new Set<string>();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const key = raw[i]!.toLowerCase();
    const rule = replace.get(key);
    if (rule === undefined) out.push(raw[i]!, raw[i + 1]!);
    else if (!done.has(key)) {
      out.push(raw[i]!, rule.value);
      done.add(key);
    }
  }
  for (const [key, rule] of replace) if (!done.has(key)) out.push(rule.name, rule.value);
  return out;
}
