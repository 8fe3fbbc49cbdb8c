/**
 * The Engine interface: everything the server needs from the isolation layer, and nothing more.
 * `RuncEngine` (engine/runc-engine.ts) implements it with runc, overlayfs and cgroups; tests of the server may use a fake.
 * Every method throws {@link RuntaError} with a code from api/errors.ts for anything a user can cause or fix.
 */
import type { Readable } from "node:stream";
import type { EgressEvent, EgressPolicyInput, NetworkMode, RuntimeEgress } from "../api/egress.js";
import type { VolumeMountSpec } from "./volumes/manager.js";
import type { PortRequest } from "../api/ports-spec.js";
import type { PublishedConnection } from "./ingress/ingress.js";
import type { Checkpoint, ExecEndReason, ExecInfo, ExecSignal, FileStat, FilesWritten, Image, ImageBuildEvent, Pool, Runtime, RuntimeStatus, StreamSignal, VersionInfo, Volume } from "../api/index.js";
import type { CapturedExec } from "./exec-output.js";
import type { Secret, SecretRule, SecretRuleRequest } from "../api/secrets.js";

/** What a new runtime is made of (validated wire input, defaults not yet applied). */
export interface CreateSpec {
  name?: string;
  image?: string;
  vcpus?: number;
  memoryMib?: number;
  env?: Record<string, string>;
  labels?: Record<string, string>;
  /** Size of the runtime's disk in GiB (default LIMITS.diskMibDefault). */
  diskSizeGib?: number;
  /** Restore: the checkpoint (name or id) whose layers the runtime stands on; its image is the checkpoint's. */
  checkpoint?: string;
  /** Hostname inside the runtime (validated); default its name. */
  hostname?: string;
  /** Free text shown in inspect (validated). */
  description?: string;
  /** Timeout of its execs that set none (validated). */
  execTimeoutSecs?: number;
  /** Shut down this long after each start (validated). */
  lifetimeSecs?: number;
  /** Suspended after this long without activity (validated). */
  idleTimeoutSecs?: number;
  /** Idempotent create: same key + same request hash returns the existing runtime; same key + other hash is `already_exists`. */
  idempotencyKey?: string;
  requestHash?: string;
  /** "nat" (default) or "none" (loopback only). */
  network?: NetworkMode;
  /** The egress policy from the start (default open). */
  egress?: EgressPolicyInput;
  /** Seed 000's CIDR list: an allowlist unless every entry is empty. */
  whitelist?: string[];
  /** Volumes to mount (paths validated and distinct); each must exist. */
  volumes?: VolumeMountSpec[];
  /** Seed 002's persistent workspace: volume `<name>-workspace` at /workspace, made if missing and kept after the runtime. */
  workspaceMount?: boolean;
  /** Packages in normal form (api/packages.ts): the runtime stands on the image derived from `image` with them. */
  packages?: string[];
  /** Ports to publish (validated wire input): http/https through the ingress, tcp on a host port. */
  ports?: PortRequest[];
  /** A Python version ("3.11"): picks the image by the python3 it carries, or checks `image` carries it. */
  runtimeVersion?: string;
  /** "browser": headless Chromium on the browser image, its DevTools port published (browser/). */
  type?: "default" | "browser";
}

export interface ListFilter {
  status?: RuntimeStatus[];
  /** Page size (default LIMITS.listLimitDefault). */
  limit?: number;
  /** Opaque cursor from a previous page's `nextCursor`. */
  after?: string;
  /** Add current cgroup usage to running and paused runtimes (as `get` does). Default false. */
  usage?: boolean;
  /** Include warm pools' waiting members. Default false. */
  pooled?: boolean;
}

/** A warm pool's definition (validated wire input, defaults not yet applied). */
export interface PoolSpec {
  image?: string;
  vcpus?: number;
  memoryMib?: number;
  min: number;
  max?: number;
}

export interface ListPage {
  /** Each runtime as the API's JSON text, which the list route writes as it is (runtime-view.ts keeps most of it). */
  json: string[];
  /** The same runtimes parsed (for callers inside the daemon and tests). */
  readonly items: Runtime[];
  nextCursor: string | null;
}

/** A buffered exec, already validated. `argv` is final: the server has turned a string command into `sh -c`. */
export interface ExecSpec {
  argv: string[];
  cwd?: string;
  env?: Record<string, string>;
  stdin?: Buffer;
  timeoutSecs?: number;
  maxOutputBytes?: number;
  /** Aborted when the caller went away: the command's process group is killed, as on timeout. */
  signal?: AbortSignal;
  /** `USER[:GROUP]` inside the runtime (default root). */
  user?: string;
  /** How the result carries the output: UTF-8 text (default) or base64 of the exact bytes. */
  outputEncoding?: "utf8" | "base64";
}

/**
 * A streamed exec: the framed HTTP stream of plain `runta exec`, or the websocket (`-i`, or `-t` under a
 * pseudo-terminal). No timeout unless `timeoutSecs`.
 */
