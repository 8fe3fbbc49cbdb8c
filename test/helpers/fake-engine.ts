/**
 * An in-memory Engine for API contract tests: the DESIGN §2 state machine, names/ids, idempotent create, cursor
 * pagination and images, without runc. Exec does not run anything: it echoes the argv it was given (so tests can see
 * how the server built it) followed by its stdin, and `exit N` as the last argv word sets the exit code.
 */
import { randomUUID } from "node:crypto";
import { constants, release } from "node:os";
import {
  envDigest,
  errors,
  LIMITS,
  RuntaError,
  type ExecInfo,
  type ExecSignal,
  type Image,
  type ImageBuildEvent,
  type Runtime,
  type RuntimeStatus,
} from "../../src/api/index.js";
import { CapturedOutput, type CapturedExec } from "../../src/engine/exec-output.js";
import { ExecRegistry } from "../../src/engine/execs/registry.js";
import { listPage } from "../../src/engine/runtime-view.js";
import { TerminalSession } from "../../src/engine/execs/session.js";
import type { CreateSpec, DetachedSpec, Engine, ExecSpec, ListFilter, ListPage, StreamProcess, StreamSpec } from "../../src/engine/types.js";
import type { EgressEvent, EgressPolicyInput, RuntimeEgress } from "../../src/api/egress.js";
import { portBinding, publishedPort, type PortBinding, type PortRequest } from "../../src/api/ports-spec.js";
import type { PublishedConnection } from "../../src/engine/ingress/ingress.js";
import { checkedPolicy, createPolicy } from "../../src/engine/network/policy.js";
import { FakeStreamProcess } from "./fake-stream.js";

interface Rec {
  seq: number;
  rt: Runtime;
  idempotencyKey?: string;
  requestHash?: string;
}

/** The fake's host size: vCPU requests above this are refused like the real engine does for host cores. */
export const FAKE_HOST_CORES = 8;

export class FakeEngine implements Engine {
  private seq = 0;
  private readonly recs = new Map<string, Rec>();
  private readonly images = new Map<string, Image>();
  private readonly injected = new Map<string, unknown>();
  /** Every ExecSpec received, in order. */
  readonly execs: Array<{ ref: string; spec: ExecSpec }> = [];
  /** Buffered execs whose output is held (execCaptured's results not yet released). */
  outputsHeld = 0;
  /** The exec objects (the real registry; terminal sessions are real TerminalSessions over fake processes). */
  readonly registry = new ExecRegistry();
  /** Every streamed process started, in order (tests drive their output and exit). */
  readonly streams: FakeStreamProcess[] = [];
  /** Every CreateSpec received, in order. */
  readonly creates: CreateSpec[] = [];
  closed = false;

  constructor() {
    for (const name of ["default", "busybox"]) {
      this.images.set(name, { name, size_bytes: 1 << 20, created_at: new Date().toISOString(), source: "fake", in_use_by: [], parent: null, packages: [], python_version: null });
    }
  }

  /** Makes the next call of `method` throw `err` (e.g. a plain Error to test the internal mapping). */
  inject(method: keyof Engine, err: unknown): void {
    this.injected.set(method, err);
  }

  private check(method: keyof Engine): void {
    if (this.injected.has(method)) {
      const err = this.injected.get(method);
      this.injected.delete(method);
      throw err;
    }
  }

  private find(ref: string): Rec {
    for (const r of this.recs.values()) if (r.rt.id === ref || r.rt.name === ref) return r;
    throw errors.notFound(`runtime '${ref}' not found: list runtimes with 'runta ps -a'`, { runtime: ref });
  }

  private set(rec: Rec, status: RuntimeStatus): Runtime {
    const now = new Date().toISOString();
    const frozen = rec.rt.status === "paused" || rec.rt.status === "suspended";
    const pause_reason = status === "paused" ? "user" : status === "suspended" ? "idle" : null;
    rec.rt = { ...rec.rt, status, pause_reason, updated_at: now, revision: rec.rt.revision + 1, started_at: status === "running" && !frozen ? now : rec.rt.started_at };
    return this.view(rec);
  }

  private view(rec: Rec): Runtime {
    const { usage: _u, ...rt } = rec.rt;
    const ports = (this.bindings?.get(rt.id) ?? []).map((b) => publishedPort(b, rt.id, { domain: "runta.localhost", port: 7480 }));
    return { ...structuredClone(rt), ports };
  }

  private precondition(rec: Rec, op: string, fix: string): RuntaError {
    return errors.precondition(`cannot ${op} runtime '${rec.rt.name}': it is ${rec.rt.status}; ${fix}`, { status: rec.rt.status });
  }

