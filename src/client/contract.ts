/**
 * The SDK's public surface as interfaces. `Runta` (client/runta.ts) implements them over HTTP;
 * the CLI depends only on these, so its unit tests can hand it a fake.
 */
import type { Checkpoint, DashboardLogin, ExecInfo, ExecResult, ExecSignal, FileStat, FilesWritten, Image, ImageBuildEvent, Pool, Runtime, RuntimeStatus, StreamSignal, VersionInfo, Volume } from "../api/index.js";
import type { EgressEvent, EgressPolicyInput, NetworkMode, RuntimeEgress } from "../api/egress.js";
import type { Secret, SecretRule, SecretRuleInput } from "../api/secret-policy.js";
import type { IngressInfo, PortRequest, PublishedPort } from "../api/ports-spec.js";

/** Options of `runtimes.create`. Defaults: 1 vCPU, 1024 MiB, image "default", wait true. */
export interface CreateOptions {
  vcpus?: number;
  memoryMiB?: number;
  /** Size of the runtime's disk (its writable layer) in GiB. Default 10. */
  diskSizeGiB?: number;
  image?: string;
  env?: Record<string, string>;
  labels?: Record<string, string>;
  /** Hostname inside the runtime (in /etc/hosts, so `hostname -f` works); default its name. */
  hostname?: string;
  /** Free text shown in inspect; change it later with `update`. */
  description?: string;
  /** Timeout (seconds) of every exec in the runtime that does not set its own. */
  execTimeoutSecs?: number;
  /** Shut it down (filesystem kept) this many seconds after each start; not an idle timeout. */
  lifetimeSecs?: number;
  /** Suspend it (frozen, memory kept) after this many seconds without activity; an exec or ingress request wakes it. Default none. */
  idleTimeoutSecs?: number;
  /** Wait until the runtime is running (default true). */
  wait?: boolean;
  /** Sent as the Idempotency-Key header. */
  idempotencyKey?: string;
  /** "nat" (default): an address, NAT, DNS and the egress policy; "none": loopback only. */
  network?: NetworkMode;
  /** The egress policy from the start (default: open). */
  egress?: EgressPolicyInput;
  /** Volumes to mount (`runta.volumes.create` first), each at its own absolute path; read-write unless `readOnly`. */
  volumes?: VolumeMountOptions[];
  /** Packages to find installed: Debian `NAME[=VERSION]`, Python `pip:NAME[==VERSION]`; an image derived once per set. */
  packages?: string[];
  /** Ports to publish, e.g. `[{ port: 8080 }, { port: 8443, protocol: "https" }, { port: 5432, host_port: 15432 }]`. */
  ports?: PortRequest[];
  /** The Python version it carries ("3.11", "3.11.2"; seed 000's runtimeVersion): picks the image, or checks `image`. */
  runtimeVersion?: string;
  /** "browser": headless Chromium on the browser image, its DevTools port published; inspect's `browser.ws` is the CDP URL. */
  type?: "default" | "browser";
}

/** One volume to mount into a new runtime. */
export interface VolumeMountOptions {
  /** The volume's name or id. */
  volume: string;
  /** Where inside the runtime (absolute; not /, /proc, /sys, /dev). */
  path: string;
  /** Default false. */
  readOnly?: boolean;
}

/** Options of `volumes.create`. */
export interface VolumeCreateOptions {
  /** Its size bound in MiB (writes past it fail with ENOSPC). Default 10240. */
  sizeMiB?: number;
}

/** `runta.volumes`: named persistent directories that outlive runtimes. */
export interface VolumesApi {
  create(name: string, opts?: VolumeCreateOptions): Promise<Volume>;
  list(): Promise<Volume[]>;
  get(ref: string): Promise<Volume>;
  /** Grows a volume to `sizeMiB` (online; never smaller than it is). */
  resize(ref: string, sizeMiB: number): Promise<Volume>;
  remove(ref: string): Promise<Volume>;
}

/** Options of `images.build`. Defaults: the default image, no force. */
export interface ImageBuildOptions {
  /** Rebuild even if the image exists. */
  force?: boolean;
  /** Build the image derived from `parent` with these packages (named from the set unless a name is given). */
  packages?: string[];
  /** The image a package build stands on. Default "default". */
  parent?: string;
  /** Sees each progress line as it arrives. */
  onEvent?: (ev: ImageBuildEvent) => void;
}

/** Options of `egressEvents`. Defaults: the last 100 events. */
export interface EgressEventsOptions {
  /** The last N events (1-1000, default 100). */
  limit?: number;
  /** Only events with a larger `seq` (to follow). */
  after?: number;
}