export interface StreamSpec {
  argv: string[];
  cwd?: string;
  env?: Record<string, string>;
  tty: boolean;
  rows?: number;
  cols?: number;
  user?: string;
  timeoutSecs?: number;
  /** Terminal sessions: how long the process waits for a client to reattach when its own goes away (default 60 s). */
  graceSecs?: number;
}

/** A detached exec: started, then left to run (output discarded). No timeout unless `timeoutSecs`. */
export type DetachedSpec = Omit<StreamSpec, "tty" | "rows" | "cols" | "graceSecs">;

/** How a process ended. `code` is 128+n when it died by signal n. */
export interface ProcessExit {
  code: number;
  signal: string | null;
  oomKilled: boolean;
  /** How the exec ended (exited, signalled, timed out, …), once its exec object recorded it. */
  endedBy?: ExecEndReason;
}

/** A running streamed process. Output callbacks may fire before `wait()` resolves; with a tty everything arrives on stdout. */
export interface StreamProcess {
  /** The exec object's id (`GET /v1/runtimes/{rt}/execs/{id}`), when the engine registers its execs. */
  readonly execId?: string;
  /** The command's pid inside the runtime, when known. */
  readonly pid?: number | null;
  onStdout(cb: (chunk: Buffer) => void): void;
  onStderr(cb: (chunk: Buffer) => void): void;
  write(data: Buffer): void;
  closeStdin(): void;
  resize(rows: number, cols: number): void;
  /** Sends a signal to the process group of the command inside the runtime. */
  signal(sig: StreamSignal): void;
  /** SIGHUP, then SIGKILL after a grace period (used when the client vanishes). */
  hangup(): void;
  /** Optional flow control: stop reading the process's output while the consumer is behind, then read again. */
  pause?(): void;
  resume?(): void;
  /** Optional flow control of input: bytes written to stdin that the command has not taken yet. */
  stdinBacklog?(): number;
  wait(): Promise<ProcessExit>;
}

/** The isolation engine. Lifecycle operations on one runtime are serialised; execs run concurrently. */
export interface Engine {
  /** Creates a runtime. With `wait: false` it returns at `creating` and finishes in the background. */
  /** `existed` is called when an idempotency key answers with the runtime an earlier create made. */
  create(spec: CreateSpec, opts?: { wait?: boolean; existed?: () => void }): Promise<Runtime>;
  list(filter?: ListFilter): Promise<ListPage>;
  /** Gets one runtime by name or id; `usage: true` adds current cgroup usage. */
  get(ref: string, opts?: { usage?: boolean }): Promise<Runtime>;
  /** Live resize; the returned values are read back from the cgroup. */
  resize(ref: string, req: { vcpus?: number; memoryMib?: number; diskSizeGib?: number }): Promise<Runtime>;
  /** Gives the runtime a new (unique) name; id, state and processes are untouched. */
  rename(ref: string, name: string): Promise<Runtime>;
  /** Replaces a runtime's description ("" clears it), in any status. */
  describe(ref: string, description: string): Promise<Runtime>;
  /** Sets (seconds) or removes (null) a runtime's idle timeout, in any status; the idle clock restarts now. */
  setIdleTimeout(ref: string, secs: number | null): Promise<Runtime>;
  /**
   * Resumes a `suspended` runtime (single-flight: concurrent callers share one resume); resolves at once when it is
   * running; `failed_precondition` for any other status (a user's pause is not undone), `not_found` when gone.
   */
  wake(ref: string): Promise<void>;
  /**
   * Holds one live activity open on a runtime (an ingress request or connection) until `release()`: it keeps the
   * runtime awake and marks activity now and at release. Never throws; `release()` is idempotent. Does not wake.
   */
  activityHold(runtimeId: string, kind: "ingress"): () => void;
  start(ref: string): Promise<Runtime>;
  stop(ref: string, opts?: { graceSecs?: number }): Promise<Runtime>;
  pause(ref: string): Promise<Runtime>;
  resume(ref: string): Promise<Runtime>;
  /** Stops the runtime if needed and removes everything; returns the last record. */
  delete(ref: string): Promise<Runtime>;
  /**
   * Runs a command to its end (buffered). Its output is held as captured (exec-output.ts), counted in the daemon's
   * exec output budget until the caller's `release()`: stream the answer from it, then release.
   */
  execCaptured(ref: string, spec: ExecSpec): Promise<CapturedExec>;
  execStream(ref: string, spec: StreamSpec): Promise<StreamProcess>;
  /** Starts a command and leaves it running; resolves with its exec object once it runs. */
  execDetached(ref: string, spec: DetachedSpec): Promise<ExecInfo>;
  /** The runtime's running execs and its last finished ones (LIMITS.execHistoryPerRuntime), oldest first. */
  listExecs(ref: string): Promise<ExecInfo[]>;
  getExec(ref: string, id: string): Promise<ExecInfo>;
  /** Signals the exec's process group; `failed_precondition` once it has ended. */
  signalExec(ref: string, id: string, signal: ExecSignal): Promise<ExecInfo>;
  /** Takes over a terminal session whose client went away: the process, and its last output to replay first. */
  attachExec(ref: string, id: string): Promise<{ proc: StreamProcess; replay: Buffer }>;

