/** `Runta`: the SDK entry point (DESIGN §8), an HTTP client of the daemon's REST API v1. */
import type { Checkpoint, DashboardLogin, ExecResult, Image, ImageBuildEvent, Pool, Runtime as RuntimeRecord, VersionInfo } from "../api/index.js";
import { LIMITS } from "../api/limits.js";
import type { EgressEvent, EgressPolicyInput, RuntimeEgress } from "../api/egress.js";
import type { CheckpointOptions, CreateOptions, DashboardLink, EgressEventsOptions, ExecOptions, ExecOutput, ExecStreamHandle, ExecStreamOptions, GetOptions, ImageBuildOptions, ImagesApi, ListOptions, PoolOptions, PoolsApi, ResizeRequest, RuntaApi, RuntimesApi, StopOptions, UpdateOptions } from "./contract.js";
import type { IngressInfo, PortRequest, PublishedPort } from "../api/ports-spec.js";
import { CheckpointsClient, createBody } from "./checkpoints.js";
import { VolumesClient } from "./volumes.js";
import { SecretsClient } from "./secrets.js";
import { RuntimeFiles } from "./files.js";
import { resolveConfig, readLocalToken } from "./config.js";
import { apiErrorFromCode, type RuntaApiError } from "./errors.js";
import { ExecStream } from "./exec-stream.js";
import { ExecsClient } from "./execs.js";
import { Transport, bodyChunks, seg } from "./http.js";
import { Runtime, toExecOutput } from "./runtime.js";

/** Options of {@link Runta}. */
export interface RuntaOptions {
  /** Daemon URL. Default: RUNTA_ENDPOINT, else "endpoint" in ~/.config/runta/config.json, else DEFAULT_ENDPOINT (http://127.0.0.1:7420). */
  endpoint?: string;
  /** Bearer token. Default: RUNTA_TOKEN, else "token" in the config file, else (local daemon only) its token file. */
  token?: string;
  /** The environment endpoint and token are resolved from. Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /** Injectable fetch (tests, proxies). Default: the global fetch. */
  fetch?: typeof fetch;
  /** Retries of idempotent requests on connection errors and 503. Default 2. */
  maxRetries?: number;
}

/** `runta.runtimes`: create, list and get runtimes, and every verb by name or id. */
export class RuntimesClient implements RuntimesApi {
  constructor(private readonly http: Transport) {}

  /** Creates a runtime; waits until it is running unless `wait: false`. Defaults: 1 vCPU, 1024 MiB, image "default". */
  async create(name: string | undefined, opts: CreateOptions = {}): Promise<Runtime> {
    const body = createBody(name, opts);
    const { data } = await this.http.json<RuntimeRecord>("POST", "/v1/runtimes", {
      body,
      query: { wait: opts.wait === false ? "false" : undefined },
      headers: opts.idempotencyKey ? { "Idempotency-Key": opts.idempotencyKey } : undefined,
    });
    return new Runtime(this, data);
  }

  /** Lists runtimes. Without `limit` it follows cursors to the end; with `limit` it returns one page. */
  async list(opts: ListOptions = {}): Promise<Runtime[]> {
    const out: Runtime[] = [];
    let after = opts.after;
    for (;;) {
      const { data, pagination } = await this.http.json<RuntimeRecord[]>("GET", "/v1/runtimes", {
        // Following cursors: ask for the largest page, so a fleet of 200 is one request, not two.
        query: {
          status: opts.status?.length ? opts.status.join(",") : undefined,
          limit: opts.limit ?? LIMITS.listLimitMax,
          after,
          usage: opts.usage ? "true" : undefined,
          pooled: opts.pooled ? "true" : undefined,
        },
      });
      for (const r of data) out.push(new Runtime(this, r));
      if (opts.limit !== undefined || !pagination?.has_more || !pagination.next_cursor) return out;
      after = pagination.next_cursor;
    }
  }

  /** Gets one runtime by name or id, with current usage unless `usage: false`. */
  async get(nameOrId: string, opts: GetOptions = {}): Promise<Runtime> {
    const { data } = await this.http.json<RuntimeRecord>("GET", `/v1/runtimes/${seg(nameOrId)}`, { query: { usage: opts.usage === false ? "false" : undefined } });
    return new Runtime(this, data);
  }

