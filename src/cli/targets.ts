import type { CliContext } from "./context.js";
import { MultiTargetError } from "./errors.js";
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
