/** `runta.volumes`: named, persistent directories (each with a size bound) that outlive runtimes and mount into several. */
import type { Volume } from "../api/index.js";
import type { VolumeCreateOptions, VolumesApi } from "./contract.js";
import { type Transport, seg } from "./http.js";

/** Volumes by name or id. */
export class VolumesClient implements VolumesApi {
  constructor(private readonly http: Transport) {}

  /** Creates volume `name` (its disk formatted and mounted when this resolves). Default size 10240 MiB. */
  async create(name: string, opts: VolumeCreateOptions = {}): Promise<Volume> {
    return (await this.http.json<Volume>("POST", "/v1/volumes", { body: { name, size_mib: opts.sizeMiB } })).data;
  }

  /** Every volume, oldest first, with the runtimes mounting each (`in_use_by`). */
  async list(): Promise<Volume[]> {
    return (await this.http.json<Volume[]>("GET", "/v1/volumes")).data;
  }

  /** One volume. */
  async get(ref: string): Promise<Volume> {
    return (await this.http.json<Volume>("GET", `/v1/volumes/${seg(ref)}`)).data;
  }

  /** Grows a volume's disk to `sizeMiB` (16–1048576), online: runtimes mounting it keep running. Smaller than it is: 422. */
  async resize(ref: string, sizeMiB: number): Promise<Volume> {
    return (await this.http.json<Volume>("PATCH", `/v1/volumes/${seg(ref)}`, { body: { size_mib: sizeMiB } })).data;
  }

  /** Removes a volume and its contents (refused while any runtime mounts it). */
  async remove(ref: string): Promise<Volume> {
    return (await this.http.json<Volume>("DELETE", `/v1/volumes/${seg(ref)}`)).data;
  }
}