  private async verb(nameOrId: string, verb: string, body?: Record<string, unknown>): Promise<RuntimeRecord> {
    // Lifecycle verbs are idempotent by design (asking for the current state is a no-op), so they may be retried.
    return (await this.http.json<RuntimeRecord>("POST", `/v1/runtimes/${seg(nameOrId)}/${verb}`, { body, retry: true })).data;
  }
  /** Boots a shut-down runtime. */
  start(nameOrId: string): Promise<RuntimeRecord> {
    return this.verb(nameOrId, "start");
  }
  /** Shuts a runtime down, keeping its filesystem: SIGTERM, then SIGKILL after `graceSecs` (default 10). */
  stop(nameOrId: string, opts: StopOptions = {}): Promise<RuntimeRecord> {
    return this.verb(nameOrId, "stop", opts.graceSecs === undefined ? undefined : { grace_secs: opts.graceSecs });
  }
  /** Freezes a running runtime. */
  pause(nameOrId: string): Promise<RuntimeRecord> {
    return this.verb(nameOrId, "pause");
  }
  /** Thaws a paused runtime. */
  resume(nameOrId: string): Promise<RuntimeRecord> {
    return this.verb(nameOrId, "resume");
  }
  /** Deletes a runtime; resolves with its last record. */
  async delete(nameOrId: string): Promise<RuntimeRecord> {
    return (await this.http.json<RuntimeRecord>("DELETE", `/v1/runtimes/${seg(nameOrId)}`)).data;
  }
  /** Live resize of memory (MiB) and/or vCPUs, and growing the disk (GiB). */
  async resize(nameOrId: string, req: ResizeRequest): Promise<RuntimeRecord> {
    const requests: Record<string, number> = {};
    if (req.memoryMiB !== undefined) requests.memory_mib = req.memoryMiB;
    if (req.vcpus !== undefined) requests.vcpus = req.vcpus;
    if (req.diskSizeGiB !== undefined) requests.disk_size_gib = req.diskSizeGiB;
    return (await this.http.json<RuntimeRecord>("PATCH", `/v1/runtimes/${seg(nameOrId)}`, { body: { resources: { requests } }, retry: true })).data;
  }
  /** Gives a runtime a new name (unique); id, state and processes are untouched. Not retried: the old name is gone after. */
  async rename(nameOrId: string, name: string): Promise<RuntimeRecord> {
    return (await this.http.json<RuntimeRecord>("PATCH", `/v1/runtimes/${seg(nameOrId)}`, { body: { name }, retry: false })).data;
  }
  /** Replaces the description ("" clears it) and/or the idle timeout (null removes it); any status. */
  async update(nameOrId: string, req: UpdateOptions): Promise<RuntimeRecord> {
    const body = { description: req.description, idle_timeout_secs: req.idleTimeoutSecs };
    return (await this.http.json<RuntimeRecord>("PATCH", `/v1/runtimes/${seg(nameOrId)}`, { body, retry: true })).data;
  }
  /**
   * Buffered exec. A string runs through `sh -c`; an array runs as is. Defaults: 60 s timeout, 1 MiB per stream.
   * The result has the output as text (`stdoutText`) and as exact bytes (`stdoutBytes`).
   */
  async exec(nameOrId: string, command: string | string[], opts: ExecOptions = {}): Promise<ExecOutput> {
    const { data } = await this.http.json<ExecResult>("POST", `/v1/runtimes/${seg(nameOrId)}/exec`, {
      body: {
        command,
        cwd: opts.cwd,
        env: opts.env,
        stdin: opts.stdin,
        timeout_secs: opts.timeoutSecs,
        max_output_bytes: opts.maxOutputBytes,
        user: opts.user,
        // Bytes, not text: stdoutBytes must be exact; toExecOutput decodes the text from them.
        output_encoding: "base64",
      },
    });
    return toExecOutput(data);
  }
  /** The files of a runtime: tar streams in and out, one file as raw bytes. */
  files(nameOrId: string): RuntimeFiles {
    return new RuntimeFiles(this.http, nameOrId);
  }
  /** Freezes a runtime's filesystem as checkpoint `name` (see `runta.checkpoints`). */
  async checkpoint(nameOrId: string, name: string, opts: CheckpointOptions = {}): Promise<Checkpoint> {
    return (await this.http.json<Checkpoint>("POST", `/v1/runtimes/${seg(nameOrId)}/checkpoints`, { body: { name, kind: opts.kind } })).data;
  }
  /** Streamed exec over the websocket. */
  execStream(nameOrId: string, command: string | string[], opts?: ExecStreamOptions): ExecStreamHandle {
    return new ExecStream({ endpoint: this.http.endpoint, token: this.http.token, runtime: nameOrId, command, options: opts });
  }
  /** The runtime's network (mode, address) and egress policy. */
  async egress(nameOrId: string): Promise<RuntimeEgress> {
    return (await this.http.json<RuntimeEgress>("GET", `/v1/runtimes/${seg(nameOrId)}/egress`)).data;
  }
  /** Replaces the whole egress policy (PUT: safe to retry); it applies at once, live connections included. */
  async setEgress(nameOrId: string, policy: EgressPolicyInput): Promise<RuntimeEgress> {
    return (await this.http.json<RuntimeEgress>("PUT", `/v1/runtimes/${seg(nameOrId)}/egress`, { body: policy, retry: true })).data;
  }
  /** Egress audit events, oldest first: the last `limit` (default 100), or those after `after`. */
  async egressEvents(nameOrId: string, opts: EgressEventsOptions = {}): Promise<EgressEvent[]> {
    return (await this.http.json<EgressEvent[]>("GET", `/v1/runtimes/${seg(nameOrId)}/egress/events`, { query: { limit: opts.limit, after: opts.after } })).data;
  }
  /** Its published ports with their URLs. */
  async ports(nameOrId: string): Promise<PublishedPort[]> {
    return (await this.http.json<PublishedPort[]>("GET", `/v1/runtimes/${seg(nameOrId)}/ports`)).data;
  }
  /** Publishes one more port (not retried: a second try would find it published). */
  async publish(nameOrId: string, port: PortRequest): Promise<PublishedPort> {
    return (await this.http.json<PublishedPort>("POST", `/v1/runtimes/${seg(nameOrId)}/ports`, { body: port })).data;
  }
  /** Stops publishing a port; resolves with what it was. */
  async unpublish(nameOrId: string, port: number): Promise<PublishedPort> {
    return (await this.http.json<PublishedPort>("DELETE", `/v1/runtimes/${seg(nameOrId)}/ports/${port}`)).data;
  }
}

