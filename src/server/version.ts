import { readFileSync } from "node:fs";

let cached: string | undefined;

/** runta's own version, from package.json (two levels up from both src/server and dist/server). */
export function runtaVersion(): string {
  cached ??= (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;
  return cached;
}
