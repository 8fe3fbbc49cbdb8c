/**
 * The daemon's lifecycle (DESIGN §6): data dir and token, engine, HTTP + websocket server, `daemon.json`, and a
 * graceful shutdown on SIGTERM/SIGINT. Runtimes are detached runc containers, so they keep running when the daemon
 * stops or crashes; the next start adopts them (the engine reconciles at open).
 */
import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DEFAULTS, RuntaError, errors } from "../api/index.js";
import { PORT_LIMITS, type IngressInfo } from "../api/ports-spec.js";
import { CertificateAuthority } from "../engine/tls/ca.js";
import { IngressServer } from "./ingress/listener.js";
import type { Engine } from "../engine/types.js";
import { RuncEngine } from "../engine/runc-engine.js";
import { procStart, sameProcessAlive } from "../engine/proc.js";
import { createApiServer } from "./app.js";
import { isLoopbackHost } from "./auth.js";
import { attachExecStream } from "./exec-stream.js";
import { jsonLogger, type Logger } from "../log.js";
import { claimRuncRoot, stateDirsFor } from "./state-dirs.js";

/** Options of {@link runDaemon}. */
export interface DaemonOptions {
  /** Where the token, the state database and daemon.json live. Default DEFAULTS.dataDir (/var/lib/runta). */
  dataDir?: string;
  /** host:port to listen on. Default 127.0.0.1:7420; port 0 picks a free port (tests). */
  listen?: string;
  /** Allow a non-loopback listen address (the API is then reachable from the network). Default false. */
  allowRemote?: boolean;
  /** Host names accepted in Host/Origin headers besides loopback, for remote clients. Default: the listen host. */
  publicHosts?: string[];
  /** runc state root. Default DEFAULTS.runcRoot for the default data dir, else derived from it (state-dirs.ts). */
  runcRoot?: string;
  /** cgroup parent of every runtime. Default DEFAULTS.cgroupParent for the default data dir, else derived from it. */
  cgroupParent?: string;
  /** Image store directory. Default: the engine's (under the data dir). */
  imagesDir?: string;
  /**
   * Boot runtimes with the exec agent as init and exec through it (default true; false: catatonit and runc exec, as
   * `--no-exec-agent` or RUNTA_EXEC_AGENT=off ask). Runtimes already running keep the init they booted with.
   */
  execAgent?: boolean;
  /** Runtime networking: the address range and a hosts file of the resolver (see RuncEngineOptions.network). */
  network?: { cidr?: string; hostsFile?: string };
  /** A PEM bundle the egress proxy also trusts for upstream servers when it injects secrets (besides the host's trust store). */
  egressCaBundle?: string;
  /** Default: JSON lines on stderr. */
  logger?: Logger;
  /** Install SIGTERM/SIGINT handlers that shut the daemon down gracefully. Default true. */
  handleSignals?: boolean;
  /** In-flight requests get this long to finish at shutdown before they are cut. Default 10 000 ms. */
  shutdownGraceMs?: number;
  /** An engine to serve instead of opening the runc engine (tests). Default: RuncEngine.open(...). */
  engine?: Engine;
  /** The ingress of published ports (see {@link IngressOptions}). */
  ingress?: IngressOptions;
}

/** Where and how the daemon serves published ports. */
export interface IngressOptions {
  /**
   * host:port of the ingress (HTTP and HTTPS on one port), or "none". Default 127.0.0.1 on the API's port + 60
   * (7480), or port 0 (a free one) when the API listens on port 0. Any address is allowed: asking for one is the explicit choice (published ports
   * are meant to be reached), and tcp host ports may then bind that address too.
   */
  listen?: string;
  /** Host names are `<port>-<uuid>.<domain>`. Default PORT_LIMITS.defaultDomain (runta.localhost, no DNS needed). */
  domain?: string;
  /** How long a request waits for a suspended or starting app (default 30 s). */
  wakeTimeoutSecs?: number;
}

/** A running daemon. */
export interface Daemon {
  /** The URL clients use, e.g. http://127.0.0.1:7420. */
  endpoint: string;
  /** Path of the token file (its content is never logged). */
  tokenFile: string;
  /** Graceful shutdown: stop accepting, finish in-flight requests (bounded), close websockets with 1001, close the engine. Runtimes keep running. */
  close(): Promise<void>;
  /** Resolves once the daemon has shut down (after close() or a signal). */
  done: Promise<void>;
}

