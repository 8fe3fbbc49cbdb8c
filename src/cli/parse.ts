/** Flag value parsers shared by commands; bad values are usage errors (exit 2) that name the flag. */
import type { Command } from "commander";
import { LIMITS } from "../api/limits.js";
import { parseVolumeSpec } from "../api/mount-path.js";
import { normalizePackages, parsePackage } from "../api/packages.js";
import { RUNTIME_VERSION_PATTERN } from "../api/runtime-version.js";
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
      if (env === undefined) throw new UsageError(`${flag} "${value}" has no "=" — use ${flag} NAME=value`);
      if (local === undefined) throw new UsageError(`${flag} ${value}: ${value} is not set in this shell — export it, or use ${flag} ${value}=value`);
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

const SIZE_UNITS: Record<string, number> = { b: 1 / 1024 ** 2, k: 1 / 1024, m: 1, g: 1024, t: 1024 ** 2 };

/** A size in MiB as the size flags write it: `512m`, `256g`, `1t`. */
export function sizeText(mib: number): string {
  if (mib % 1024 ** 2 === 0) return `${mib / 1024 ** 2}t`;
  return mib % 1024 === 0 ? `${mib / 1024}g` : `${mib}m`;
}

/**
 * A size flag as docker takes it (`512m`, `2g`, `1.5g`, `524288k`; b, k, m, g, t are powers of 1024) or a bare number
 * of MiB; it must come to whole MiB within `min`..`max` MiB.
 */
export function sizeFlag(flag: string, min: number, max: number) {
  return (value: string): number => {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([bkmgt]?)(?:i?b)?\s*$/i.exec(value);
    const mib = m ? Number(m[1]) * SIZE_UNITS[(m[2] || "m").toLowerCase()]! : NaN;
    if (!Number.isInteger(mib) || mib < min || mib > max) {
      throw new UsageError(`${flag} must be a size of whole MiB between ${sizeText(min)} and ${sizeText(max)} (512m, 2g; a bare number is MiB), got "${value}"`);
    }
    return mib;
  };
}

/**
 * `--memory` / `-m`: a memory limit within the API's bounds (the host's memory is checked by the daemon, see
 * {@link flagForHostLimit}).
 */
export const memoryFlag = sizeFlag("--memory", LIMITS.memoryMibMin, LIMITS.memoryMibMax);

/** `volume create --size`: a volume's size bound within the API's. */
export const volumeSizeFlag = sizeFlag("--size", LIMITS.volumeMibMin, LIMITS.volumeMibMax);

/** `-v NAME:PATH[:ro]` (repeatable): a volume mounted at an absolute PATH, read-only with `:ro` (api/mount-path.ts). */
export function volumeFlag(value: string, previous: Array<{ volume: string; path: string; readOnly?: boolean }> = []) {
  const spec = parseVolumeSpec(value);
  if ("problem" in spec) {
    throw new UsageError(spec.usage ? `-v "${value}": use -v NAME:PATH or -v NAME:PATH:ro (e.g. -v data:/work)` : `-v "${value}": ${spec.problem}`);
  }
  if (previous.some((p) => p.path === spec.path)) throw new UsageError(`-v "${value}": ${spec.path} is already taken by another -v; each volume needs its own path`);
  return [...previous, { volume: spec.volume, path: spec.path, ...(spec.readOnly ? { readOnly: true } : {}) }];
}

/**
 * Records the text typed for each of `flags` (before its parser turns it into a number) and hands it to the action as
 * `opts.typed`, so a refusal can say what the user wrote (`--memory 100g`, not `102400m`).
 */
export function typedFlags(cmd: Command, flags: string[]): Command {
  const typed: Record<string, string> = {};
  for (const flag of flags) cmd.on(`option:${flag}`, (value: string) => (typed[flag] = value));
  return cmd.hook("preAction", (_cmd, action) => void action.setOptionValue("typed", typed));
}

/** What each API resource field is called on the command line, and how a host limit on it is said. */
const RESOURCE_FLAGS: Record<string, { flag: string; say: (typed: string, max: number) => string; typed: (got: string) => string }> = {
  vcpus: { flag: "cpus", say: (typed, max) => `--cpus ${typed} is more than this host's ${max} cores — use at most --cpus ${max}`, typed: (got) => got },
  memory_mib: {
    flag: "memory",
    say: (typed, max) => `--memory ${typed} is more than this host's memory (${max} MiB) — use at most --memory ${sizeText(max)}`,
    typed: (got) => `${got}m`,
  },
};

/**
 * The daemon's refusal of resources this host cannot give (`--cpus 3` on 2 cores, `--memory` above its memory) is the
 * caller's input error: a usage error (exit 2) naming the flag and what this host allows. Other errors pass unchanged.
 */
