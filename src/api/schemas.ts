/**
 * Wire schemas: the single source of truth for request validation (server), wire types (SDK, CLI)
 * and the OpenAPI document (generated from these in openapi.ts). This file holds runtimes and their fields; a
 * command and the buffered exec are exec-request.ts, images images.ts, warm pools pools.ts, other nouns their own files.
 */
import { z } from "zod";
import { EgressPolicyRequestSchema, NetworkModeSchema } from "./egress.js";
import { LIMITS } from "./limits.js";
import { VolumeMountSchema, VolumeMountsRequestSchema } from "./volumes.js";
import { IdleTimeoutSecsSchema, PauseReasonSchema, RuntimeIdleSchema } from "./idle.js";
import { PACKAGES_MAX, normalizePackages } from "./packages.js";
import { PortRequestsSchema, PublishedPortSchema } from "./ports.js";
import { RUNTIME_VERSION_PATTERN } from "./runtime-version.js";
import { SecretIdsSchema, SeedConfigSchema } from "./seed-config.js";

export const RUNTIME_STATUSES = [
  "creating",
  "running",
  "paused",
  "suspended",
  "shutdown",
  "deleting",
  "error",
  "crashed",
] as const;
export const RuntimeStatusSchema = z.enum(RUNTIME_STATUSES);
/** Lifecycle status of a runtime (DESIGN §2). */
export type RuntimeStatus = z.infer<typeof RuntimeStatusSchema>;

export const NameSchema = z
  .string()
  .regex(LIMITS.namePattern, {
    error:
      "must start with a letter or digit and contain only letters, digits, '_', '.', '-' (1-63 characters)",
  });

const HOSTNAME_RULE = "letters, digits and '-' in dot-separated labels, each starting and ending with a letter or digit (1-63 characters)";
export const HostnameSchema = z.string().regex(LIMITS.hostnamePattern, { error: `must be a hostname: ${HOSTNAME_RULE}` });

/** Whole or fractional CPUs of a runtime (LIMITS.vcpus*). */
export const VcpusSchema = z
  .number()
  .min(LIMITS.vcpusMin, { error: `must be between ${LIMITS.vcpusMin} and ${LIMITS.vcpusMax}` })
  .max(LIMITS.vcpusMax, { error: `must be between ${LIMITS.vcpusMin} and ${LIMITS.vcpusMax}` })
  .multipleOf(0.01, { error: "must have at most two decimals (e.g. 0.25)" });

/** Memory of a runtime in MiB (LIMITS.memoryMib*). */
export const MemoryMibSchema = z
  .number()
  .int({ error: "must be a whole number of MiB" })
  .min(LIMITS.memoryMibMin, { error: `must be between ${LIMITS.memoryMibMin} and ${LIMITS.memoryMibMax} MiB` })
  .max(LIMITS.memoryMibMax, { error: `must be between ${LIMITS.memoryMibMin} and ${LIMITS.memoryMibMax} MiB` });

/**
 * Checks every key of a record against a pattern, with our message at the key's path (zod's own key check only
 * says "Invalid key in record").
 */
function keysMatch(pattern: RegExp, message: string) {
  return (record: Record<string, unknown>, ctx: z.RefinementCtx) => {
    for (const key of Object.keys(record)) {
      if (!pattern.test(key)) ctx.addIssue({ code: "custom", path: [key], message: `${JSON.stringify(key)}: ${message}` });
    }
  };
}

export const EnvSchema = z
  .record(z.string(), z.string().refine((v) => !v.includes("\0"), { error: "must not contain NUL" }))
  .superRefine(keysMatch(/^[A-Za-z_][A-Za-z0-9_]*$/, "variable names are letters, digits and '_', not starting with a digit"))
  .refine((env) => Object.keys(env).length <= LIMITS.envMaxEntries, {
    error: `at most ${LIMITS.envMaxEntries} variables`,
  })
  .refine(
    (env) => Object.entries(env).reduce((n, [k, v]) => n + k.length + v.length, 0) <= LIMITS.envMaxBytes,
    { error: `at most ${LIMITS.envMaxBytes} bytes in all` },
  );