/** `<dataDir>/daemon.json`: which process serves the data dir; pid and start time name it for good (pids get reused). */
interface DaemonInfo {
  pid: number;
  /** /proc/<pid>/stat start time (clock ticks since boot). */
  start_time?: number;
  endpoint: string;
}

/**
 * The daemon's settings the environment gives: RUNTA_RUNC_ROOT, RUNTA_CGROUP_PARENT, RUNTA_IMAGES_DIR,
 * RUNTA_NETWORK_CIDR, RUNTA_NETWORK_HOSTS, RUNTA_EGRESS_CA_BUNDLE, RUNTA_INGRESS_LISTEN, RUNTA_INGRESS_DOMAIN,
 * RUNTA_INGRESS_WAKE_TIMEOUT and RUNTA_EXEC_AGENT=off. One reading for both ways to run the daemon, the runta-daemon
 * executable (server/main.ts) and `runta daemon run`, whose flags override these field by field. `invalid_argument`
 * for a wake timeout that is not a whole number of seconds.
 */
export function daemonOptionsFromEnv(env: NodeJS.ProcessEnv): DaemonOptions & { network: NonNullable<DaemonOptions["network"]>; ingress: IngressOptions } {
  const wake = env.RUNTA_INGRESS_WAKE_TIMEOUT;
  if (wake !== undefined && !/^\d+$/.test(wake)) throw errors.invalid(`RUNTA_INGRESS_WAKE_TIMEOUT must be a whole number of seconds (got '${wake}')`);
  return {
    runcRoot: env.RUNTA_RUNC_ROOT,
    cgroupParent: env.RUNTA_CGROUP_PARENT,
    imagesDir: env.RUNTA_IMAGES_DIR,
    execAgent: env.RUNTA_EXEC_AGENT !== "off",
    network: { cidr: env.RUNTA_NETWORK_CIDR, hostsFile: env.RUNTA_NETWORK_HOSTS },
    egressCaBundle: env.RUNTA_EGRESS_CA_BUNDLE,
    ingress: { listen: env.RUNTA_INGRESS_LISTEN, domain: env.RUNTA_INGRESS_DOMAIN, wakeTimeoutSecs: wake === undefined ? undefined : Number(wake) },
  };
}

/** Parses "host:port" or "[v6]:port"; a bare port means the default host. */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:(\[[0-9a-fA-F:.]+\]|[^:\[\]]*):)?(\d{1,5})$/.exec(listen.trim());
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) {
    throw errors.invalid(`listen address '${listen}' is not host:port (e.g. 127.0.0.1:${DEFAULTS.port})`, { field: "listen" });
  }
  const host = (m[1] || DEFAULTS.host).replace(/^\[|\]$/g, "");
  return { host, port };
}

