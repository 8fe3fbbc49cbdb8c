/** Flag value parsers shared by commands; bad values are usage errors (exit 2) that name the flag. */
import { UsageError } from "./errors.js";

/** Collects repeated `-e K=V` / `--label k=v` flags; `-e K` alone takes K from the local environment, like docker. */
export function collectKeyValue(flag: string, env?: NodeJS.ProcessEnv) {
  return (value: string, previous: Record<string, string> = {}): Record<string, string> => {
    const eq = value.indexOf("=");
    if (eq === 0) throw new UsageError(`${flag} "${value}": the name before "=" is empty — use ${flag} NAME=value`);
    if (eq < 0) {
      const local = env?.[value];
      if (env === undefined || local === undefined) {
        throw new UsageError(`${flag} "${value}" has no "=" — use ${flag} NAME=value${env ? " (or export it locally)" : ""}`);
      }
      return { ...previous, [value]: local };
    }
    return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
  };
}

/** A positive number flag (`--cpus 0.5`). */
export function positiveNumber(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === "" || !Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} must be a positive number, got "${value}"`);
    return n;
  };
}

/** A positive whole number flag (`--memory 2048`). */
export function positiveInt(flag: string, unit = "") {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n <= 0) {
      throw new UsageError(`${flag} must be a whole number${unit ? ` of ${unit}` : ""}, got "${value}"`);
    }
    return n;
  };
}