/** Options of `runtimes.stop`. */
export interface StopOptions {
  /** Seconds between SIGTERM and SIGKILL (0-3600). Default 10. */
  graceSecs?: number;
}

/** Options of a buffered exec. Defaults: 60 s timeout, 1 MiB per stream. */
export interface ExecOptions {
  timeoutSecs?: number;
  env?: Record<string, string>;
  cwd?: string;
  stdin?: string;
  maxOutputBytes?: number;
  /** `USER[:GROUP]` inside the runtime (default root). */
  user?: string;
}

/**
 * A buffered exec result: the wire fields with `stdout`/`stderr` as UTF-8 text (invalid sequences replaced, see
 * `stdout_invalid_utf8`), plus the exact bytes. The SDK asks the daemon for base64, so the bytes are exact.
 */
export interface ExecOutput extends ExecResult {
  readonly stdoutText: string;
  readonly stderrText: string;
  /** The command's stdout, byte for byte. */
  readonly stdoutBytes: Buffer;
  /** The command's stderr, byte for byte. */
  readonly stderrBytes: Buffer;
}

/** Options of a streamed exec. */
export interface ExecStreamOptions {
  tty?: boolean;
  rows?: number;
  cols?: number;
  env?: Record<string, string>;
  cwd?: string;
  /** `USER[:GROUP]` inside the runtime (default root). */
  user?: string;
  /**
   * Terminal sessions: how long the daemon keeps the process when the connection drops, for `attach` (default
   * LIMITS.execGraceSecsDefault = 60 s; 0 hangs it up at once).
   */
  graceSecs?: number;
}

/** How a streamed command ended. */
export interface StreamExit {
  code: number;
  signal?: string | null;
  oom_killed?: boolean;
}

/** A streamed exec over the websocket (DESIGN §4). */
export interface ExecStreamHandle {
  /** The exec object's id, once the daemon said it (the `started` event). */
  readonly execId?: string;
  on(event: "started", cb: (info: { exec_id: string }) => void): this;
  on(event: "stdout" | "stderr", cb: (chunk: Buffer) => void): this;
  on(event: "exit", cb: (exit: StreamExit) => void): this;
  on(event: "error", cb: (err: Error) => void): this;
  write(data: Buffer | string): void;
  closeStdin(): void;
  resize(rows: number, cols: number): void;
  signal(sig: StreamSignal): void;
  /** Closes the connection; the server hangs up the process. */
  close(): void;
  /** Resolves with the exit, rejects with a typed RuntaApiError (e.g. failed_precondition, unavailable). */
  wait(): Promise<StreamExit>;
}

/** A handle on one runtime; `info` is the record as last fetched. */
export interface RuntimeHandleApi {
  readonly id: string;
  readonly name: string;
  readonly info: Runtime;
  /** Same as info.status, under the seed's name. */
  readonly cachedInfo: { status: RuntimeStatus } & Runtime;
  exec(command: string | string[], opts?: ExecOptions): Promise<ExecOutput>;
  execStream(command: string | string[], opts?: ExecStreamOptions): ExecStreamHandle;
  refresh(): Promise<Runtime>;
  start(): Promise<Runtime>;
  stop(opts?: StopOptions): Promise<Runtime>;
  pause(): Promise<Runtime>;
  resume(): Promise<Runtime>;
  delete(): Promise<Runtime>;
  resizeMemory(memoryMiB: number): Promise<Runtime>;
  resize(req: ResizeRequest): Promise<Runtime>;
  update(req: UpdateOptions): Promise<Runtime>;
  egress(): Promise<RuntimeEgress>;
  setEgress(policy: EgressPolicyInput): Promise<RuntimeEgress>;
  egressEvents(opts?: EgressEventsOptions): Promise<EgressEvent[]>;
  /** Its published ports with their URLs. */
  ports(): Promise<PublishedPort[]>;
  /** Publishes one more port (default protocol http; tcp with a host port). */
  publish(port: PortRequest): Promise<PublishedPort>;
  /** Stops publishing a port. */
  unpublish(port: number): Promise<PublishedPort>;
  /** Its files (paths inside the runtime, resolved within its root). */
  readonly files: RuntimeFilesApi;
  /** Freezes its filesystem as checkpoint `name`. */
  checkpoint(name: string, opts?: CheckpointOptions): Promise<Checkpoint>;
}

/** A resize: memory and vCPUs live, the disk grown (never shrunk). */
export interface ResizeRequest {
  memoryMiB?: number;
  vcpus?: number;
  diskSizeGiB?: number;
}

