/** The `Runtime` handle: one runtime, its last-fetched record, and every verb on it. */
import type { Checkpoint, ExecResult, Runtime as RuntimeRecord, RuntimeStatus } from "../api/index.js";
import type { EgressEvent, EgressPolicyInput, RuntimeEgress } from "../api/egress.js";
import type { PortRequest, PublishedPort } from "../api/ports-spec.js";
import type { CheckpointOptions, EgressEventsOptions, ExecOptions, ExecOutput, ExecStreamHandle, ExecStreamOptions, ResizeRequest, RuntimeFilesApi, RuntimeHandleApi, RuntimesApi, StopOptions, UpdateOptions } from "./contract.js";

/**
 * Turns a wire exec result into an {@link ExecOutput}: base64 output is decoded, `stdout`/`stderr` become UTF-8 text
 * and the exact bytes ride along (non-enumerable accessors, so JSON output keeps the wire's shape).
 */
export function toExecOutput(result: ExecResult): ExecOutput {
  const base64 = result.output_encoding === "base64";
  const stdoutBytes = base64 ? Buffer.from(result.stdout, "base64") : Buffer.from(result.stdout, "utf8");
  const stderrBytes = base64 ? Buffer.from(result.stderr, "base64") : Buffer.from(result.stderr, "utf8");
  const text = base64 ? { stdout: stdoutBytes.toString("utf8"), stderr: stderrBytes.toString("utf8"), output_encoding: "utf8" as const } : {};
  const out = { ...result, ...text };
  return Object.defineProperties(out, {
    stdoutText: { get: () => out.stdout, enumerable: false },
    stderrText: { get: () => out.stderr, enumerable: false },
    stdoutBytes: { get: () => stdoutBytes, enumerable: false },
    stderrBytes: { get: () => stderrBytes, enumerable: false },
  }) as ExecOutput;
}

/**
 * A handle on one runtime. Verbs address it by id (stable even if names are reused) and refresh `info` from
 * the record the daemon returns.
 */
export class Runtime implements RuntimeHandleApi {
  private record: RuntimeRecord;

  constructor(
    private readonly api: RuntimesApi,
    record: RuntimeRecord,
  ) {
    this.record = record;
  }

  /** The runtime's UUID. */
  get id(): string {
    return this.record.id;
  }
  /** The runtime's name. */
  get name(): string {
    return this.record.name;
  }
  /** The record as last fetched (by create, list, get, refresh or a verb). */
  get info(): RuntimeRecord {
    return this.record;
  }
  /** Same as `info`, under the seed's name: `cachedInfo.status` is the last known status. */
  get cachedInfo(): { status: RuntimeStatus } & RuntimeRecord {
    return this.record;
  }

  /** Runs a command and waits for it. A string runs through `sh -c`; an array runs as is. Default timeout 60 s. */
  exec(command: string | string[], opts?: ExecOptions): Promise<ExecOutput> {
    return this.api.exec(this.id, command, opts);
  }
  /** Starts a streamed command over the websocket (default: no tty). */
  execStream(command: string | string[], opts?: ExecStreamOptions): ExecStreamHandle {
    return this.api.execStream(this.id, command, opts);
  }
  /** Re-reads the record (with current usage). */
  async refresh(): Promise<RuntimeRecord> {
    return this.track(this.api.get(this.id).then((h) => h.info));
  }
  /** Boots a shut-down runtime. */
  start(): Promise<RuntimeRecord> {
    return this.track(this.api.start(this.id));
  }
  /** Shuts it down, keeping its filesystem (SIGKILL after `graceSecs`, default 10). */
  stop(opts?: StopOptions): Promise<RuntimeRecord> {
    return this.track(this.api.stop(this.id, opts));
  }
  /** Freezes every process. */
  pause(): Promise<RuntimeRecord> {
    return this.track(this.api.pause(this.id));
  }
  /** Thaws a paused runtime. */
  resume(): Promise<RuntimeRecord> {
    return this.track(this.api.resume(this.id));
  }
  /** Removes it and everything in it; resolves with the last record. */
  delete(): Promise<RuntimeRecord> {
    return this.track(this.api.delete(this.id));
  }
  /** Changes the memory limit live (MiB). */
  resizeMemory(memoryMiB: number): Promise<RuntimeRecord> {
    return this.resize({ memoryMiB });
  }
  /** Changes memory and/or vCPUs live, or grows the disk; the record carries the values read back. */
  resize(req: ResizeRequest): Promise<RuntimeRecord> {
    return this.track(this.api.resize(this.id, req));
  }
  /** Its files: `stat`, `download`/`upload` (tar), `read`/`write` (one file). */
  get files(): RuntimeFilesApi {
    return this.api.files(this.id);
  }
  /** Freezes its filesystem as checkpoint `name` (paused for the copy when running). Default kind "full". */
  checkpoint(name: string, opts?: CheckpointOptions): Promise<Checkpoint> {
    return this.api.checkpoint(this.id, name, opts);
  }

  /** Replaces its description ("" clears it) and/or its idle timeout (null removes it). */
  update(req: UpdateOptions): Promise<RuntimeRecord> {
    return this.track(this.api.update(this.id, req));
  }

  /** Its network (mode, address) and egress policy. */
  egress(): Promise<RuntimeEgress> {
    return this.api.egress(this.id);
  }
  /** Replaces its egress policy, e.g. `{ mode: "allowlist", allow: ["deb.debian.org", "10.0.0.0/8"] }`. */
  setEgress(policy: EgressPolicyInput): Promise<RuntimeEgress> {
    return this.api.setEgress(this.id, policy);
  }
  /** Its egress audit events, oldest first (default the last 100). */
  egressEvents(opts?: EgressEventsOptions): Promise<EgressEvent[]> {
    return this.api.egressEvents(this.id, opts);
  }
  /** Its published ports with their URLs. */
  ports(): Promise<PublishedPort[]> {
    return this.api.ports(this.id);
  }
  /** Publishes one more port, e.g. `{ port: 8080 }` or `{ port: 8443, protocol: "https" }`. */
  publish(port: PortRequest): Promise<PublishedPort> {
    return this.api.publish(this.id, port);
  }
  /** Stops publishing a port. */
  unpublish(port: number): Promise<PublishedPort> {
    return this.api.unpublish(this.id, port);
  }

  private async track(p: Promise<RuntimeRecord>): Promise<RuntimeRecord> {
    this.record = await p;
    return this.record;
  }
}
