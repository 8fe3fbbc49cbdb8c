/**
 * What every command is given: IO streams, environment, resolved config and a lazily built client.
 * Commands never reach for process.* themselves, which keeps them testable in-process with a fake client.
 */
import type { EventEmitter } from "node:events";
import type { RuntaApi } from "../client/contract.js";
import type { bridgeExec } from "./tty/bridge.js";
import type { CliIO } from "./io.js";
import { resolveConfig, readLocalToken, type ConfigFlags, type ResolvedConfig } from "../client/config.js";

/** The TTY bridge's signature, so tests can hand in their own. */
export type BridgeFn = typeof bridgeExec;

/** Everything the outside world provides to `run()`. Only `io` is required. */
export interface CliDeps {
  io: CliIO;
  /** Defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** A ready client (tests) or a factory from resolved config; default: the SDK, with the embedded daemon start. */
  client?: RuntaApi | ((config: ResolvedConfig) => RuntaApi | Promise<RuntaApi>);
  /** Defaults to the real TTY bridge, loaded lazily. */
  bridge?: BridgeFn;
  /** Where SIGINT, SIGTERM, SIGHUP, SIGQUIT and `exit` come from (the TTY bridge, Ctrl-C during a wait); defaults to process. */
  signals?: EventEmitter;
  /** Clock for relative times; defaults to Date.now. */
  now?: () => Date;
  /** Whether the process runs as root (embedded daemon checks); defaults to getuid() === 0. */
  isRoot?: () => boolean;
}

/** Options of {@link CliContext.client}. */
export interface ClientOptions {
  /** Start the local daemon when nothing is configured and none answers (default true). */
  autoStart?: boolean;
}

/** The world a command runs in. */
export interface CliContext {
  readonly io: CliIO;
  readonly env: NodeJS.ProcessEnv;
  readonly deps: CliDeps;
  now(): Date;
  /** Global flags, filled in by the program before an action runs. */
  flags: ConfigFlags;
  /** `--json` was given: errors become JSON too. */
  json: boolean;
  /** Endpoint/token and their sources, resolved once on first use. */
  config(): ResolvedConfig;
  /** Whether the config has been resolved (main uses it to name sources in errors). */
  resolvedConfig(): ResolvedConfig | undefined;
  client(opts?: ClientOptions): Promise<RuntaApi>;
  /** Output on stdout goes to a terminal: tables shorten ids and show relative times. */
  readonly stdoutIsTTY: boolean;
  /** Spinners on stderr: only on a terminal, never with NO_COLOR. */
  readonly decorate: boolean;
  /** Colour on stdout: only on a terminal, never with NO_COLOR. */
  readonly colour: boolean;
}

/** Builds the context for one invocation. */
export function createContext(deps: CliDeps): CliContext {
  const env = deps.env ?? process.env;
  const noColor = env.NO_COLOR !== undefined && env.NO_COLOR !== "";
  let resolved: ResolvedConfig | undefined;
  const clients = new Map<boolean, Promise<RuntaApi>>();
  const ctx: CliContext = {
    io: deps.io,
    env,
    deps,
    now: deps.now ?? (() => new Date()),
    flags: {},
    json: false,
    config() {
      resolved ??= resolveConfig(ctx.flags, env);
      return resolved;
    },
    resolvedConfig: () => resolved,
    client(opts = {}) {
      const autoStart = opts.autoStart ?? true;
      let p = clients.get(autoStart);
      if (!p) {
        p = buildClient(ctx, autoStart);
        clients.set(autoStart, p);
      }
      return p;
    },
    // Getters: asking a process stream whether it is a terminal makes the stream (io.ts processIO).
    get stdoutIsTTY() {
      return deps.io.stdout.isTTY === true;
    },
    get decorate() {
      return deps.io.stderr.isTTY === true && !noColor;
    },
    get colour() {
      return deps.io.stdout.isTTY === true && !noColor;
    },
  };
  return ctx;
}

async function buildClient(ctx: CliContext, autoStart: boolean): Promise<RuntaApi> {
  const given = ctx.deps.client;
  if (given && typeof given === "object") return given;
  const config = ctx.config();
  if (typeof given === "function") return given(config);

  // The client class and the node:http fetch directly: the package root would load the API's zod schemas, and the
  // global fetch initialises undici (together ~250 ms of every command).
  const [{ Runta }, { nodeFetch }] = await Promise.all([import("../client/runta.js"), import("../client/node-fetch.js")]);
  const make = (token?: string): RuntaApi => new Runta({ endpoint: config.endpoint.value, token, env: ctx.env, fetch: nodeFetch });
  if (config.endpoint.source !== "default") return make(config.token?.value);

  // Nothing configured: talk to the local daemon, starting it first if it does not answer (the embedded default).
  const probe = make(config.token?.value);
  const { ensureLocalDaemon } = await import("./embedded.js");
  // 1 s: a daemon's /v1/health answers in milliseconds, and a hung one must be reported in under 2 s in all.
  if (!(await probe.ping(1000))) {
    await ensureLocalDaemon(ctx, { autoStart, probe });
  }
  return make((config.token ?? readLocalToken(config.local)).value);
}
