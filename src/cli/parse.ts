/** Flag value parsers shared by commands; bad values are usage errors (exit 2) that name the flag. */
import { LIMITS } from "../api/limits.js";
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

/** A number flag within the API's bounds (`--cpus 0.5`, `--memory 2048`), so a bad value is a usage error naming the flag. */
export function boundedNumber(flag: string, bounds: { min: number; max: number; unit?: string; integer?: boolean; step?: number; minExclusive?: boolean }) {
  const { min, max, unit, integer, step, minExclusive } = bounds;
  const range = minExclusive ? `above ${min} and at most ${max}` : `between ${min} and ${max}`;
  const what = `${integer ? "a whole number" : "a number"}${unit ? ` of ${unit}` : ""} ${range}${step ? ` in steps of ${step}` : ""}`;
  return (value: string): number => {
    const n = Number(value);
    const ok =
      value.trim() !== "" &&
      Number.isFinite(n) &&
      (!integer || /^\s*\d+\s*$/.test(value)) &&
      (minExclusive ? n > min : n >= min) &&
      n <= max &&
      (!step || Math.abs(Math.round(n / step) * step - n) < 1e-9);
    if (!ok) throw new UsageError(`${flag} must be ${what}, got "${value}"`);
    return n;
  };
}

/** `--cpus`: vCPUs as the API accepts them (the host's core count is checked by the daemon). */
export const cpusFlag = boundedNumber("--cpus", { min: LIMITS.vcpusMin, max: LIMITS.vcpusMax, step: 0.01 });

/** `--memory`: whole MiB as the API accepts them (the host's memory is checked by the daemon). */
export const memoryFlag = boundedNumber("--memory", { min: LIMITS.memoryMibMin, max: LIMITS.memoryMibMax, unit: "MiB", integer: true });