export function flagForHostLimit(err: unknown, typed: Record<string, string> = {}): unknown {
  const e = err as { code?: unknown; message?: unknown; details?: { field?: unknown; max?: unknown } };
  const rule = typeof e.details?.field === "string" ? RESOURCE_FLAGS[e.details.field] : undefined;
  if (e.code !== "invalid_argument" || !rule || typeof e.details?.max !== "number") return err;
  const got = /got (\S+)$/.exec(String(e.message))?.[1] ?? "?";
  return new UsageError(rule.say(typed[rule.flag] ?? rule.typed(got), e.details.max));
}

/** `--exec-timeout`: a runtime's default exec timeout, whole seconds as the API accepts them. */
export const execTimeoutFlag = boundedNumber("--exec-timeout", { min: 1, max: LIMITS.execTimeoutSecsMax, unit: "seconds", integer: true });

/** `--lifetime`: a runtime's lifetime, whole seconds as the API accepts them. */
export const lifetimeFlag = boundedNumber("--lifetime", { min: 1, max: LIMITS.lifetimeSecsMax, unit: "seconds", integer: true });

/** `--idle-timeout`: a runtime's idle timeout, whole seconds as the API accepts them. */
export const idleTimeoutFlag = boundedNumber("--idle-timeout", { min: LIMITS.idleTimeoutSecsMin, max: LIMITS.idleTimeoutSecsMax, unit: "seconds", integer: true });

/**
 * `update --idle-timeout`: seconds as for run, or 0 / none to remove the timeout, which this returns as 0 (commander
 * turns a parser's null into "").
 */
export function idleTimeoutUpdateFlag(value: string): number {
  if (/^\s*(0|none)\s*$/i.test(value)) return 0;
  try {
    return idleTimeoutFlag(value);
  } catch {
    throw new UsageError(
      `--idle-timeout must be a whole number of seconds between ${LIMITS.idleTimeoutSecsMin} and ${LIMITS.idleTimeoutSecsMax}, or 0 / none to remove it, got "${value}"`,
    );
  }
}

/** `--disk-size-gib`: whole GiB as the API accepts them. */
export const diskSizeFlag = boundedNumber("--disk-size-gib", { min: LIMITS.diskGibMin, max: LIMITS.diskGibMax, unit: "GiB", integer: true });

/** `--description`: free text as the API accepts it (DescriptionSchema). */
export function descriptionFlag(value: string): string {
  if (value.length > LIMITS.descriptionMaxLength) throw new UsageError(`--description: at most ${LIMITS.descriptionMaxLength} characters`);
  if (LIMITS.descriptionForbidden.test(value)) throw new UsageError(`--description: ${LIMITS.descriptionRule}`);
  return value;
}

/** `--hostname`: a hostname as the API accepts it. */
export function hostnameFlag(value: string): string {
  if (!LIMITS.hostnamePattern.test(value)) {
    throw new UsageError(`--hostname "${value}" must be letters, digits and '-' in dot-separated labels, each starting and ending with a letter or digit (1-63 characters)`);
  }
  return value;
}

/** A runtime name as the API accepts it; `what` is how the message names it (`--name`, `new name`). */
export function runtimeName(what: string) {
  return (value: string): string => {
    if (!LIMITS.namePattern.test(value)) {
      throw new UsageError(`${what} "${value}" must start with a letter or digit and contain only letters, digits, '_', '.', '-' (1-${LIMITS.nameMaxLength} characters)`);
    }
    return value;
  };
}

/** `--name`: a runtime name as the API accepts it. */
export const nameFlag = runtimeName("--name");

/** `--package` (repeatable): each checked as it is parsed; the set is put in normal form by {@link packagesOf}. */
export function collectPackage(value: string, previous: string[] = []): string[] {
  try {
    parsePackage(value);
  } catch (err) {
    throw new UsageError(`--package: ${(err as Error).message}`);
  }
  return [...previous, value];
}

/** The `--package` values as one normalised set (deduplicated, sorted), or undefined when none were given. */
export function packagesOf(values: string[] | undefined): string[] | undefined {
  if (!values?.length) return undefined;
  try {
    return normalizePackages(values);
  } catch (err) {
    throw new UsageError(`--package: ${(err as Error).message}`);
  }
}

/** `--runtime-version`: a Python version as the API takes it. */
export function runtimeVersionFlag(value: string): string {
  if (!RUNTIME_VERSION_PATTERN.test(value)) throw new UsageError(`--runtime-version "${value}" must be a Python version like 3.11 or 3.11.2`);
  return value;
}
