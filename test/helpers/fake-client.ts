/**
 * An in-memory RuntaApi for CLI tests: runtimes follow the lifecycle rules of DESIGN §2, errors are the SDK's
 * typed errors, every call is recorded, and any verb can be overridden to inject failures.
 */
import { randomUUID } from "node:crypto";
import { envDigest } from "../../src/api/env-digest.js";
import type { Checkpoint, ExecInfo, ExecResult, ExecSignal, Image, ImageBuildEvent, Runtime, RuntimeStatus, VersionInfo, Volume } from "../../src/api/index.js";
import type {
  CreateOptions,
  ExecAttachOptions,
  ExecRunOptions,
  ExecStartOptions,
  StreamedExit,
  ExecOptions,
  ExecOutput,
  ExecStreamHandle,
  ExecStreamOptions,
  GetOptions,
  ListOptions,
  RuntaApi,
  RuntimeHandleApi,
} from "../../src/client/contract.js";
import { apiErrorFromCode } from "../../src/client/errors.js";
import type { EgressEvent, EgressPolicyInput, RuntimeEgress } from "../../src/api/egress.js";
import type { Secret, SecretRule, SecretRuleInput } from "../../src/api/secret-policy.js";
import { portBinding, publishedPort, type PortRequest } from "../../src/api/ports-spec.js";

/** A call the CLI made, for assertions. */
export interface FakeCall {
  method: string;
  args: unknown[];
}

/** Hooks that replace the default behaviour of one verb. */
export interface FakeOverrides {
  start?(t: string): Promise<Runtime>;
  stop?(t: string): Promise<Runtime>;
  pause?(t: string): Promise<Runtime>;
  resume?(t: string): Promise<Runtime>;
  delete?(t: string): Promise<Runtime>;
  resize?(t: string, req: { memoryMiB?: number; vcpus?: number }): Promise<Runtime>;
  rename?(t: string, name: string): Promise<Runtime>;
  create?(name: string | undefined, opts: CreateOptions): Promise<Runtime>;
  exec?(t: string, argv: string | string[], opts: ExecOptions): Promise<Partial<ExecResult>>;
  execStream?(t: string, argv: string | string[], opts: ExecStreamOptions): ExecStreamHandle;
  /** Plain `runta exec` (execs.run): what the command "printed" and how it ended. */
  execRun?(t: string, argv: string | string[], opts: ExecRunOptions): Promise<{ stdout?: string | Buffer; stderr?: string | Buffer } & Partial<StreamedExit>>;
  execAttach?(t: string, id: string, opts: ExecAttachOptions): ExecStreamHandle;
  version?(): Promise<VersionInfo>;
}

/** Options of {@link fakeClient}. */
export interface FakeClientOptions extends FakeOverrides {
  runtimes?: Partial<Runtime>[];
  images?: Partial<Image>[];
  checkpoints?: Partial<Checkpoint>[];
  volumes?: Partial<Volume>[];
  /** Progress events an image build emits before it finishes. */
  buildEvents?: ImageBuildEvent[];
  /** What ping() answers (default true). */
  up?: boolean;
  /** Egress events by runtime name (what egressEvents serves, filtered by `after` and cut to `limit`). */
  egressEvents?: Record<string, EgressEvent[]>;
  /** Exec objects the runtimes already have (runtime_id names the runtime). */
  execs?: Partial<ExecInfo>[];
}

/** The fake plus its recorded calls and state. */
export interface FakeClient extends RuntaApi {
  calls: FakeCall[];
  state: Map<string, Runtime>;
  imageState: Map<string, Image>;
  checkpointState: Map<string, Checkpoint>;
}

/** A complete checkpoint record with sensible defaults. */
/** A complete volume record with sensible defaults. */
export function fakeVolume(over: Partial<Volume> = {}): Volume {
  return { id: randomUUID(), name: "data", size_bytes: 10 * 2 ** 30, used_bytes: 4096, created_at: "2026-01-01T00:00:00.000Z", in_use_by: [], ...over };
}

export function fakeCheckpoint(over: Partial<Checkpoint> = {}): Checkpoint {
  return {
    id: randomUUID(),
    display_name: "golden",
    state: "ready",
    kind: "full",
    source_runtime: "worker",
    source_runtime_id: randomUUID(),
    image: "default",
    parent: null,
    created_at: "2026-01-01T00:00:00.000Z",
    size_bytes: 4096,
    in_use_by: [],
    error: null,
    ...over,
  };
}