/** Reads the token, creating a random one (32 bytes, hex) in a 0600 file on first start. */
export async function ensureToken(dataDir: string): Promise<string> {
  const file = join(dataDir, "token");
  try {
    await writeFile(file, randomBytes(32).toString("hex") + "\n", { mode: 0o600, flag: "wx" });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  // An existing file may have been created or copied with looser permissions; the token is a root credential.
  await chmod(file, 0o600);
  const token = (await readFile(file, "utf8")).trim();
  if (!/^[A-Za-z0-9._~+/=-]{16,}$/.test(token)) {
    throw new RuntaError("failed_precondition", `token file ${file} is empty or malformed: delete it and restart the daemon to create a new one`);
  }
  return token;
}

/** Starts the daemon and resolves once it is listening. */
export async function runDaemon(opts: DaemonOptions = {}): Promise<Daemon> {
  // Every child (runc, tar, mount, ...) inherits this environment. The daemon reads its token from the data dir only,
  // so a RUNTA_TOKEN exported for the CLI (e.g. `runta daemon run` from such a shell) must not travel on into them.
  delete process.env.RUNTA_TOKEN;
  const logger = opts.logger ?? jsonLogger();
  const dataDir = opts.dataDir ?? DEFAULTS.dataDir;
  const { host, port } = parseListen(opts.listen ?? `${DEFAULTS.host}:${DEFAULTS.port}`);
  const wildcard = host === "0.0.0.0" || host === "::";
  if (!isLoopbackHost(host) && !opts.allowRemote) {
    throw errors.invalid(
      `refusing to listen on ${host}: it is not a loopback address and anyone who can reach it could try the API; ` +
        `pass --allow-remote to do it anyway, or listen on 127.0.0.1`,
      { field: "listen" },
    );
  }

  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await chmod(dataDir, 0o700);
  const infoFile = join(dataDir, "daemon.json");
  const previous = await readFile(infoFile, "utf8").then((s) => JSON.parse(s) as DaemonInfo).catch(() => null);
  // A daemon killed by -9 leaves daemon.json behind; its pid may now be a zombie or, after a reboot, someone else.
  if (previous?.pid && previous.pid !== process.pid && sameProcessAlive(previous.pid, previous.start_time ?? null)) {
    throw errors.exists(`a runta daemon (pid ${previous.pid}) already serves ${dataDir} at ${previous.endpoint}; stop it first (runta daemon stop)`);
  }
  const token = await ensureToken(dataDir);

  const ingress = await startIngress(opts.ingress ?? {}, { dataDir, apiPort: port, logger });
  const closeIngress = async () => ingress?.server.close(0);

  const derived = opts.engine ? null : await stateDirsFor(dataDir);
  const runcRoot = opts.runcRoot ?? derived?.runcRoot ?? DEFAULTS.runcRoot;
  // Claimed before the engine reconciles: that would adopt (or clean up) another daemon's containers.
  const releaseRuncRoot = opts.engine ? async () => {} : await claimRuncRoot(runcRoot, dataDir).catch(async (err) => {
    await closeIngress();
    throw err;
  });
  let engine: Engine;
  try {
    engine =
      opts.engine ??
      (await RuncEngine.open({
        dataDir,
        runcRoot,
        cgroupParent: opts.cgroupParent ?? derived?.cgroupParent ?? DEFAULTS.cgroupParent,
        imagesDir: opts.imagesDir,
        network: opts.network,
        egressCaBundle: opts.egressCaBundle,
        ingress: ingress?.config,
        ...(opts.execAgent === false ? { execAgent: null } : {}),
        logger,
      }));
  } catch (err) {
    await closeIngress();
    await releaseRuncRoot();
    throw err;
  }
  ingress?.server.serve(engine);

  const publicHosts = opts.publicHosts ?? (wildcard || isLoopbackHost(host) ? [] : [host]);
  const api = createApiServer({ engine, token, logger, publicHosts, attachStreams: attachExecStream, ingress: () => ingress?.info ?? null });
  let endpoint: string;
  try {
    endpoint = await api.listen(host, port);
  } catch (err) {
    await closeIngress();
    await engine.close();
    await releaseRuncRoot();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE") throw errors.unavailable(`${host}:${port} is already in use: is another daemon running? pick another port with --listen`);
    throw err;
  }
  // Clients on this host reach a wildcard listener through loopback.
  if (wildcard) endpoint = endpoint.replace(/\/\/[^/]+:/, `//${DEFAULTS.host}:`);
  const info: DaemonInfo = { pid: process.pid, start_time: procStart(process.pid) ?? undefined, endpoint };
  await writeFile(infoFile, JSON.stringify(info) + "\n", { mode: 0o600 });
  logger.info("daemon listening", { endpoint, data_dir: dataDir, pid: process.pid, ingress: ingress?.info.listen ?? null });

  let resolveDone!: () => void;
  const done = new Promise<void>((r) => (resolveDone = r));
  let closing: Promise<void> | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    logger.info("shutting down", { signal: sig });
    void close();
  };
  const close = () =>
    (closing ??= (async () => {
      if (opts.handleSignals !== false) {
        process.off("SIGTERM", onSignal);
        process.off("SIGINT", onSignal);
      }
      try {
        await Promise.all([api.close(opts.shutdownGraceMs ?? 10_000), ingress?.server.close(opts.shutdownGraceMs ?? 10_000)]);
        await engine.close();
        await releaseRuncRoot();
      } catch (err) {
        logger.error("error during shutdown", { error: err instanceof Error ? err.message : String(err) });
      } finally {
        // Only remove daemon.json if it is still ours (a new daemon may have replaced it).
        const current = await readFile(infoFile, "utf8").then((s) => JSON.parse(s) as { pid?: number }).catch(() => null);
        if (current?.pid === process.pid) await rm(infoFile, { force: true });
        logger.info("daemon stopped", { endpoint });
        resolveDone();
      }
    })());
  if (opts.handleSignals !== false) {
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
  }
  return { endpoint, tokenFile: join(dataDir, "token"), close, done };
}