  async create(spec: CreateSpec, opts: { wait?: boolean; existed?: () => void } = {}): Promise<Runtime> {
    this.check("create");
    this.creates.push(spec);
    if (spec.idempotencyKey) {
      const prior = [...this.recs.values()].find((r) => r.idempotencyKey === spec.idempotencyKey);
      if (prior) {
        if (prior.requestHash === spec.requestHash) {
          opts.existed?.();
          return this.view(prior);
        }
        throw errors.exists(`Idempotency-Key '${spec.idempotencyKey}' was used with a different request body`);
      }
    }
    const name = spec.name ?? `rt-${randomUUID().slice(0, 8)}`;
    if ([...this.recs.values()].some((r) => r.rt.name === name)) throw errors.exists(`a runtime named '${name}' already exists`, { name });
    const image = spec.image ?? "default";
    if (!this.images.has(image)) throw errors.notFound(`image '${image}' not found: build or import it first`);
    const vcpus = spec.vcpus ?? LIMITS.defaultVcpus;
    if (vcpus > FAKE_HOST_CORES) throw errors.outOfRange(`resources.requests.vcpus: must be at most ${FAKE_HOST_CORES} (the host's cores)`);
    const now = new Date().toISOString();
    const id = randomUUID();
    const rec: Rec = {
      seq: ++this.seq,
      idempotencyKey: spec.idempotencyKey,
      requestHash: spec.requestHash,
      rt: {
        id,
        name,
        status: "creating",
        image,
        resources: { requests: { vcpus, memory_mib: spec.memoryMib ?? LIMITS.defaultMemoryMib } },
        volumes: (spec.volumes ?? []).map((v) => ({ volume: v.volume, volume_id: v.volume, path: v.path, read_only: v.readOnly ?? false })),
        env_names: Object.keys(spec.env ?? {}),
        env_digest: envDigest(id, spec.env ?? {}),
        labels: spec.labels ?? {},
        hostname: spec.hostname ?? name,
        description: spec.description ?? "",
        exec_timeout_secs: spec.execTimeoutSecs ?? null,
        lifetime_secs: spec.lifetimeSecs ?? null,
        shutdown_at: null,
        created_at: now,
        updated_at: now,
        started_at: null,
        revision: 1,
        last_error: null,
        idle_timeout_secs: spec.idleTimeoutSecs ?? null,
        last_activity_at: null,
        exit_code: null,
        pause_reason: null,
        idle: null,
        ports: [],
      },
    };
    this.recs.set(rec.rt.id, rec);
    const policy = createPolicy(spec);
    if (policy) this.policies.set(rec.rt.id, policy);
    if (opts.wait === false) {
      const out = this.view(rec);
      setTimeout(() => rec.rt.status === "creating" && this.set(rec, "running"), 20);
      return out;
    }
    return this.set(rec, "running");
  }

  async list(filter: ListFilter = {}): Promise<ListPage> {
    this.check("list");
    const limit = filter.limit ?? LIMITS.listLimitDefault;
    let after = 0;
    if (filter.after !== undefined) {
      after = Number(Buffer.from(filter.after, "base64url").toString("utf8").replace(/^seq:/, ""));
      if (!Number.isInteger(after) || after < 0) throw errors.invalid("query.after: not a cursor from a previous page; start over without 'after'");
    }
    const all = [...this.recs.values()]
      .filter((r) => r.seq > after && (!filter.status?.length || filter.status.includes(r.rt.status)))
      .sort((a, b) => a.seq - b.seq);
    const page = all.slice(0, limit);
    const more = all.length > limit;
    const items = page.map((r) => (filter.usage ? this.withUsage(r) : this.view(r)));
    return listPage(items.map((rt) => JSON.stringify(rt)), more ? Buffer.from(`seq:${page[page.length - 1]!.seq}`).toString("base64url") : null);
  }

  async get(ref: string, opts: { usage?: boolean } = {}): Promise<Runtime> {
    this.check("get");
    const rec = this.find(ref);
    return opts.usage ? this.withUsage(rec) : this.view(rec);
  }

  /** A made-up usage: 4 MiB of memory, 1 ms of CPU, one process (null when nothing runs). */
  private withUsage(rec: Rec): Runtime {
    const rt = this.view(rec);
    const live = rec.rt.status === "running" || rec.rt.status === "paused";
    rt.usage = live ? { memory_bytes: 4 << 20, memory_limit_bytes: rec.rt.resources.requests.memory_mib * 1024 * 1024, cpu_usage_ns: 1_000_000, pids: 1 } : null;
    return rt;
  }