/**
 * Label on a derived image's build runtime (engine/images/packages.ts), its value the image being built; reserved to
 * the daemon, which hides such runtimes from lists and removes one left by a crash (so a user's runtime cannot have it).
 */
export const BUILD_LABEL = "runta.build";

export const LabelsSchema = z
  .record(
    z.string(),
    z
      .string()
      .max(LIMITS.labelValueMaxLength)
      // C0, DEL and C1 controls (a terminal acts on them: U+009B is CSI) and the bidi controls (U+202E makes a value
      // read backwards in `runta inspect`): labels are shown raw, so they must not carry either.
      .refine((v) => !/[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/.test(v), {
        error: "must not contain control or bidirectional-override characters",
      }),
  )
  .superRefine(keysMatch(/^[a-zA-Z0-9][a-zA-Z0-9_.\/-]{0,62}$/, "label keys are letters, digits, '_', '.', '/', '-', 1-63 characters"))
  .refine((l) => Object.keys(l).length <= LIMITS.labelsMaxEntries, { error: `at most ${LIMITS.labelsMaxEntries} labels` })
  .refine((l) => l[BUILD_LABEL] === undefined, { error: `label key "${BUILD_LABEL}" is reserved (the daemon marks its image build runtimes with it); pick another key` });

/** Free text about a runtime (LIMITS.descriptionForbidden says what it must not contain). */
export const DescriptionSchema = z
  .string()
  .max(LIMITS.descriptionMaxLength, { error: `at most ${LIMITS.descriptionMaxLength} characters` })
  .refine((v) => !LIMITS.descriptionForbidden.test(v), { error: LIMITS.descriptionRule });

/** A runtime's default exec timeout: whole seconds, at most the daemon's exec maximum. */
export const ExecTimeoutSecsSchema = z
  .number()
  .int({ error: "must be a whole number of seconds" })
  .min(1, { error: `must be between 1 and ${LIMITS.execTimeoutSecsMax}` })
  .max(LIMITS.execTimeoutSecsMax, { error: `must be between 1 and ${LIMITS.execTimeoutSecsMax}` });

/** A runtime's lifetime: whole seconds from 1 to LIMITS.lifetimeSecsMax. */
export const LifetimeSecsSchema = z
  .number()
  .int({ error: "must be a whole number of seconds" })
  .min(1, { error: `must be between 1 and ${LIMITS.lifetimeSecsMax}` })
  .max(LIMITS.lifetimeSecsMax, { error: `must be between 1 and ${LIMITS.lifetimeSecsMax}` });

/** Seed 000's package object: a Python package (`version` "" means any). */
export const SeedPackageSchema = z.strictObject({
  name: z.string().min(1).max(100),
  version: z.string().max(64).optional(),
  description: z.string().max(1024).optional(),
});

/** The wire form of `packages`: strings (`NAME[=VERSION]`, `pip:NAME[==VERSION]`) or seed 000's objects, normalised. */
export const PackagesSchema = z
  .array(z.union([z.string().min(1).max(200), SeedPackageSchema]))
  .max(PACKAGES_MAX, { error: `at most ${PACKAGES_MAX} packages` })
  .transform((list, ctx) => {
    try {
      return normalizePackages(list.map((p) => (typeof p === "string" ? p : `pip:${p.name}${p.version ? `==${p.version}` : ""}`)));
    } catch (err) {
      ctx.addIssue({ code: "custom", message: (err as Error).message });
      return z.NEVER;
    }
  });

/** A Python version as a create asks for it: 3, 3.11 or 3.11.2. */
export const RuntimeVersionSchema = z.string().regex(RUNTIME_VERSION_PATTERN, { error: "must be a Python version like 3.11 or 3.11.2" });

export const ImageNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, { error: "image names: lowercase letters, digits, '_', '.', '-', 1-63 characters" });

/** Disk size of a runtime in GiB (its writable layer), as `run --disk-size-gib` and `resize --disk-size-gib` take it. */
export const DiskSizeGibSchema = z
  .number()
  .int({ error: "must be a whole number of GiB" })
  .min(LIMITS.diskGibMin, { error: `must be between ${LIMITS.diskGibMin} and ${LIMITS.diskGibMax} GiB` })
  .max(LIMITS.diskGibMax, { error: `must be between ${LIMITS.diskGibMin} and ${LIMITS.diskGibMax} GiB` });