/** The default ingress port is the API's plus this. */
const INGRESS_PORT_OFFSET = PORT_LIMITS.defaultIngressPort - DEFAULTS.port;

/** The ingress listener, its CA and what the engine and `GET /v1/ingress` are told of it; null with listen "none". */
async function startIngress(
  o: IngressOptions,
  ctx: { dataDir: string; apiPort: number; logger: Logger },
): Promise<{ server: IngressServer; info: IngressInfo; config: { address: { domain: string; port: number }; listenHost: string; wakeTimeoutMs: number } } | null> {
  // The API's port + 60 (7420 → 7480): stable across restarts, and two daemons on two API ports never collide.
  const listen = o.listen ?? `${DEFAULTS.host}:${ctx.apiPort === 0 || ctx.apiPort > 65535 - INGRESS_PORT_OFFSET ? 0 : ctx.apiPort + INGRESS_PORT_OFFSET}`;
  if (listen.trim() === "none") return null;
  const { host, port } = parseListen(listen);
  const domain = (o.domain ?? PORT_LIMITS.defaultDomain).toLowerCase().replace(/\.$/, "");
  if (!/^(?=.{1,200}$)[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$/.test(domain)) {
    throw errors.invalid(`ingress domain '${o.domain}' is not a DNS name (e.g. runta.localhost, apps.example.com)`, { field: "ingress_domain" });
  }
  const wake = o.wakeTimeoutSecs ?? PORT_LIMITS.wakeTimeoutSecsDefault;
  if (!(wake >= 1 && wake <= PORT_LIMITS.wakeTimeoutSecsMax)) {
    throw errors.invalid(`ingress wake timeout must be between 1 and ${PORT_LIMITS.wakeTimeoutSecsMax} seconds; got ${wake}`, { field: "ingress_wake_timeout" });
  }
  // Name-constrained to the domain: trusting this CA (README) lets it vouch for the ingress's names and nothing else.
  const ca = await CertificateAuthority.loadOrCreate({ dir: join(ctx.dataDir, "ingress-ca"), commonName: `runta ingress CA (${domain})`, permittedDomains: [domain], logger: ctx.logger });
  const server = new IngressServer({ domain, ca, logger: ctx.logger });
  let bound: number;
  try {
    bound = await server.listen(host, port);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EADDRINUSE") {
      throw errors.unavailable(`the ingress address ${host}:${port} is already in use (another daemon?): pick another with --ingress-listen HOST:PORT, or --ingress-listen none`);
    }
    throw err;
  }
  const shown = `${host.includes(":") ? `[${host}]` : host}:${bound}`;
  return {
    server,
    info: { listen: shown, domain, ca_certificate: ca.certPem, ca_fingerprint_sha256: ca.fingerprint, ca_path: ca.certPath, wake_timeout_secs: wake },
    config: { address: { domain, port: bound }, listenHost: host, wakeTimeoutMs: wake * 1000 },
  };
}

/** Reads `<dataDir>/daemon.json` if present: the pid and endpoint of the daemon serving that data dir. */
export async function readDaemonInfo(dataDir: string): Promise<{ pid: number; endpoint: string } | null> {
  try {
    await stat(join(dataDir, "daemon.json"));
    const info = JSON.parse(await readFile(join(dataDir, "daemon.json"), "utf8")) as { pid: number; endpoint: string };
    return typeof info.pid === "number" && typeof info.endpoint === "string" ? info : null;
  } catch {
    return null;
  }
}