  async rename(ref: string, name: string): Promise<Runtime> {
    this.check("rename");
    const rec = this.find(ref);
    if ([...this.recs.values()].some((r) => r !== rec && r.rt.name === name)) throw errors.exists(`a runtime named '${name}' already exists`, { field: "name" });
    rec.rt = { ...rec.rt, name };
    return this.view(rec);
  }

  async resize(ref: string, req: { vcpus?: number; memoryMib?: number }): Promise<Runtime> {
    this.check("resize");
    const rec = this.find(ref);
    if (!["running", "paused", "shutdown"].includes(rec.rt.status)) throw this.precondition(rec, "resize", "wait until it is running");
    if (req.vcpus !== undefined && req.vcpus > FAKE_HOST_CORES) throw errors.outOfRange(`resources.requests.vcpus: must be at most ${FAKE_HOST_CORES} (the host's cores)`);
    const r = rec.rt.resources.requests;
    rec.rt.resources = { requests: { vcpus: req.vcpus ?? r.vcpus, memory_mib: req.memoryMib ?? r.memory_mib } };
    return this.set(rec, rec.rt.status);
  }

  async describe(ref: string, description: string): Promise<Runtime> {
    this.check("describe");
    const rec = this.find(ref);
    rec.rt.description = description;
    return this.set(rec, rec.rt.status);
  }

  async setIdleTimeout(ref: string, secs: number | null): Promise<Runtime> {
    this.check("setIdleTimeout");
    const rec = this.find(ref);
    rec.rt.idle_timeout_secs = secs;
    return this.set(rec, rec.rt.status);
  }

  /** How many times `wake` resumed a suspended runtime. */
  wakes = 0;

  async wake(ref: string): Promise<void> {
    this.check("wake");
    const rec = this.find(ref);
    if (rec.rt.status === "running") return;
    if (rec.rt.status !== "suspended") throw this.precondition(rec, "wake", "resume it ('runta resume')");
    this.wakes++;
    this.set(rec, "running");
  }

  /** Activity holds open now, by runtime id and kind. */
  readonly holds = new Map<string, number>();