export const ResourceRequestsSchema = z.strictObject({
  vcpus: VcpusSchema.optional(),
  memory_mib: MemoryMibSchema.optional(),
  disk_size_gib: DiskSizeGibSchema.optional(),
});

export const CreateRuntimeRequestSchema = z.strictObject({
  name: NameSchema.optional(),
  image: ImageNameSchema.optional(),
  resources: z.strictObject({ requests: ResourceRequestsSchema.optional() }).optional(),
  env: EnvSchema.optional(),
  labels: LabelsSchema.optional(),
  /** The runtime's hostname (in /etc/hostname and /etc/hosts, so `hostname -f` works); default its name. */
  hostname: HostnameSchema.optional(),
  /** Free text about the runtime (seeds 000 and 002); editable later with PATCH. */
  description: DescriptionSchema.optional(),
  /** The timeout of every exec in the runtime that does not set its own (seconds). */
  exec_timeout_secs: ExecTimeoutSecsSchema.optional(),
  /** Seed 000's name for exec_timeout_secs (seconds); give one or the other. */
  execTimeout: ExecTimeoutSecsSchema.optional(),
  /** Seed 002's idempotency key: what the Idempotency-Key header does (give one or the other, or the same in both). */
  key: z.string().min(1).max(255, { error: "at most 255 characters" }).optional(),
  /** It shuts down (filesystem kept) this many seconds after each start. Not an idle timeout. */
  lifetime_secs: LifetimeSecsSchema.optional(),
  /** Seed 002's name for lifetime_secs; give one or the other. */
  timeout_seconds: LifetimeSecsSchema.optional(),
  /** It is suspended (frozen, memory kept) after this many seconds without activity; any exec or request wakes it. */
  idle_timeout_secs: IdleTimeoutSecsSchema.optional(),
  /** "nat" (default): an address, NAT, DNS and the egress policy; "none": loopback only. */
  network: NetworkModeSchema.optional(),
  /** The runtime's egress policy from the start (default open). */
  egress: EgressPolicyRequestSchema.optional(),
  /** Seed 000's field: CIDRs (or hostnames) the runtime may reach; an allowlist unless every entry is empty. */
  whitelist: z.array(z.string().max(300)).max(256).optional(),
  /** Volumes to mount (`runta volume create` first), each at its own path; they outlive the runtime. */
  volumes: VolumeMountsRequestSchema.optional(),
  /** Seed 002's persistent workspace: volume `<name>-workspace` (made if missing, kept after the runtime) at /workspace. */
  workspace_mount: z.boolean().optional(),
  /** Packages to find preinstalled: the runtime runs on an image derived from `image` with them (built once per set). */
  packages: PackagesSchema.optional(),
  /** Ports to publish: http/https through the daemon's ingress, tcp on a host port (needs a network). */
  ports: PortRequestsSchema.optional(),
  /** Seed 002's field: ports published as http; give this or ports. */
  exposed_ports: z.array(z.number()).max(32).optional(),
  /** The Python version the runtime carries ("3.11", "3.11.2"): picks the image (or checks `image`) by its python3. */
  runtime_version: RuntimeVersionSchema.optional(),
  /** Seed 000's name for runtime_version; give one or the other. */
  runtimeVersion: RuntimeVersionSchema.optional(),
  /** Seed 004's runtime type: "browser" runs headless Chromium on the browser image, its DevTools port published. */
  type: z.enum(["default", "browser"], { error: 'must be "default" or "browser"' }).optional(),
  /** Seeds 004/002's nested config: lifecycle.idleTimeoutMinutes is the idle timeout in minutes; secrets.secret_ids is refused (seed-config.ts). */
  config: SeedConfigSchema.optional(),
  /** Seed 002's secret_ids: refused, saying what to do instead (a secret reaches a host through an injection rule). */
  secret_ids: SecretIdsSchema,
});
/** Body of `POST /v1/runtimes`. */
export type CreateRuntimeRequest = z.infer<typeof CreateRuntimeRequestSchema>;