/** Files of one runtime: tar streams for trees, raw bytes for one file. */
export interface RuntimeFilesApi {
  stat(path: string): Promise<FileStat>;
  download(path: string, opts?: { signal?: AbortSignal }): Promise<AsyncIterable<Uint8Array>>;
  upload(dir: string, tar: Buffer | Uint8Array | string | AsyncIterable<Uint8Array> | NodeJS.ReadableStream, opts?: { keepOwner?: boolean; signal?: AbortSignal }): Promise<FilesWritten>;
  read(path: string): Promise<Buffer>;
  readStream(path: string, opts?: { signal?: AbortSignal }): Promise<AsyncIterable<Uint8Array>>;
  write(path: string, data: Buffer | Uint8Array | string | AsyncIterable<Uint8Array> | NodeJS.ReadableStream, opts?: { mode?: number; signal?: AbortSignal }): Promise<FilesWritten>;
}

/** Options of a checkpoint. `kind` "full" (default) is the filesystem; "live" would add processes (CRIU), where the host allows it. */
export interface CheckpointOptions {
  kind?: Checkpoint["kind"];
}

/** `runta.checkpoints`. */
export interface CheckpointsApi {
  create(runtime: string, name: string, opts?: CheckpointOptions): Promise<Checkpoint>;
  list(): Promise<Checkpoint[]>;
  get(ref: string): Promise<Checkpoint>;
  restore(ref: string, name: string | undefined, opts?: Omit<CreateOptions, "image" | "wait" | "idempotencyKey">): Promise<RuntimeHandleApi>;
  remove(ref: string): Promise<Checkpoint>;
}

/** `runta.secrets`. */
export interface SecretsApi {
  list(): Promise<Secret[]>;
  get(name: string): Promise<Secret>;
  set(name: string, value: string): Promise<Secret>;
  remove(name: string): Promise<Secret>;
  rules(runtime: string): Promise<SecretRule[]>;
  setRule(runtime: string, rule: SecretRuleInput): Promise<SecretRule>;
  removeRule(runtime: string, host: string, header: string): Promise<SecretRule>;
}

export interface ListOptions {
  status?: RuntimeStatus[];
  /** Page size; list() follows cursors until the end unless `limit` is set and `all` is false. */
  limit?: number;
  after?: string;
  /** Add each running or paused runtime's current cgroup usage (default false: a list is cheap). */
  usage?: boolean;
  /** Include warm pools' waiting members, each with its `pool` (default false). */
  pooled?: boolean;
}

/** Options of `pools.set`. Defaults: max = min, the shape of a create without options (image "default", 1 vCPU, 1024 MiB). */
export interface PoolOptions {
  /** Runtimes kept booted and waiting. */
  min: number;
  /** The most members the pool holds. */
  max?: number;
  image?: string;
  vcpus?: number;
  memoryMiB?: number;
}

/** `runta.pools`: warm pools, runtimes kept booted so a create of their shape takes one. */
export interface PoolsApi {
  list(): Promise<Pool[]>;
  set(name: string, opts: PoolOptions): Promise<Pool>;
  remove(name: string): Promise<Pool>;
}

/** Options of `runtimes.get`. */
export interface GetOptions {
  /** Default true: the record carries current cgroup usage. `false` asks for the record alone (a lookup by name). */
  usage?: boolean;
}

/** What `update` changes (PATCH of the runtime). */
export interface UpdateOptions {
  description?: string;
  /** A new idle timeout in seconds (the idle clock restarts now); null removes it. */
  idleTimeoutSecs?: number | null;
}

