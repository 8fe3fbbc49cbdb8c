import { readFile } from "node:fs/promises";
import { RuntaError } from "../../api/errors.js";
import type { CliContext } from "../context.js";
import { MultiTargetError, UsageError } from "../errors.js";
import { readAll } from "../io.js";
import { parseSandboxSet, type SandboxSet } from "./schema.js";

/** Reads and validates a SandboxSet from a path or `-` (stdin); every problem becomes its own error line. */
export async function loadSandboxSet(ctx: CliContext, path: string): Promise<{ set: SandboxSet; label: string }> {
  const label = path === "-" ? "<stdin>" : path;
  // On a terminal `-f -` would wait silently for typed JSON; that is almost always a forgotten pipe.
  if (path === "-" && ctx.io.stdin.isTTY === true) throw new UsageError("-f - reads stdin, which is a terminal — pipe the file in, or give its path with -f");
  let text: string;
  try {
    text = path === "-" ? (await readAll(ctx.io.stdin)).toString("utf8") : await readFile(path, "utf8");
  } catch (err) {
    // Like image import: a path that cannot be read is a usage error (exit 2), named with its errno.
    throw new UsageError(`cannot read ${label}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message} — check the path given to -f`);
  }
  const parsed = parseSandboxSet(text);
  if (!parsed.ok) {
    throw new MultiTargetError(
      parsed.problems.map((p) => ({
        target: `${label}#${p.pointer}`,
        error: new RuntaError("invalid_argument", `${label}#${p.pointer}: ${p.message}`, { details: { pointer: p.pointer } }),
      })),
    );
  }
  return { set: parsed.set, label };
}