/** `runta.images`: root-filesystem images. */
export class ImagesClient implements ImagesApi {
  constructor(private readonly http: Transport) {}

  /** Lists images. */
  async list(): Promise<Image[]> {
    return (await this.http.json<Image[]>("GET", "/v1/images")).data;
  }

  /**
   * Builds an image (default "default"; with `packages`, the image derived from `parent` with them, named from the set
   * unless `name`); `onEvent` sees each NDJSON progress line as it arrives.
   */
  async build(name?: string, opts: ImageBuildOptions = {}): Promise<Image> {
    const body = { name: name ?? (opts.packages?.length ? undefined : "default"), force: opts.force, packages: opts.packages, parent: opts.parent };
    const res = await this.http.send("POST", "/v1/images/build", { body });
    const lines = bodyChunks(res);
    if (!lines) throw apiErrorFromCode("internal", "the image build response had no body");
    const decoder = new TextDecoder();
    let buffered = "";
    let result: Image | undefined;
    const handle = (line: string) => {
      if (!line.trim()) return;
      let ev: ImageBuildEvent;
      try {
        ev = JSON.parse(line) as ImageBuildEvent;
      } catch {
        throw apiErrorFromCode("internal", "the daemon sent an image build line that is not JSON");
      }
      opts.onEvent?.(ev);
      if (ev.type === "error") throw apiErrorFromCode(ev.error.code, ev.error.message);
      if (ev.type === "done") result = ev.data;
    };
    for await (const chunk of lines) {
      buffered += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        handle(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
      }
    }
    handle(buffered + decoder.decode());
    if (!result) throw apiErrorFromCode("unavailable", "the image build stream ended before the build finished; check `runta image ls` and the daemon log");
    return result;
  }

  /** Uploads a root-filesystem tarball (plain or gzip, detected from its first bytes) as image `name`. */
  async import(name: string, tarball: NodeJS.ReadableStream | Buffer): Promise<Image> {
    let data: Buffer | AsyncIterable<Uint8Array>;
    let first: Uint8Array | undefined;
    if (Buffer.isBuffer(tarball)) {
      data = tarball;
      first = tarball;
    } else {
      const it = (tarball as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
      const head = await it.next();
      first = head.done ? undefined : head.value;
      data = (async function* () {
        if (first) yield typeof first === "string" ? Buffer.from(first) : first;
        for (let n = await it.next(); !n.done; n = await it.next()) yield typeof n.value === "string" ? Buffer.from(n.value) : n.value;
      })();
    }
    const gzip = first !== undefined && first.length >= 2 && first[0] === 0x1f && first[1] === 0x8b;
    const { data: image } = await this.http.json<Image>("POST", "/v1/images/import", {
      query: { name },
      rawBody: { data: data as BodyInit | AsyncIterable<Uint8Array>, contentType: gzip ? "application/gzip" : "application/x-tar" },
    });
    return image;
  }

  /** Removes an image (refused while runtimes use it). */
  async remove(name: string): Promise<void> {
    await this.http.json("DELETE", `/v1/images/${seg(name)}`);
  }
}

/** `runta.pools`: warm pools (runtimes kept booted so a create of their shape takes one). */
export class PoolsClient implements PoolsApi {
  constructor(private readonly http: Transport) {}