  /** Publishes one more port (tcp: binds its host port now); `already_exists` for a port published already. */
  publishPort(ref: string, port: PortRequest): Promise<Runtime>;
  /** Stops publishing a port; its host port and live connections through it close. */
  unpublishPort(ref: string, port: number): Promise<Runtime>;
  /**
   * The ingress's way into port `port` of runtime `runtimeId` (by id), published as http or https: holds activity,
   * wakes a suspended runtime and waits until the app accepts. `not_found` when nothing is published there,
   * `unavailable` (503) when it does not come up in time or is not running. Call `release()` when the connection ends.
   */
  openPublished(runtimeId: string, port: number, signal?: AbortSignal): Promise<PublishedConnection>;

  /** A runtime's network and egress policy. */
  egress(ref: string): Promise<RuntimeEgress>;
  /** Replaces a runtime's egress policy; it applies at once, live connections included. */
  setEgress(ref: string, policy: EgressPolicyInput): Promise<RuntimeEgress>;
  /** A runtime's egress audit events, oldest first (the last `limit`, or those after `after`). */
  egressEvents(ref: string, opts?: { limit?: number; after?: number }): Promise<EgressEvent[]>;

  /** Every secret (names and dates: no value ever leaves the engine but towards the egress proxy). */
  listSecrets(): Promise<Secret[]>;
  getSecret(ref: string): Promise<Secret>;
  /** Stores a secret's value; an existing name is rotated (`created` false), effective for the next request. */
  setSecret(name: string, value: string): Promise<{ secret: Secret; created: boolean }>;
  /** Removes a secret; refused while rules use it. */
  removeSecret(ref: string): Promise<Secret>;
  /** A runtime's injection rules. */
  secretRules(ref: string): Promise<SecretRule[]>;
  /** Adds or replaces the rule of (runtime, host, header). */
  setSecretRule(ref: string, rule: SecretRuleRequest): Promise<SecretRule>;
  removeSecretRule(ref: string, host: string, header: string): Promise<SecretRule>;

  /** What is at `path` inside the runtime (resolved within its root; a symlink at the end is not followed). */
  statFile(ref: string, path: string): Promise<FileStat>;
  /** A tar stream of `path` (a directory recursively). Errors found before the first byte are thrown. */
  readFiles(ref: string, path: string): Promise<Readable>;
  /** One regular file's bytes. */
  readFile(ref: string, path: string): Promise<{ size: number; stream: Readable }>;
  /** Unpacks a tar stream into the existing directory `dir`; owners become root unless `keepOwner`. */
  writeFiles(ref: string, dir: string, archive: Readable, opts?: { keepOwner?: boolean }): Promise<FilesWritten>;
  /** Writes one file from raw bytes (its directory must exist), replacing it atomically. */
  writeFile(ref: string, path: string, data: Readable, opts?: { mode?: number }): Promise<FilesWritten>;

  /** Freezes the runtime's filesystem as checkpoint `name` (pausing a running runtime for the copy). */
  createCheckpoint(ref: string, name: string, opts?: { kind?: Checkpoint["kind"] }): Promise<Checkpoint>;
  listCheckpoints(): Promise<Checkpoint[]>;
  getCheckpoint(ref: string): Promise<Checkpoint>;
  /** Removes a checkpoint (refused while runtimes or checkpoints stand on it). */
  removeCheckpoint(ref: string): Promise<Checkpoint>;

  /** Volumes (volumes/): create one with its size bound, list, get, grow, remove (refused while runtimes mount it). */
  createVolume(name: string, opts?: { sizeMib?: number }): Promise<Volume>;
  listVolumes(): Promise<Volume[]>;
  getVolume(ref: string): Promise<Volume>;
  removeVolume(ref: string): Promise<Volume>;
  /** Grows a volume's disk (online; refused smaller). */
  resizeVolume(ref: string, sizeMib: number): Promise<Volume>;

  listImages(): Promise<Image[]>;
  /**
   * Builds (or rebuilds with `force`) an image, reporting progress as it happens: the default image, or with
   * `packages` the image derived from `parent` (default "default") with them, named from the set unless `name`.
   */
  buildImage(name: string | undefined, onEvent: (ev: ImageBuildEvent) => void, opts?: { force?: boolean; packages?: string[]; parent?: string }): Promise<Image>;
  /** Imports a root-filesystem tarball (optionally gzip-compressed) as an image. */
  importImage(name: string, tarball: NodeJS.ReadableStream): Promise<Image>;
  removeImage(name: string): Promise<void>;
  /** Creates or changes a warm pool; its members boot in the background. */
  setPool(name: string, spec: PoolSpec): Promise<Pool>;
  listPools(): Promise<Pool[]>;
  /** Removes a warm pool and its waiting members. */
  removePool(name: string): Promise<Pool>;

  version(): Promise<Omit<VersionInfo, "api" | "runta" | "node">>;
  /** Releases daemon-side resources. Runtimes keep running. */
  close(): Promise<void>;
}