/** A complete exec object with sensible defaults (a running detached `sleep 100`). */
export function fakeExec(over: Partial<ExecInfo> = {}): ExecInfo {
  return {
    id: randomUUID().replace(/-/g, "").slice(0, 12),
    runtime_id: "",
    kind: "detached",
    command: ["sleep", "100"],
    user: null,
    pid: 42,
    tty: false,
    status: "running",
    started_at: "2026-01-01T00:04:00.000Z",
    ended_at: null,
    exit_code: null,
    signal: null,
    ended_by: null,
    attached: null,
    grace_expires_at: null,
    ...over,
  };
}

/** A complete runtime record with sensible defaults. */
export function fakeRuntime(over: Partial<Runtime> & { env?: Record<string, string> } = {}): Runtime {
  const now = new Date("2026-01-01T00:00:00.000Z").toISOString();
  const { env = {}, ...rest } = over;
  const id = rest.id ?? randomUUID();
  return {
    id,
    name: "rt",
    status: "running",
    image: "default",
    resources: { requests: { vcpus: 1, memory_mib: 1024, disk_size_gib: 10 } },
    volumes: [],
    exit_code: null,
    env_names: Object.keys(env),
    env_digest: envDigest(id, env),
    labels: {},
    hostname: rest.name ?? "rt",
    description: "",
    exec_timeout_secs: null,
    lifetime_secs: null,
    shutdown_at: null,
    created_at: now,
    updated_at: now,
    started_at: now,
    revision: 1,
    last_error: null,
    idle_timeout_secs: null,
    last_activity_at: null,
    pause_reason: null,
    idle: null,
    ports: [],
    usage: null,
    ...rest,
  };
}

function fakeImage(over: Partial<Image>): Image {
  return {
    name: "default",
    size_bytes: 150_000_000,
    created_at: "2026-01-01T00:00:00.000Z",
    source: "debootstrap",
    in_use_by: [],
    parent: null,
    packages: [],
    python_version: "3.11.2",
    ...over,
  };
}

