/** `runta.checkpoints`: frozen copies of a runtime's filesystem, and new runtimes restored from them (forks). */
import type { Checkpoint, Runtime as RuntimeRecord } from "../api/index.js";
import type { CheckpointOptions, CheckpointsApi, CreateOptions, RuntimesApi } from "./contract.js";
import { Transport, seg } from "./http.js";
import { Runtime } from "./runtime.js";

/** Options of a restore: those of a create, without the image or packages (the checkpoint's own image is used). */
export type RestoreOptions = Omit<CreateOptions, "image" | "wait" | "idempotencyKey" | "packages" | "runtimeVersion" | "type">;

/** The request body of a create or restore, from SDK options. */
export function createBody(name: string | undefined, opts: Omit<CreateOptions, "wait" | "idempotencyKey">): Record<string, unknown> {
  const requests: Record<string, number> = {};
  if (opts.vcpus !== undefined) requests.vcpus = opts.vcpus;
  if (opts.memoryMiB !== undefined) requests.memory_mib = opts.memoryMiB;
  if (opts.diskSizeGiB !== undefined) requests.disk_size_gib = opts.diskSizeGiB;
  return {
    name,
    image: opts.image,
    resources: Object.keys(requests).length ? { requests } : undefined,
    env: opts.env,
    labels: opts.labels,
    hostname: opts.hostname,
    description: opts.description,
    exec_timeout_secs: opts.execTimeoutSecs,
    lifetime_secs: opts.lifetimeSecs,
    idle_timeout_secs: opts.idleTimeoutSecs,
    network: opts.network,
    egress: opts.egress,
    volumes: opts.volumes?.map((v) => ({ volume: v.volume, path: v.path, read_only: v.readOnly })),
    packages: opts.packages,
    ports: opts.ports,
    runtime_version: opts.runtimeVersion,
    type: opts.type,
  };
}

/** Checkpoints by name or id. */
export class CheckpointsClient implements CheckpointsApi {
  constructor(
    private readonly http: Transport,
    private readonly runtimes: RuntimesApi,
  ) {}

  /** Freezes runtime `runtime`'s filesystem as checkpoint `name` (a running runtime is paused for the copy). Default kind "full". */
  create(runtime: string, name: string, opts: CheckpointOptions = {}): Promise<Checkpoint> {
    return this.runtimes.checkpoint(runtime, name, opts);
  }

  /** Every checkpoint, oldest first. */
  async list(): Promise<Checkpoint[]> {
    return (await this.http.json<Checkpoint[]>("GET", "/v1/checkpoints")).data;
  }

  /** One checkpoint. */
  async get(ref: string): Promise<Checkpoint> {
    return (await this.http.json<Checkpoint>("GET", `/v1/checkpoints/${seg(ref)}`)).data;
  }

  /** Creates runtime `name` from the checkpoint (running when this resolves). */
  async restore(ref: string, name: string | undefined, opts: RestoreOptions = {}): Promise<Runtime> {
    const { data } = await this.http.json<RuntimeRecord>("POST", `/v1/checkpoints/${seg(ref)}/restore`, { body: createBody(name, opts) });
    return new Runtime(this.runtimes, data);
  }

  /** Removes a checkpoint (refused while runtimes stand on it). */
  async remove(ref: string): Promise<Checkpoint> {
    return (await this.http.json<Checkpoint>("DELETE", `/v1/checkpoints/${seg(ref)}`)).data;
  }
}
