/**
 * A runtime's env values as a digest: lets a client (`runta apply`) tell whether the values it holds are the ones the
 * runtime has, while the values themselves never leave the daemon (the API reports env names only). Salted with the
 * runtime id so equal values in two runtimes do not show as equal digests. No zod here: the CLI loads it cheaply.
 */
import { createHash } from "node:crypto";

/** sha256 (hex) of the runtime id and its `NAME=value` pairs in name order. */
export function envDigest(runtimeId: string, env: Record<string, string>): string {
  const h = createHash("sha256").update(runtimeId);
  for (const name of Object.keys(env).sort()) h.update(`\0${name}=${env[name]}`);
  return h.digest("hex");
}
