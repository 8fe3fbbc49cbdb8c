import { RuntaError } from "../api/errors.js";
import type { RuntaApi } from "../client/contract.js";
import type { CliContext } from "./context.js";
import { MultiTargetError, UsageError } from "./errors.js";
import { escapeControl } from "./output.js";

/**
 * Runs one action per runtime, in order: prints each target as given on success (like docker), keeps going
 * past failures and throws them together at the end so main prints each one and exits 1.
 */
export async function forEachTarget<R>(
  ctx: CliContext,
  targets: string[],
  act: (target: string) => Promise<R>,
  print: (target: string, result: R) => string | undefined = (t) => t,
): Promise<R[]> {
  const failures: { target: string; error: unknown }[] = [];
  const results: R[] = [];
  for (const target of targets) {
    try {
      const result = await act(target);
      results.push(result);
      const line = print(target, result);
      if (line !== undefined) ctx.io.stdout.write(`${escapeControl(line)}\n`);
    } catch (error) {
      failures.push({ target, error });
    }
  }
  if (failures.length > 0) throw new MultiTargetError(failures);
  return results;
}

/**
 * Runs `act` on a runtime named by name, full id, or a unique id prefix as `ps` shows it on a terminal
 * (12 hex characters, dashes dropped). The daemon knows names and full ids; only on its not_found does the CLI
 * look for a prefix match, so names always win and nothing runs twice.
 */
export async function withRuntime<R>(runta: RuntaApi, target: string, act: (nameOrId: string) => Promise<R>): Promise<R> {
  // An empty name (an unset shell variable, say) would address the collection route instead of a runtime.
  if (target.trim() === "") throw new UsageError(`runtime "${target}" is empty — give a runtime name or id (see runta ps -a)`);
  try {
    return await act(target);
  } catch (err) {
    const prefix = target.replace(/-/g, "").toLowerCase();
    if ((err as { code?: unknown }).code !== "not_found" || !/^[0-9a-f]{3,31}$/.test(prefix)) throw err;
    const matches = (await runta.runtimes.list()).filter((h) => h.id.replace(/-/g, "").startsWith(prefix));
    if (matches.length === 1) return act(matches[0]!.id);
    if (matches.length > 1) {
      throw new RuntaError(
        "invalid_argument",
        `"${target}" matches ${matches.length} runtimes (${matches.map((m) => m.name).join(", ")}) — give more characters of the id, or the name`,
      );
    }
    throw err;
  }
}