/** `runta.runtimes`: every verb also accepts a name or id directly. */
export interface RuntimesApi {
  create(name: string | undefined, opts?: CreateOptions): Promise<RuntimeHandleApi>;
  /** All runtimes (follows pagination), as handles whose `cachedInfo.status` is the listed status. */
  list(opts?: ListOptions): Promise<RuntimeHandleApi[]>;
  get(nameOrId: string, opts?: GetOptions): Promise<RuntimeHandleApi>;
  start(nameOrId: string): Promise<Runtime>;
  stop(nameOrId: string, opts?: StopOptions): Promise<Runtime>;
  pause(nameOrId: string): Promise<Runtime>;
  resume(nameOrId: string): Promise<Runtime>;
  delete(nameOrId: string): Promise<Runtime>;
  resize(nameOrId: string, req: ResizeRequest): Promise<Runtime>;
  files(nameOrId: string): RuntimeFilesApi;
  checkpoint(nameOrId: string, name: string, opts?: CheckpointOptions): Promise<Checkpoint>;
  /** Gives a runtime a new name (unique); its id stays. */
  rename(nameOrId: string, name: string): Promise<Runtime>;
  /** Changes what can change in place without a resize: the description ("" clears it), the idle timeout; any status. */
  update(nameOrId: string, req: UpdateOptions): Promise<Runtime>;
  exec(nameOrId: string, command: string | string[], opts?: ExecOptions): Promise<ExecOutput>;
  execStream(nameOrId: string, command: string | string[], opts?: ExecStreamOptions): ExecStreamHandle;
  /** The runtime's network (mode, address) and egress policy. */
  egress(nameOrId: string): Promise<RuntimeEgress>;
  /** Replaces the egress policy; it applies at once, live connections included. */
  setEgress(nameOrId: string, policy: EgressPolicyInput): Promise<RuntimeEgress>;
  /** Its published ports with their URLs. */
  ports(nameOrId: string): Promise<PublishedPort[]>;
  /** Publishes one more port (default protocol http; tcp with a host port). */
  publish(nameOrId: string, port: PortRequest): Promise<PublishedPort>;
  /** Stops publishing a port; resolves with what it was. */
  unpublish(nameOrId: string, port: number): Promise<PublishedPort>;
  /** Egress audit events, oldest first. */
  egressEvents(nameOrId: string, opts?: EgressEventsOptions): Promise<EgressEvent[]>;
}

export interface ImagesApi {
  list(): Promise<Image[]>;
  /** Builds the default image, or an image of packages over a parent; `onEvent` sees progress lines as they arrive. */
  build(name?: string, opts?: ImageBuildOptions): Promise<Image>;
  /** Uploads a root-filesystem tarball (plain or gzip). */
  import(name: string, tarball: NodeJS.ReadableStream | Buffer): Promise<Image>;
  remove(name: string): Promise<void>;
}

/** Options of a detached or streamed exec (`runta.execs`). No timeout unless `timeoutSecs`. */
export interface ExecStartOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** `USER[:GROUP]`, names or numbers, resolved inside the runtime (default root). */
  user?: string;
  timeoutSecs?: number;
}

/** Options of `execs.run`: output callbacks (a returned promise is awaited: backpressure) and an abort. */
export interface ExecRunOptions extends ExecStartOptions {
  onStdout?: (chunk: Buffer) => void | Promise<void>;
  onStderr?: (chunk: Buffer) => void | Promise<void>;
  onStarted?: (info: { exec_id: string; pid: number | null }) => void;
  /** Aborting closes the stream; the daemon then kills the command's process group. */
  signal?: AbortSignal;
}

/** How a streamed exec ended. `code` is 128+n for death by signal n. */
export interface StreamedExit {
  exec_id: string;
  code: number;
  signal: string | null;
  oom_killed: boolean;
  ended_by: string;
}

/** Options of `execs.attach`: the terminal size to set on attach. */
export interface ExecAttachOptions {
  rows?: number;
  cols?: number;
}

/** `runta.execs`: exec objects of a runtime (name or id). */
export interface ExecsApi {
  list(runtime: string): Promise<ExecInfo[]>;
  get(runtime: string, id: string): Promise<ExecInfo>;
  signal(runtime: string, id: string, signal?: ExecSignal): Promise<ExecInfo>;
  start(runtime: string, command: string | string[], opts?: ExecStartOptions): Promise<ExecInfo>;
  run(runtime: string, command: string | string[], opts?: ExecRunOptions): Promise<StreamedExit>;
  attach(runtime: string, id: string, opts?: ExecAttachOptions): ExecStreamHandle;
}

/** The client as the CLI sees it. */
export interface RuntaApi {
  readonly endpoint: string;
  readonly runtimes: RuntimesApi;
  readonly execs: ExecsApi;
  readonly images: ImagesApi;
  readonly checkpoints: CheckpointsApi;
  readonly volumes: VolumesApi;
  readonly pools: PoolsApi;
  readonly secrets: SecretsApi;
  version(): Promise<VersionInfo>;
  /** Where the daemon's ingress listens and the CA its https URLs are signed by. */
  ingress(): Promise<IngressInfo>;
  /** True when `/v1/health` answers. Never throws. */
  ping(timeoutMs?: number): Promise<boolean>;
  /** A one-time dashboard login link (`url`: the endpoint plus `login_path`). */
  dashboardLogin(): Promise<DashboardLink>;
}

/** A dashboard login link: open `url` once, before `expires_at`. */
export interface DashboardLink extends DashboardLogin {
  url: string;
}