  /** Every pool with its ready and booting members. */
  async list(): Promise<Pool[]> {
    return (await this.http.json<Pool[]>("GET", "/v1/pools")).data;
  }

  /** Creates or changes a pool (max defaults to min; the shape to a create's defaults). */
  async set(name: string, opts: PoolOptions): Promise<Pool> {
    const requests = { vcpus: opts.vcpus, memory_mib: opts.memoryMiB };
    const body = { min: opts.min, max: opts.max, image: opts.image, resources: requests.vcpus === undefined && requests.memory_mib === undefined ? undefined : { requests } };
    return (await this.http.json<Pool>("PUT", `/v1/pools/${seg(name)}`, { body })).data;
  }

  /** Removes a pool and its waiting members. */
  async remove(name: string): Promise<Pool> {
    return (await this.http.json<Pool>("DELETE", `/v1/pools/${seg(name)}`)).data;
  }
}

/**
 * The runta SDK. `new Runta()` finds the daemon and its token exactly as the CLI does (explicit options, then
 * RUNTA_ENDPOINT/RUNTA_TOKEN, then ~/.config/runta/config.json, then the local daemon and its token file), so a
 * script works in any shell where `runta ps` does. Without a token, requests fail with one line saying where to get one.
 */
export class Runta implements RuntaApi {
  /** The daemon URL in use. */
  readonly endpoint: string;
  /** Runtimes: create, list, get and every verb. */
  readonly runtimes: RuntimesClient;
  /** Images: list, build, import, remove. */
  readonly images: ImagesClient;
  /** Checkpoints: create, list, get, restore (fork), remove. */
  readonly checkpoints: CheckpointsClient;
  /** Exec objects: list, get, signal, start detached, run streamed, attach. */
  readonly execs: ExecsClient;
  /** Volumes: create, list, get, remove. */
  readonly volumes: VolumesClient;
  /** Warm pools: set, list, remove. */
  readonly pools: PoolsClient;
  /** Secrets (set, list, get, remove; values never come back) and runtimes' injection rules. */
  readonly secrets: SecretsClient;
  private readonly http: Transport;

  constructor(opts: RuntaOptions = {}) {
    const config = resolveConfig({ endpoint: opts.endpoint, token: opts.token }, opts.env ?? process.env);
    let token = config.token?.value;
    let noToken: RuntaApiError | undefined;
    if (token === undefined && config.endpoint.source === "default") {
      try {
        token = readLocalToken(config.local).value;
      } catch (err) {
        // Not fatal here: ping needs no token, and the daemon may be about to create it. Requests say why.
        noToken = err as RuntaApiError;
      }
    } else if (token === undefined) {
      noToken = apiErrorFromCode(
        "unauthenticated",
        `no token for ${config.endpoint.value} (from ${config.endpoint.origin}) — set RUNTA_TOKEN, put "token" in ${config.configFile}, or pass { token }`,
      );
    }
    this.http = new Transport({ endpoint: config.endpoint.value, token, noToken, fetch: opts.fetch, maxRetries: opts.maxRetries });
    this.endpoint = this.http.endpoint;
    this.runtimes = new RuntimesClient(this.http);
    this.images = new ImagesClient(this.http);
    this.checkpoints = new CheckpointsClient(this.http, this.runtimes);
    this.execs = new ExecsClient(this.http);
    this.volumes = new VolumesClient(this.http);
    this.pools = new PoolsClient(this.http);
    this.secrets = new SecretsClient(this.http);
  }

  /** Versions of runta, runc, the kernel and node on the daemon's host. */
  async version(): Promise<VersionInfo> {
    return (await this.http.json<VersionInfo>("GET", "/v1/version")).data;
  }

  /** Where the daemon's ingress listens, its domain, and the CA (PEM) its https URLs are signed by. */
  async ingress(): Promise<IngressInfo> {
    return (await this.http.json<IngressInfo>("GET", "/v1/ingress")).data;
  }

  /** A one-time login link for the dashboard at `<endpoint>/ui/` (works once, for two minutes). */
  async dashboardLogin(): Promise<DashboardLink> {
    const { data } = await this.http.json<DashboardLogin>("POST", "/v1/dashboard/login");
    return { ...data, url: this.endpoint + data.login_path };
  }

  /** True when /v1/health answers within `timeoutMs` (default 1000). Never throws. */
  async ping(timeoutMs = 1000): Promise<boolean> {
    // A ref'd timer, not AbortSignal.timeout (unref'd): a peer that accepts and then stalls must not leave
    // node with nothing keeping it alive and the caller's promise unsettled.
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs);
    try {
      await this.http.json("GET", "/v1/health", { signal: abort.signal, retry: false });
      return true;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
    }
  }
}
