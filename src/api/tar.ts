/**
 * The one check of a tar member's name, applied by the daemon (files into a runtime) and the CLI (files out of one).
 * Free of zod, so the CLI can load it cheaply.
 */

/**
 * Checks a tar member's name and returns its components: relative, no `..`, no NUL. A leading `./` is fine (tar -C
 * dir . makes those). Absolute names are refused rather than silently re-rooted, so an archive made for the host's
 * `/` is noticed instead of landing somewhere unexpected. Throws an Error naming the member.
 */
export function tarMemberParts(name: string): string[] {
  if (name.includes("\0")) throw new Error(`tar member ${JSON.stringify(name)} contains NUL`);
  if (name.startsWith("/")) throw new Error(`tar member ${JSON.stringify(name)} has an absolute name; archive relative paths (tar -C dir -c .)`);
  const parts = name.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) throw new Error(`tar member ${JSON.stringify(name)} contains '..'; archives may not reach outside their target`);
  return parts;
}
