/** Flag value parsers shared by commands; bad values are usage errors (exit 2) that name the flag. */
import { LIMITS } from "../api/limits.js";
import { UsageError } from "./errors.js";

/** What a key must look like, as the API's schemas say (src/api/schemas.ts), kept here so commands need not load zod. */
export interface KeyRule {
  pattern: RegExp;
  what: string;
}

/** Environment variable names (EnvNameSchema). */
export const ENV_NAME: KeyRule = { pattern: /^[A-Za-z_][A-Za-z0-9_]*$/, what: "a variable name (letters, digits and _, not starting with a digit)" };

/** Label keys (LabelsSchema). */
export const LABEL_KEY: KeyRule = {
  pattern: /^[a-zA-Z0-9][a-zA-Z0-9_.\/-]{0,62}$/,
  what: "a label key (letters, digits, '_', '.', '/', '-', starting with a letter or digit, 1-63 characters)",
};

/** Collects repeated `-e K=V` / `--label k=v` flags; `-e K` alone takes K from the local environment, like docker. */
export function collectKeyValue(flag: string, key: KeyRule, env?: NodeJS.ProcessEnv) {
  return (value: string, previous: Record<string, string> = {}): Record<string, string> => {
    const eq = value.indexOf("=");
    if (eq === 0) throw new UsageError(`${flag} "${value}": the name before "=" is empty — use ${flag} NAME=value`);
    const name = eq < 0 ? value : value.slice(0, eq);
    if (!key.pattern.test(name)) throw new UsageError(`${flag} "${value}": "${name}" is not ${key.what}`);
    if (eq < 0) {
      const local = env?.[value];
      if (env === undefined || local === undefined) {
        throw new UsageError(`${flag} "${value}" has no "=" — use ${flag} NAME=value${env ? " (or export it locally)" : ""}`);
      }
      return { ...previous, [value]: local };
    }
    return { ...previous, [name]: value.slice(eq + 1) };
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

/** `--disk-size-gib`: whole GiB as the API accepts them. */
export const diskSizeFlag = boundedNumber("--disk-size-gib", { min: LIMITS.diskGibMin, max: LIMITS.diskGibMax, unit: "GiB", integer: true });

/** `--name`: a runtime name as the API accepts it. */
export function nameFlag(value: string): string {
  if (!LIMITS.namePattern.test(value)) {
    throw new UsageError(`--name "${value}" must start with a letter or digit and contain only letters, digits, '_', '.', '-' (1-${LIMITS.nameMaxLength} characters)`);
  }
  return value;
}