  activityHold(runtimeId: string, kind: "ingress"): () => void {
    const key = `${runtimeId}/${kind}`;
    this.holds.set(key, (this.holds.get(key) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holds.set(key, this.holds.get(key)! - 1);
    };
  }

  /** Test hook: the idle keeper's suspend, without a clock. */
  suspend(ref: string): Runtime {
    return this.set(this.find(ref), "suspended");
  }

  async start(ref: string): Promise<Runtime> {
    this.check("start");
    const rec = this.find(ref);
    if (rec.rt.status === "running") return this.view(rec);
    if (rec.rt.status !== "shutdown" && rec.rt.status !== "crashed") throw this.precondition(rec, "start", rec.rt.status === "paused" ? "resume it instead" : "wait until it settles");
    return this.set(rec, "running");
  }

  /** The grace period each stop was given (undefined: the default), in order. */
  stopGraces: (number | undefined)[] = [];

  async stop(ref: string, opts: { graceSecs?: number } = {}): Promise<Runtime> {
    this.check("stop");
    this.stopGraces.push(opts.graceSecs);
    const rec = this.find(ref);
    if (rec.rt.status === "shutdown") return this.view(rec);
    if (!["running", "paused", "crashed", "suspended"].includes(rec.rt.status)) throw this.precondition(rec, "stop", "wait until it settles");
    return this.set(rec, "shutdown");
  }

  async pause(ref: string): Promise<Runtime> {
    this.check("pause");
    const rec = this.find(ref);
    if (rec.rt.status === "paused") return this.view(rec);
    if (rec.rt.status !== "running") throw this.precondition(rec, "pause", "start it first ('runta boot')");
    return this.set(rec, "paused");
  }

  async resume(ref: string): Promise<Runtime> {
    this.check("resume");
    const rec = this.find(ref);
    if (rec.rt.status === "running") return this.view(rec);
    if (rec.rt.status !== "paused" && rec.rt.status !== "suspended") throw this.precondition(rec, "resume", "start it instead ('runta boot')");
    return this.set(rec, "running");
  }

  async delete(ref: string): Promise<Runtime> {
    this.check("delete");
    const rec = this.find(ref);
    this.recs.delete(rec.rt.id);
    return this.set(rec, "deleting");
  }

  async execCaptured(ref: string, spec: ExecSpec): Promise<CapturedExec> {
    this.check("exec");
    const rec = this.find(ref);
    if (rec.rt.status !== "running") throw this.precondition(rec, "exec in", rec.rt.status === "paused" ? "resume it first ('runta resume')" : "start it first ('runta boot')");
    this.execs.push({ ref, spec });
    const max = spec.maxOutputBytes ?? LIMITS.execMaxOutputBytesDefault;
    const full = Buffer.from(spec.argv.join(" ") + "\n" + (spec.stdin?.toString("utf8") ?? ""));
    const exit = /(?:^|\s)exit (\d+)$/.exec(spec.argv[spec.argv.length - 1] ?? "");
    const entry = this.registry.add(rec.rt.id, { kind: "buffered", argv: spec.argv, user: spec.user, tty: false });
    const code = exit ? Number(exit[1]) : 0;
    entry.ended({ code, signal: null, oomKilled: false });
    const stdout = new CapturedOutput(max);
    stdout.push(full);
    const stderr = CapturedOutput.of(Buffer.alloc(0));
    const encoding = spec.outputEncoding ?? "utf8";
    this.outputsHeld++;
    let released = false;
    return {
      result: {
        exec_id: entry.id,
        exit_code: code,
        signal: null,
        duration_ms: 1,
        stdout_truncated: stdout.truncated,
        stderr_truncated: false,
        timed_out: false,
        oom_killed: false,
        output_encoding: encoding,
        stdout_invalid_utf8: !stdout.validUtf8,
        stderr_invalid_utf8: false,
      },
      stdout,
      stderr,
      release: () => {
        if (!released) this.outputsHeld--;
        released = true;
      },
    };
  }

  async execStream(ref: string, spec: StreamSpec): Promise<StreamProcess> {
    this.check("execStream");
    const rec = this.find(ref);
    if (rec.rt.status !== "running") throw this.precondition(rec, "exec in", "start it first ('runta boot')");
    // A `cat`: stdin comes back on stdout; closing stdin or a signal ends it.
    const proc = new FakeStreamProcess(spec, { echo: true });
    this.streams.push(proc);
    const entry = this.registry.add(rec.rt.id, { kind: spec.tty ? "terminal" : "stream", argv: spec.argv, user: spec.user, tty: spec.tty });
    void proc.wait().then((e) => entry.ended(e));
    proc.execId = entry.id;
    if (!spec.tty || spec.graceSecs === 0) return proc;
    entry.session = new TerminalSession(proc, entry, (spec.graceSecs ?? LIMITS.execGraceSecsDefault) * 1000, LIMITS.execReplayBytes);
    return entry.session.connect();
  }

  async execDetached(ref: string, spec: DetachedSpec): Promise<ExecInfo> {
    this.check("execDetached");
    const rec = this.find(ref);
    if (rec.rt.status !== "running") throw this.precondition(rec, "exec in", "start it first ('runta boot')");
    const entry = this.registry.add(rec.rt.id, { kind: "detached", argv: spec.argv, user: spec.user, tty: false });
    entry.pid = 4242;
    return entry.info();
  }

  async listExecs(ref: string): Promise<ExecInfo[]> {
    return this.registry.list(this.find(ref).rt.id).map((e) => e.info());
  }

  async getExec(ref: string, id: string): Promise<ExecInfo> {
    const rec = this.find(ref);
    return this.registry.get(rec.rt.id, id, rec.rt.name).info();
  }

  async signalExec(ref: string, id: string, signal: ExecSignal): Promise<ExecInfo> {
    const rec = this.find(ref);
    const entry = this.registry.get(rec.rt.id, id, rec.rt.name);
    if (!entry.running) entry.signal(signal); // throws the real "has ended" refusal
    // No process to signal: the fake's detached execs die of any signal at once.
    entry.markEnding("killed");
    entry.ended({ code: 128 + (constants.signals[`SIG${signal}`] ?? 9), signal, oomKilled: false });
    return entry.info();
  }

  async attachExec(ref: string, id: string): Promise<{ proc: StreamProcess; replay: Buffer }> {
    const rec = this.find(ref);
    const entry = this.registry.get(rec.rt.id, id, rec.rt.name);
    if (!entry.session) throw errors.precondition(`exec ${id} is not a terminal session`);
    const { view, replay } = entry.session.attach();
    return { proc: view, replay };
  }

  private readonly policies = new Map<string, RuntimeEgress["policy"]>();
  /** Egress events served per runtime id (tests push into it). */
  readonly egressLog = new Map<string, EgressEvent[]>();

  async egress(ref: string): Promise<RuntimeEgress> {
    this.check("egress");
    const rt = this.find(ref).rt;
    return { runtime: rt.name, runtime_id: rt.id, network: "nat", address: "10.64.0.2", policy: this.policies.get(rt.id) ?? { mode: "open", allow: [], deny: [] } };
  }

  async setEgress(ref: string, policy: EgressPolicyInput): Promise<RuntimeEgress> {
    this.check("setEgress");
    this.policies.set(this.find(ref).rt.id, checkedPolicy(policy));
    return this.egress(ref);
  }

  async egressEvents(ref: string, opts: { limit?: number; after?: number } = {}): Promise<EgressEvent[]> {
    this.check("egressEvents");
    const all = (this.egressLog.get(this.find(ref).rt.id) ?? []).filter((e) => e.seq > (opts.after ?? 0));
    return all.slice(-(opts.limit ?? 100));
  }

  /** Published ports by runtime id (URLs under fake.runta.localhost:7480). */
  private readonly bindings = new Map<string, PortBinding[]>();
  /** What openPublished hands out; tests set it (default: nothing is reachable). */
  published: (runtimeId: string, port: number) => Promise<PublishedConnection> = async () => {
    throw errors.notFound("no such service");
  };
  async publishPort(ref: string, req: PortRequest): Promise<Runtime> {
    this.check("publishPort");
    const rec = this.find(ref);
    const list = this.bindings.get(rec.rt.id) ?? [];
    if (list.some((b) => b.port === req.port)) throw errors.exists(`port ${req.port} is already published`);
    list.push(portBinding(req));
    this.bindings.set(rec.rt.id, list);
    return this.view(rec);
  }

  async unpublishPort(ref: string, port: number): Promise<Runtime> {
    this.check("unpublishPort");
    const rec = this.find(ref);
    const list = this.bindings.get(rec.rt.id) ?? [];
    if (!list.some((b) => b.port === port)) throw errors.notFound(`port ${port} is not published`);
    this.bindings.set(rec.rt.id, list.filter((b) => b.port !== port));
    return this.view(rec);
  }

  openPublished(runtimeId: string, port: number): Promise<PublishedConnection> {
    return this.published(runtimeId, port);
  }

  async listImages(): Promise<Image[]> {
    this.check("listImages");
    const used = (name: string) => [...this.recs.values()].filter((r) => r.rt.image === name).map((r) => r.rt.name);
    return [...this.images.values()].map((i) => ({ ...i, in_use_by: used(i.name) }));
  }

  async buildImage(nameArg: string | undefined, onEvent: (ev: ImageBuildEvent) => void, opts: { force?: boolean; packages?: string[]; parent?: string } = {}): Promise<Image> {
    this.check("buildImage");
    const name = nameArg ?? (opts.packages?.length ? `${opts.parent ?? "default"}-pkgs-fake` : "default");
    if (name !== "default" && !opts.packages?.length) throw errors.invalid(`only the 'default' image can be built from nothing; give packages or import other images from a tarball`);
    const existing = this.images.get(name);
    if (existing && !opts.force) return existing;
    onEvent({ type: "progress", message: "debootstrap: resolving dependencies", percent: 10 });
    await new Promise((r) => setTimeout(r, 5));
    onEvent({ type: "progress", message: "debootstrap: installing packages", percent: 60 });
    const derived = opts.packages?.length ? { parent: opts.parent ?? "default", packages: opts.packages } : { parent: null, packages: [] };
    const img: Image = { name, size_bytes: 2 << 20, created_at: new Date().toISOString(), source: "debootstrap bookworm", in_use_by: [], ...derived, python_version: "3.11.2" };
    this.images.set(name, img);
    return img;
  }

  async importImage(name: string, tarball: NodeJS.ReadableStream): Promise<Image> {
    this.check("importImage");
    if (this.images.has(name)) throw errors.exists(`image '${name}' already exists: remove it first`);
    let size = 0;
    for await (const chunk of tarball as AsyncIterable<Buffer>) size += chunk.length;
    if (size === 0) throw errors.invalid("the tarball is empty");
    const img: Image = { name, size_bytes: size, created_at: new Date().toISOString(), source: "import", in_use_by: [], parent: null, packages: [], python_version: null };
    this.images.set(name, img);
    return img;
  }

  async removeImage(name: string): Promise<void> {
    this.check("removeImage");
    if (!this.images.has(name)) throw errors.notFound(`image '${name}' not found`);
    const users = [...this.recs.values()].filter((r) => r.rt.image === name).map((r) => r.rt.name);
    if (users.length) throw errors.precondition(`image '${name}' is used by ${users.join(", ")}: delete those runtimes first`);
    this.images.delete(name);
  }

  async version(): Promise<{ runc: string; kernel: string }> {
    this.check("version");
    return { runc: "1.1.5-fake", kernel: release() };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
