/**
 * `runtime.files`: files in and out of one runtime. Directories travel as tar streams (what `runta cp` and
 * `docker cp` use), a single file as raw bytes. Paths are absolute paths inside the runtime; the daemon resolves
 * them within the runtime's root, symlinks included.
 */
import type { FileStat, FilesWritten } from "../api/index.js";
import { Transport, bodyChunks, seg } from "./http.js";

/** Bytes to upload: a buffer, a string (UTF-8), or a stream (node Readable or any async iterable of bytes). */
export type UploadBody = Buffer | Uint8Array | string | AsyncIterable<Uint8Array> | NodeJS.ReadableStream;

function bodyOf(data: UploadBody): BodyInit | AsyncIterable<Uint8Array> {
  if (typeof data === "string") return Buffer.from(data);
  if (data instanceof Uint8Array) return data as unknown as BodyInit;
  return data as AsyncIterable<Uint8Array>;
}

/** The files of one runtime (by name or id). */
export class RuntimeFiles {
  constructor(
    private readonly http: Transport,
    private readonly runtime: string,
  ) {}

  private get base(): string {
    return `/v1/runtimes/${seg(this.runtime)}/files`;
  }

  /** What is at `path` (a symlink at the end is described, not followed). */
  async stat(path: string): Promise<FileStat> {
    return (await this.http.json<FileStat>("GET", `${this.base}/stat`, { query: { path } })).data;
  }

  /** A tar stream of `path` (a directory recursively; its top entry is the path's last component). */
  async download(path: string, opts: { signal?: AbortSignal } = {}): Promise<AsyncIterable<Uint8Array>> {
    const res = await this.http.send("GET", this.base, { query: { path }, headers: { Accept: "application/x-tar" }, signal: opts.signal });
    return bodyChunks(res) as AsyncIterable<Uint8Array>;
  }

  /** Unpacks a tar stream into the existing directory `dir`. Owners become root unless `keepOwner`. */
  async upload(dir: string, tar: UploadBody, opts: { keepOwner?: boolean; signal?: AbortSignal } = {}): Promise<FilesWritten> {
    const { data } = await this.http.json<FilesWritten>("PUT", this.base, {
      query: { path: dir, keep_owner: opts.keepOwner ? "true" : undefined },
      rawBody: { data: bodyOf(tar), contentType: "application/x-tar" },
      signal: opts.signal,
      // A stream can be sent once only.
      retry: false,
    });
    return data;
  }

  /** One regular file's bytes, whole. */
  async read(path: string): Promise<Buffer> {
    const res = await this.http.send("GET", this.base, { query: { path, format: "raw" }, headers: { Accept: "application/octet-stream" } });
    return Buffer.from(await res.arrayBuffer());
  }

  /** One regular file's bytes as a stream. */
  async readStream(path: string, opts: { signal?: AbortSignal } = {}): Promise<AsyncIterable<Uint8Array>> {
    const res = await this.http.send("GET", this.base, { query: { path, format: "raw" }, headers: { Accept: "application/octet-stream" }, signal: opts.signal });
    return bodyChunks(res) as AsyncIterable<Uint8Array>;
  }

  /** Writes one file (its directory must exist), replacing it atomically. Default mode 0644, owned by root. */
  async write(path: string, data: UploadBody, opts: { mode?: number; signal?: AbortSignal } = {}): Promise<FilesWritten> {
    const { data: written } = await this.http.json<FilesWritten>("PUT", this.base, {
      query: { path, format: "raw", mode: opts.mode === undefined ? undefined : opts.mode.toString(8).padStart(4, "0") },
      rawBody: { data: bodyOf(data), contentType: "application/octet-stream" },
      signal: opts.signal,
      retry: false,
    });
    return written;
  }
}
