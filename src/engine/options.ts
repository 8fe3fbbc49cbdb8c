/**
 * The engine's options (`RuncEngine.open`): what a caller may set, the defaults filled in, and the checks and
 * directories the host needs before anything opens. The types are re-exported by runc-engine.ts.
 */
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { LIMITS, errors } from "../api/index.js";
import { silentLogger, type Logger } from "../log.js";
import { BUILT_AGENT_PATH } from "./agent/agents.js";
import { resolveExecutable } from "./host.js";
import type { IngressConfig } from "./ingress/ingress.js";
import { shown } from "./names.js";

/** Options of {@link RuncEngine.open}. */
export interface RuncEngineOptions {
  /** Holds `runta.db`, `runtimes/<id>/` (bundle, overlay layers) and by default `images/`. */
  dataDir: string;
  /** runc's state root, private to this engine (e.g. `/run/runta/runc`). */
  runcRoot: string;
  /** cgroup parent; each runtime's cgroup is `<cgroupParent>/<id>`. */
  cgroupParent: string;
  /** Default `<dataDir>/images`. */
  imagesDir?: string;
  /** Default `runc` from PATH. */
  runcPath?: string;
  /** The static reaping init, copied into each runtime's root as PID 1 (default `/usr/bin/catatonit`). */
  initPath?: string;
  /**
   * The exec agent new boots use as init (agent/): a path, or null for catatonit and runc exec. Default: the binary
   * `npm run build` made, when it is there.
   */
  execAgent?: string | null;
  /** LXCFS, for runtimes' own views of /proc (default `lxcfs` from PATH; without it runtimes see the host's). */
  lxcfsPath?: string;
  logger?: Logger;
  /** Overrides of the count, concurrency and size limits (tests use small ones). Default: the values in LIMITS. */
  limits?: Partial<EngineLimits>;
  /**
   * Runtime networking: `cidr` is the address range the daemon owns (default: a /20 in 10.64.0.0/10 derived from the
   * data dir), `hostsFile` a hosts(5) file the runtimes' resolver and egress proxy consult before DNS.
   */
  network?: { cidr?: string; hostsFile?: string };
  /** A PEM bundle of CAs the egress proxy also trusts when it re-encrypts an injected request (tests' own hosts). */
  egressCaBundle?: string;
  /** The daemon's ingress (its address for URLs, where host ports may bind, the wake bound). Default: none. */
  ingress?: Partial<IngressConfig>;
}

/** The limits the engine enforces itself (their defaults and meaning are in LIMITS). */
export type EngineLimits = Pick<typeof LIMITS, "runtimesMax" | "execBufferedMaxConcurrent" | "execBufferedMaxConcurrentPerRuntime" | "execBufferedOutputBudgetBytes"> & {
  /** Size of each new runtime's disk (its writable layer), in MiB; default LIMITS.diskMibDefault. */
  diskMib: number;
};

/** The options with their defaults filled in (what the engine and its rooms read). */
export type EngineConfig = Required<Omit<RuncEngineOptions, "logger" | "limits" | "network" | "egressCaBundle" | "ingress">> & {
  logger: Logger;
  limits: EngineLimits;
};

/** Fills in the defaults; `invalid_argument` for a cgroup parent that is not a relative path of plain names. */
export function resolveOptions(options: RuncEngineOptions): EngineConfig {
  const opts = {
    dataDir: options.dataDir,
    runcRoot: options.runcRoot,
    cgroupParent: options.cgroupParent,
    imagesDir: options.imagesDir ?? join(options.dataDir, "images"),
    runcPath: resolveExecutable(options.runcPath ?? "runc"),
    initPath: options.initPath ?? "/usr/bin/catatonit",
    execAgent: options.execAgent === undefined ? (existsSync(BUILT_AGENT_PATH) ? BUILT_AGENT_PATH : null) : options.execAgent,
    lxcfsPath: options.lxcfsPath ?? "lxcfs",
    logger: options.logger ?? silentLogger,
    limits: {
      runtimesMax: LIMITS.runtimesMax,
      execBufferedMaxConcurrent: LIMITS.execBufferedMaxConcurrent,
      execBufferedMaxConcurrentPerRuntime: LIMITS.execBufferedMaxConcurrentPerRuntime,
      execBufferedOutputBudgetBytes: LIMITS.execBufferedOutputBudgetBytes,
      diskMib: LIMITS.diskMibDefault,
      ...options.limits,
    },
  };
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*(\/[a-zA-Z0-9][a-zA-Z0-9_.-]*)*$/.test(opts.cgroupParent)) {
    throw errors.invalid(`cgroup parent ${shown(opts.cgroupParent)} must be a relative path of plain names, e.g. "runta"`);
  }
  return opts;
}

/** Checks the init and the exec agent are there (with the fix when not) and makes the data dir, its runtimes/ and runc's root (0700). */
export async function prepareHost(opts: EngineConfig): Promise<void> {
  if (!existsSync(opts.initPath)) {
    throw errors.unavailable(`the init ${opts.initPath} was not found; install it with 'apt-get install catatonit'`);
  }
  if (opts.execAgent !== null && !existsSync(opts.execAgent)) {
    throw errors.unavailable(`the exec agent ${opts.execAgent} was not found; build it with 'npm run build' (needs gcc and libc6-dev), or turn it off`);
  }
  await mkdir(opts.dataDir, { recursive: true, mode: 0o700 });
  await mkdir(join(opts.dataDir, "runtimes"), { recursive: true, mode: 0o700 });
  await mkdir(opts.runcRoot, { recursive: true, mode: 0o700 });
}