export const UpdateRuntimeRequestSchema = z
  .strictObject({
    /** A new name (unique); the runtime keeps its id. Its hostname follows at the next boot unless set at create. */
    name: NameSchema.optional(),
    /** Live resize (a shut-down runtime takes the values at its next boot). */
    resources: z
      .strictObject({
        requests: ResourceRequestsSchema.refine((r) => r.vcpus !== undefined || r.memory_mib !== undefined || r.disk_size_gib !== undefined, {
          error: "give memory_mib, vcpus, disk_size_gib or several",
        }),
      })
      .optional(),
    /** Replaces the description ("" clears it); any status. */
    description: DescriptionSchema.optional(),
    /** A new idle timeout (the idle clock restarts now); null removes it. Any status. */
    idle_timeout_secs: IdleTimeoutSecsSchema.nullable().optional(),
  })
  .refine((b) => b.name !== undefined || b.resources !== undefined || b.description !== undefined || b.idle_timeout_secs !== undefined, {
    error: "give name, resources, description, idle_timeout_secs or several",
  });
/** Body of `PATCH /v1/runtimes/{rt}`: rename, live resize, description and/or idle timeout. */
export type UpdateRuntimeRequest = z.infer<typeof UpdateRuntimeRequestSchema>;

export const UsageSchema = z.object({
  memory_bytes: z.number(),
  memory_limit_bytes: z.number(),
  cpu_usage_ns: z.number(),
  pids: z.number(),
  /** The runtime's disk: bytes in use and its size (absent for a runtime from before per-runtime disks). */
  disk_used_bytes: z.number().optional(),
  disk_size_bytes: z.number().optional(),
  /**
   * Bytes the runtime received and sent on its network since its namespace was made (its host-side veth's counters);
   * null without a network of its own (--network none).
   */
  net_rx_bytes: z.number().nullable().optional(),
  net_tx_bytes: z.number().nullable().optional(),
  /** Bytes read from and written to its disk since it was mounted (its loop device); null without a disk of its own. */
  disk_read_bytes: z.number().nullable().optional(),
  disk_write_bytes: z.number().nullable().optional(),
});
/** Current usage read from a runtime's cgroup, its disk and its network. */
export type Usage = z.infer<typeof UsageSchema>;

export const RuntimeSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  status: RuntimeStatusSchema,
  image: z.string(),
  resources: z.object({
    requests: z.object({
      vcpus: z.number(),
      memory_mib: z.number(),
      /** Size of its disk; null for a runtime from before per-runtime disks (no limit of its own). */
      disk_size_gib: z.number().nullable().optional(),
    }),
  }),
  /** The checkpoint it was restored from, or null. */
  checkpoint: z.string().nullable().optional(),
  /** The volumes it mounts (none: []). */
  volumes: z.array(VolumeMountSchema),
  env_names: z.array(z.string()),
  /** Digest of the env values (src/api/env-digest.ts): whether given values match, without revealing them. */
  env_digest: z.string(),
  labels: z.record(z.string(), z.string()),
  /** Its hostname inside (the name unless one was given at create). */
  hostname: z.string(),
  /** Free text given at create or by PATCH ("" when none). */
  description: z.string(),
  /** The timeout of its execs that set none (null: buffered execs 60 s, streamed and detached ones none). */
  exec_timeout_secs: z.number().nullable(),
  /** Its lifetime: it shuts down this long after each start (null: none). Not the idle timeout. */
  lifetime_secs: z.number().nullable(),
  /** When its lifetime ends, while it is running, paused or suspended (null otherwise, or without a lifetime). */
  shutdown_at: z.string().nullable(),
  created_at: z.string(),
  updated_at: z.string(),
  started_at: z.string().nullable(),
  revision: z.number().int(),
  last_error: z.string().nullable(),
  /** Its idle timeout (null: none): suspended after this long without activity. */
  idle_timeout_secs: z.number().nullable(),
  /** Its latest known activity (any runtime, with or without an idle timeout). */
  last_activity_at: z.string().nullable(),
  /**
   * Exit code of its init when it last ended (128+n for death by signal n: 0 after a shutdown with a grace period,
   * 137 after one without, or a kill): null while it runs, and when unknown (an init booted by a daemon from before exit
   * codes were recorded, or whose reaper was killed, that ended on its own or on SIGTERM; one the daemon killed is 137).
   */
  exit_code: z.number().int().nullable(),
  /** Why it is frozen: `user` while paused, `idle` while suspended; null otherwise. */
  pause_reason: PauseReasonSchema,
  /** What keeps it awake and when it suspends; null without an idle timeout. */
  idle: RuntimeIdleSchema.nullable(),
  /** Its published ports and where to reach them (`runta ports ls`). */
  ports: z.array(PublishedPortSchema),
  usage: UsageSchema.nullable().optional(),
  /** Only on a warm pool's waiting member (lists with pooled=true): its pool. */
  pool: z.string().optional(),
  /**
   * Only on a browser runtime (`type: "browser"`), in a single runtime's record: where a CDP client connects — `ws`,
   * the browser target's websocket through the ingress (null until Chromium is up), and `http` (`/json/version`).
   */
  browser: z.object({ ws: z.string().nullable(), http: z.string() }).optional(),
});
/** A runtime as the API reports it. */
export type Runtime = z.infer<typeof RuntimeSchema>;

