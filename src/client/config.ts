/**
 * Endpoint and token resolution (DESIGN §6), the one resolver of the SDK (`new Runta()`) and the CLI:
 * option/flag > RUNTA_ENDPOINT/RUNTA_TOKEN > config file > local daemon defaults (and its token file).
 * Every value remembers where it came from so that errors can say "(from RUNTA_ENDPOINT)".
 */
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { DEFAULTS } from "../api/limits.js";
import { apiErrorFromCode } from "./errors.js";

/** Where a configuration value came from. */
export type ConfigSource = "flag" | "env" | "config" | "default";

/** A resolved value and its origin. */
export interface Sourced<T> {
  value: T;
  source: ConfigSource;
  /** Human wording of the origin, e.g. "--endpoint", "RUNTA_TOKEN", "~/.config/runta/config.json". */
  origin: string;
}

/** Where the local daemon keeps its state and listens; hidden env overrides exist so tests never touch the real one. */
export interface LocalDaemonDefaults {
  dataDir: string;
  listen: string;
  endpoint: string;
  tokenFile: string;
  pidFile: string;
  logFile: string;
}

/** The configuration a command's client is built from. */
export interface ResolvedConfig {
  endpoint: Sourced<string>;
  /** Absent when the token is to be read from the local daemon's token file (default source). */
  token?: Sourced<string>;
  local: LocalDaemonDefaults;
  configFile: string;
}

/** Flags given on the command line. */
export interface ConfigFlags {
  endpoint?: string;
  token?: string;
}

/** Path of the user config file, honouring XDG_CONFIG_HOME. */
export function configFilePath(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), ".config");
  return join(base, "runta", "config.json");
}

/** The local daemon's paths and address; RUNTA_DATA_DIR and RUNTA_LISTEN are hidden overrides for tests. */
export function localDefaults(env: NodeJS.ProcessEnv): LocalDaemonDefaults {
  const dataDir = env.RUNTA_DATA_DIR || DEFAULTS.dataDir;
  const listen = env.RUNTA_LISTEN || `${DEFAULTS.host}:${DEFAULTS.port}`;
  return {
    dataDir,
    listen,
    endpoint: `http://${listen}`,
    tokenFile: join(dataDir, "token"),
    pidFile: join(dataDir, "daemon.pid"),
    // The system log dir only belongs to the real daemon; a test's data dir keeps its own log.
    logFile: dataDir === DEFAULTS.dataDir ? "/var/log/runta/daemon.log" : join(dataDir, "daemon.log"),
  };
}

function readConfigFile(path: string): { endpoint?: string; token?: string } {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return {};
    throw apiErrorFromCode("invalid_argument", `cannot read ${path}: ${(err as Error).message} — fix its permissions or remove it`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw apiErrorFromCode("invalid_argument", `${path} is not valid JSON — expected {"endpoint": "...", "token": "..."}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw apiErrorFromCode("invalid_argument", `${path} must hold a JSON object like {"endpoint": "...", "token": "..."}`);
  }
  const out: { endpoint?: string; token?: string } = {};
  for (const key of ["endpoint", "token"] as const) {
    const v = (parsed as Record<string, unknown>)[key];
    if (v === undefined) continue;
    if (typeof v !== "string" || v === "") throw apiErrorFromCode("invalid_argument", `"${key}" in ${path} must be a non-empty string`);
    out[key] = v;
  }
  return out;
}

function validEndpoint(value: string, origin: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw apiErrorFromCode("invalid_argument", `endpoint "${value}" (from ${origin}) is not a URL — use e.g. ${DEFAULT_HINT}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw apiErrorFromCode("invalid_argument", `endpoint "${value}" (from ${origin}) must be http:// or https:// — use e.g. ${DEFAULT_HINT}`);
  }
  return value.replace(/\/+$/, "");
}
const DEFAULT_HINT = `http://${DEFAULTS.host}:${DEFAULTS.port}`;

/** Resolves endpoint and token. The default token is read later, once the local daemon is known to be up. */
export function resolveConfig(flags: ConfigFlags, env: NodeJS.ProcessEnv): ResolvedConfig {
  const path = configFilePath(env);
  const file = readConfigFile(path);
  const local = localDefaults(env);
  const shownPath = path.replace(env.HOME || homedir(), "~");

  let endpoint: Sourced<string>;
  if (flags.endpoint) endpoint = { value: flags.endpoint, source: "flag", origin: "--endpoint" };
  else if (env.RUNTA_ENDPOINT) endpoint = { value: env.RUNTA_ENDPOINT, source: "env", origin: "RUNTA_ENDPOINT" };
  else if (file.endpoint) endpoint = { value: file.endpoint, source: "config", origin: shownPath };
  else endpoint = { value: local.endpoint, source: "default", origin: "the local daemon default" };
  endpoint.value = validEndpoint(endpoint.value, endpoint.origin);

  let token: Sourced<string> | undefined;
  if (flags.token) token = { value: flags.token, source: "flag", origin: "--token" };
  else if (env.RUNTA_TOKEN) token = { value: env.RUNTA_TOKEN, source: "env", origin: "RUNTA_TOKEN" };
  else if (file.token) token = { value: file.token, source: "config", origin: shownPath };

  return { endpoint, token, local, configFile: path };
}

/** Reads the local daemon's token file (root-only, 0600); the error says how to get access. */
export function readLocalToken(local: LocalDaemonDefaults): Sourced<string> {
  try {
    const value = readFileSync(local.tokenFile, "utf8").trim();
    if (value) return { value, source: "default", origin: local.tokenFile };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EACCES" || code === "EPERM") {
      throw apiErrorFromCode(
        "permission_denied",
        `cannot read the daemon token ${local.tokenFile} (root only) — run as root (sudo runta …) or set RUNTA_TOKEN`,
      );
    }
    if (code !== "ENOENT") throw apiErrorFromCode("internal", `cannot read ${local.tokenFile}: ${(err as Error).message}`);
  }
  throw apiErrorFromCode(
    "unauthenticated",
    `no token: ${local.tokenFile} is missing or empty — start the local daemon (runta daemon start) or set RUNTA_TOKEN`,
  );
}