/** Builds the fake. */
export function fakeClient(opts: FakeClientOptions = {}): FakeClient {
  const state = new Map<string, Runtime>();
  for (const r of opts.runtimes ?? []) {
    const rt = fakeRuntime(r);
    state.set(rt.id, rt);
  }
  const imageState = new Map<string, Image>();
  for (const i of opts.images ?? [{ name: "default" }, { name: "busybox", source: "import" }]) imageState.set(i.name!, fakeImage(i));
  const checkpointState = new Map<string, Checkpoint>();
  for (const c of opts.checkpoints ?? []) checkpointState.set(c.display_name ?? "golden", fakeCheckpoint(c));
  const volumeState = new Map<string, Volume>();
  for (const v of opts.volumes ?? []) volumeState.set(v.name ?? "data", fakeVolume(v));
  const calls: FakeCall[] = [];
  const record = (method: string, ...args: unknown[]) => calls.push({ method, args });

  const find = (t: string): Runtime => {
    const rt = [...state.values()].find((r) => r.id === t || r.name === t);
    if (!rt) throw apiErrorFromCode("not_found", `runtime "${t}" not found`);
    return rt;
  };
  const transition = (t: string, from: RuntimeStatus[], to: RuntimeStatus, verb: string): Runtime => {
    const rt = find(t);
    if (rt.status === to) return rt;
    if (!from.includes(rt.status)) {
      throw apiErrorFromCode("failed_precondition", `cannot ${verb} runtime "${rt.name}": it is ${rt.status}`);
    }
    rt.status = to;
    rt.revision++;
    return { ...rt };
  };
  const handle = (rt: Runtime): RuntimeHandleApi => {
    const h = {
      id: rt.id,
      name: rt.name,
      info: { ...rt },
      get cachedInfo() {
        return { ...rt };
      },
    };
    return h as unknown as RuntimeHandleApi;
  };
  const wrap = <A extends unknown[]>(name: keyof FakeOverrides, impl: (...a: A) => Runtime) =>
    async (...a: A): Promise<Runtime> => {
      record(name, ...a);
      const o = opts[name] as ((...x: A) => Promise<Runtime>) | undefined;
      return o ? o(...a) : impl(...a);
    };

  const policies = new Map<string, RuntimeEgress["policy"]>();
  const egressOf = (rt: Runtime): RuntimeEgress => ({
    runtime: rt.name,
    runtime_id: rt.id,
    network: "nat",
    address: "10.64.0.2",
    policy: policies.get(rt.id) ?? { mode: "open", allow: [], deny: [] },
  });

  const runtimes = {
    async egress(t: string) {
      record("egress", t);
      return egressOf(find(t));
    },
    async setEgress(t: string, p: EgressPolicyInput) {
      record("setEgress", t, p);
      const rt = find(t);
      policies.set(rt.id, { mode: p.mode, allow: p.allow ?? [], deny: p.deny ?? [] });
      return egressOf(rt);
    },
    async ports(t: string) {
      record("ports", t);
      return find(t).ports;
    },
    async publish(t: string, p: PortRequest) {
      record("publish", t, p);
      const rt = find(t);
      if (rt.ports.some((q) => q.port === p.port)) throw apiErrorFromCode("already_exists", `port ${p.port} is already published`);
      const published = publishedPort(portBinding(p), rt.id, { domain: "runta.localhost", port: 7480 });
      rt.ports = [...rt.ports, published];
      return published;
    },
    async unpublish(t: string, port: number) {
      record("unpublish", t, port);
      const rt = find(t);
      const was = rt.ports.find((q) => q.port === port);
      if (!was) throw apiErrorFromCode("not_found", `port ${port} is not published on runtime "${rt.name}"`);
      rt.ports = rt.ports.filter((q) => q.port !== port);
      return was;
    },
    async egressEvents(t: string, o: { limit?: number; after?: number } = {}) {
      record("egressEvents", t, o);
      const rt = find(t);
      const all = (opts.egressEvents?.[rt.name] ?? []).filter((e) => e.seq > (o.after ?? 0));
      return all.slice(-(o.limit ?? 100));
    },
    async create(name: string | undefined, o: CreateOptions = {}) {
      record("create", name, o);
      if (opts.create) return handle(await opts.create(name, o));
      if (name && [...state.values()].some((r) => r.name === name)) throw apiErrorFromCode("already_exists", `a runtime named "${name}" already exists`);
      const image = o.image ?? "default";
      if (!imageState.has(image)) throw apiErrorFromCode("not_found", `image "${image}" not found`);
      const rt = fakeRuntime({
        name: name ?? `rt-${state.size + 1}`,
        image,
        status: o.wait === false ? "creating" : "running",
        resources: { requests: { vcpus: o.vcpus ?? 1, memory_mib: o.memoryMiB ?? 1024 } },
        env: o.env,
        labels: o.labels ?? {},
        description: o.description ?? "",
        volumes: (o.volumes ?? []).map((v) => ({ volume: v.volume, volume_id: v.volume, path: v.path, read_only: v.readOnly ?? false })),
      });
      state.set(rt.id, rt);
      return handle(rt);
    },
    async list(o: ListOptions = {}) {
      record("list", o);
      return [...state.values()].filter((r) => !o.status || o.status.includes(r.status)).map(handle);
    },
    async get(t: string, o?: GetOptions) {
      record("get", t, o);
      return handle(find(t));
    },
    start: wrap("start", (t: string) => transition(t, ["shutdown", "crashed"], "running", "start")),
    stop: wrap("stop", (t: string) => transition(t, ["running", "paused", "crashed", "error"], "shutdown", "stop")),
    pause: wrap("pause", (t: string) => transition(t, ["running"], "paused", "pause")),
    resume: wrap("resume", (t: string) => transition(t, ["paused", "suspended"], "running", "resume")),
    delete: wrap("delete", (t: string) => {
      const rt = find(t);
      state.delete(rt.id);
      return rt;
    }),
    rename: wrap("rename", (t: string, name: string) => {
      const rt = find(t);
      if ([...state.values()].some((r) => r !== rt && r.name === name)) throw apiErrorFromCode("already_exists", `a runtime named "${name}" already exists`);
      rt.name = name;
      return { ...rt };
    }),
    resize: wrap("resize", (t: string, req: { memoryMiB?: number; vcpus?: number }) => {
      const rt = find(t);
      if (rt.status !== "running") throw apiErrorFromCode("failed_precondition", `cannot resize runtime "${rt.name}": it is ${rt.status}`);
      rt.resources.requests = {
        vcpus: req.vcpus ?? rt.resources.requests.vcpus,
        memory_mib: req.memoryMiB ?? rt.resources.requests.memory_mib,
      };
      return { ...rt, resources: { requests: { ...rt.resources.requests } } };
    }),
    update: wrap("update", (t: string, req: { description?: string }) => {
      const rt = find(t);
      if (req.description !== undefined) rt.description = req.description;
      return { ...rt };
    }),
    async exec(t: string, argv: string | string[], o: ExecOptions = {}): Promise<ExecOutput> {
      record("exec", t, argv, o);
      const rt = find(t);
      if (rt.status !== "running") throw apiErrorFromCode("failed_precondition", `runtime "${rt.name}" is ${rt.status}; resume it first`);
      const partial = opts.exec ? await opts.exec(t, argv, o) : { stdout: "", exit_code: 0 };
      const res: ExecResult = {
        exec_id: "e1",
        output_encoding: "utf8",
        stdout_invalid_utf8: false,
        stderr_invalid_utf8: false,
        exit_code: 0,
        signal: null,
        stdout: "",
        stderr: "",
        duration_ms: 1,
        stdout_truncated: false,
        stderr_truncated: false,
        timed_out: false,
        oom_killed: false,
        ...partial,
      };
      return { ...res, stdoutText: res.stdout, stderrText: res.stderr, stdoutBytes: Buffer.from(res.stdout), stderrBytes: Buffer.from(res.stderr) };
    },
    execStream(t: string, argv: string | string[], o: ExecStreamOptions = {}): ExecStreamHandle {
      record("execStream", t, argv, o);
      if (!opts.execStream) throw new Error("fake: execStream not configured");
      return opts.execStream(t, argv, o);
    },
  };

  const execState: ExecInfo[] = (opts.execs ?? []).map((e) => fakeExec(e));
  const running = (t: string): Runtime => {
    const rt = find(t);
    if (rt.status !== "running") throw apiErrorFromCode("failed_precondition", `runtime "${rt.name}" is ${rt.status}; resume it first`);
    return rt;
  };
  const findExec = (t: string, id: string): ExecInfo => {
    const rt = find(t);
    const e = execState.find((x) => x.runtime_id === rt.id && x.id === id);
    if (!e) throw apiErrorFromCode("not_found", `no exec ${id} in runtime "${rt.name}"; list them with: runta top ${rt.name}`);
    return e;
  };
  const execs = {
    async list(t: string) {
      record("execs.list", t);
      const rt = find(t);
      return execState.filter((e) => e.runtime_id === rt.id);
    },
    async get(t: string, id: string) {
      record("execs.get", t, id);
      return findExec(t, id);
    },
    async signal(t: string, id: string, sig: ExecSignal = "TERM") {
      record("execs.signal", t, id, sig);
      const e = findExec(t, id);
      if (e.status !== "running") throw apiErrorFromCode("failed_precondition", `exec ${id} has ended; there is nothing to signal`);
      Object.assign(e, { status: "ended", ended_by: "killed", signal: sig, exit_code: 128 + 9, ended_at: "2026-01-01T00:05:00.000Z" });
      return e;
    },
    async start(t: string, argv: string | string[], o: ExecStartOptions = {}) {
      record("execs.start", t, argv, o);
      const rt = running(t);
      const e = fakeExec({ runtime_id: rt.id, command: typeof argv === "string" ? ["sh", "-c", argv] : argv, user: o.user ?? null });
      execState.push(e);
      return e;
    },
    async run(t: string, argv: string | string[], o: ExecRunOptions = {}): Promise<StreamedExit> {
      const { onStdout, onStderr, onStarted, signal, ...rest } = o;
      record("execs.run", t, argv, rest);
      running(t);
      const r = opts.execRun ? await opts.execRun(t, argv, o) : {};
      onStarted?.({ exec_id: "e1", pid: 42 });
      if (r.stdout) await onStdout?.(Buffer.from(r.stdout));
      if (r.stderr) await onStderr?.(Buffer.from(r.stderr));
      void signal;
      return { exec_id: "e1", code: r.code ?? 0, signal: r.signal ?? null, oom_killed: r.oom_killed ?? false, ended_by: r.ended_by ?? "exited" };
    },
    attach(t: string, id: string, o: ExecAttachOptions = {}) {
      record("execs.attach", t, id, o);
      if (!opts.execAttach) throw new Error("fake: execAttach not configured");
      return opts.execAttach(t, id, o);
    },
  };

  const images = {
    async list() {
      record("images.list");
      return [...imageState.values()];
    },
    async build(nameArg?: string, o: { force?: boolean; packages?: string[]; parent?: string; onEvent?: (ev: ImageBuildEvent) => void } = {}) {
      if (o.packages?.length) record("images.build", nameArg, { force: o.force, packages: o.packages, parent: o.parent });
      else record("images.build", nameArg ?? "default", { force: o.force });
      for (const ev of opts.buildEvents ?? [{ type: "progress", message: "debootstrap: retrieving packages", percent: 10 }]) o.onEvent?.(ev);
      const name = nameArg ?? (o.packages?.length ? `${o.parent ?? "default"}-pkgs-fake` : "default");
      const img = fakeImage(o.packages?.length ? { name, parent: o.parent ?? "default", packages: o.packages } : { name });
      imageState.set(name, img);
      return img;
    },
    async import(name: string, tarball: NodeJS.ReadableStream | Buffer) {
      record("images.import", name);
      let size = 0;
      if (Buffer.isBuffer(tarball)) size = tarball.length;
      else for await (const c of tarball) size += (c as Buffer).length;
      const img = fakeImage({ name, size_bytes: size, source: "import" });
      imageState.set(name, img);
      return img;
    },
    async remove(name: string) {
      record("images.remove", name);
      if (!imageState.delete(name)) throw apiErrorFromCode("not_found", `image "${name}" not found`);
    },
  };

  const findCheckpoint = (ref: string): Checkpoint => {
    const cp = [...checkpointState.values()].find((c) => c.display_name === ref || c.id === ref);
    if (!cp) throw apiErrorFromCode("not_found", `checkpoint "${ref}" not found`);
    return cp;
  };
  const checkpoints = {
    async create(rt: string, name: string, o: { kind?: Checkpoint["kind"] } = {}) {
      record("checkpoints.create", rt, name, o);
      const source = find(rt);
      if (checkpointState.has(name)) throw apiErrorFromCode("already_exists", `a checkpoint named "${name}" already exists`);
      const cp = fakeCheckpoint({ display_name: name, source_runtime: source.name, source_runtime_id: source.id, image: source.image, kind: o.kind ?? "full" });
      checkpointState.set(name, cp);
      return cp;
    },
    async list() {
      record("checkpoints.list");
      return [...checkpointState.values()];
    },
    async get(ref: string) {
      record("checkpoints.get", ref);
      return findCheckpoint(ref);
    },
    async restore(ref: string, name: string | undefined, o: CreateOptions = {}) {
      record("checkpoints.restore", ref, name, o);
      const cp = findCheckpoint(ref);
      const rt = fakeRuntime({ name: name ?? `rt-${state.size + 1}`, image: cp.image, checkpoint: cp.display_name });
      state.set(rt.id, rt);
      cp.in_use_by.push(rt.name);
      return handle(rt);
    },
    async remove(ref: string) {
      record("checkpoints.remove", ref);
      const cp = findCheckpoint(ref);
      if (cp.in_use_by.length) throw apiErrorFromCode("failed_precondition", `checkpoint "${cp.display_name}" is in use by runtime(s) ${cp.in_use_by.join(", ")}`);
      checkpointState.delete(cp.display_name);
      return cp;
    },
  };

  const findVolume = (ref: string): Volume => {
    const v = [...volumeState.values()].find((x) => x.name === ref || x.id === ref);
    if (!v) throw apiErrorFromCode("not_found", `volume "${ref}" not found`);
    return v;
  };
  const volumes = {
    async create(name: string, o: { sizeMiB?: number } = {}) {
      record("volumes.create", name, o);
      if (volumeState.has(name)) throw apiErrorFromCode("already_exists", `a volume named "${name}" already exists`);
      const v = fakeVolume({ name, size_bytes: (o.sizeMiB ?? 10240) * 2 ** 20, used_bytes: 0 });
      volumeState.set(name, v);
      return v;
    },
    async list() {
      record("volumes.list");
      return [...volumeState.values()];
    },
    async get(ref: string) {
      record("volumes.get", ref);
      return findVolume(ref);
    },
    async resize(ref: string, sizeMiB: number) {
      record("volumes.resize", ref, sizeMiB);
      const v = findVolume(ref);
      if (sizeMiB * 2 ** 20 < v.size_bytes) throw apiErrorFromCode("invalid_argument", `volume "${v.name}" is ${v.size_bytes / 2 ** 20} MiB; volumes only grow`);
      v.size_bytes = sizeMiB * 2 ** 20;
      return v;
    },
    async remove(ref: string) {
      record("volumes.remove", ref);
      const v = findVolume(ref);
      if (v.in_use_by.length) throw apiErrorFromCode("failed_precondition", `volume "${v.name}" is mounted by runtime(s) ${v.in_use_by.join(", ")}`);
      volumeState.delete(v.name);
      return v;
    },
  };
  // Secrets: values are kept only so tests can check what the CLI sent (the real daemon never returns them).
  const secretValues = new Map<string, string>();
  const secretState = new Map<string, Secret>();
  const ruleState = new Map<string, SecretRule[]>();
  const findSecret = (ref: string): Secret => {
    const s = [...secretState.values()].find((x) => x.display_name === ref || x.id === ref);
    if (!s) throw apiErrorFromCode("not_found", `secret "${ref}" not found`);
    return s;
  };
  const secrets = {
    values: secretValues,
    async list() {
      record("secrets.list");
      return [...secretState.values()];
    },
    async get(ref: string) {
      record("secrets.get", ref);
      return findSecret(ref);
    },
    async set(name: string, value: string) {
      record("secrets.set", name);
      const now = "2026-01-01T00:04:00.000Z";
      const old = secretState.get(name);
      const s: Secret = old ? { ...old, updated_at: "2026-01-01T00:04:30.000Z" } : { id: `sec_${secretState.size + 1}`, display_name: name, created_at: now, updated_at: now, used_by: [] };
      secretState.set(name, s);
      secretValues.set(name, value);
      return s;
    },
    async remove(ref: string) {
      record("secrets.remove", ref);
      const s = findSecret(ref);
      secretState.delete(s.display_name);
      return s;
    },
    async rules(rt: string) {
      record("secrets.rules", rt);
      return ruleState.get(find(rt).name) ?? [];
    },
    async setRule(rt: string, rule: SecretRuleInput) {
      record("secrets.setRule", rt, rule);
      const name = find(rt).name;
      findSecret(rule.secret);
      const r: SecretRule = { ...rule, path: rule.path ?? "/*", allow_http: rule.allow_http ?? false, created_at: "2026-01-01T00:04:00.000Z" };
      ruleState.set(name, [...(ruleState.get(name) ?? []).filter((x) => !(x.host === r.host && x.header.toLowerCase() === r.header.toLowerCase())), r]);
      return r;
    },
    async removeRule(rt: string, host: string, header: string) {
      record("secrets.removeRule", rt, host, header);
      const name = find(rt).name;
      const r = (ruleState.get(name) ?? []).find((x) => x.host === host && x.header.toLowerCase() === header.toLowerCase());
      if (!r) throw apiErrorFromCode("not_found", `runtime "${name}" has no secret rule for host ${host} and header ${header}`);
      ruleState.set(name, ruleState.get(name)!.filter((x) => x !== r));
      return r;
    },
  };

  return {
    endpoint: "http://fake.invalid",
    volumes,
    secrets,
    runtimes: runtimes as unknown as RuntaApi["runtimes"],
    images,
    checkpoints: checkpoints as unknown as RuntaApi["checkpoints"],
    execs,
    async ingress() {
      record("ingress");
      return { listen: "127.0.0.1:7480", domain: "runta.localhost", ca_certificate: "-----BEGIN CERTIFICATE-----\nFAKE\n-----END CERTIFICATE-----\n", ca_fingerprint_sha256: "AA:BB", ca_path: "/var/lib/runta/ingress-ca/ca.crt", wake_timeout_secs: 30 };
    },
    async version() {
      record("version");
      if (opts.version) return opts.version();
      return { runta: "0.1.0", runc: "1.1.5", kernel: "6.1.0", node: "20.0.0", api: "v1" };
    },
    async ping() {
      return opts.up ?? true;
    },
    async dashboardLogin() {
      record("dashboardLogin");
      const code = "fake-code";
      return { code, login_path: `/ui/login?code=${code}`, expires_at: "2026-01-01T00:02:00.000Z", url: `http://fake.invalid/ui/login?code=${code}` };
    },
    calls,
    state,
    imageState,
    checkpointState,
  };
}