export const ListRuntimesQuerySchema = z.strictObject({
  status: z
    .string()
    .transform((s) => s.split(",").filter(Boolean))
    .pipe(z.array(RuntimeStatusSchema))
    .optional(),
  limit: z.coerce.number().int().min(1).max(LIMITS.listLimitMax).optional(),
  after: z.string().max(200).optional(),
  /** `usage=true` adds each running, paused or suspended runtime's current cgroup usage (default false: a list is cheap). */
  usage: z.enum(["true", "false"], { error: "must be true or false" }).optional(),
  /** `pooled=true` lists the daemon's own runtimes too: warm pools' waiting members (each with its `pool`) and image build runtimes; default false. */
  pooled: z.enum(["true", "false"], { error: "must be true or false" }).optional(),
});

export const PaginationSchema = z.object({ next_cursor: z.string().nullable(), has_more: z.boolean() });
export type Pagination = z.infer<typeof PaginationSchema>;

export const VersionSchema = z.object({ runta: z.string(), runc: z.string(), kernel: z.string(), node: z.string(), api: z.literal("v1") });
export type VersionInfo = z.infer<typeof VersionSchema>;

export const ErrorEnvelopeSchema = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.record(z.string(), z.unknown()).optional() }),
  request_id: z.string(),
});
export type ErrorEnvelope = z.infer<typeof ErrorEnvelopeSchema>;

/** Query of `POST /v1/runtimes`: `wait=false` returns at `creating` (default true). */
export const CreateRuntimeQuerySchema = z.strictObject({
  wait: z.enum(["true", "false"], { error: "must be true or false" }).optional(),
});

/** Query of `GET /v1/runtimes/{rt}`: `usage=false` skips reading the cgroup (a lookup by name; default true). */
export const GetRuntimeQuerySchema = z.strictObject({
  usage: z.enum(["true", "false"], { error: "must be true or false" }).optional(),
});

/** Body of the lifecycle routes (`/start`, `/stop`, `/pause`, `/resume`): empty or `{}`. */
export const LifecycleRequestSchema = z.strictObject({});

/** Body of `POST /v1/runtimes/{rt}/stop`: how long processes get after SIGTERM before SIGKILL (default 10 s). */
export const StopRuntimeRequestSchema = z.strictObject({
  grace_secs: z.number().int().min(0).max(LIMITS.stopGraceSecsMax).optional(),
});
export type StopRuntimeRequest = z.infer<typeof StopRuntimeRequestSchema>;

export const HealthSchema = z.object({ status: z.literal("ok") });

/** Result of `POST /v1/dashboard/login`: a one-time code for the dashboard's login link (bearer token only). */
export const DashboardLoginSchema = z.object({
  code: z.string(),
  /** Open `<endpoint><login_path>` in a browser once, before `expires_at`. */
  login_path: z.string(),
  expires_at: z.string(),
});
export type DashboardLogin = z.infer<typeof DashboardLoginSchema>;
