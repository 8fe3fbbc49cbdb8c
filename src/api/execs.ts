/**
 * Exec objects (DESIGN §11): every exec — buffered, streamed, terminal or detached — has an id, and
 * `/v1/runtimes/{rt}/execs` lists, creates, signals and reattaches them.
 */
import { z } from "zod";
import { LIMITS } from "./limits.js";
import { ArgsSchema, CommandSchema, ExecUserSchema } from "./exec-request.js";
import { EnvSchema } from "./schemas.js";
import { EXEC_SIGNALS, type ExecSignal } from "./signals.js";

export const ExecSignalSchema = z.enum(EXEC_SIGNALS as [ExecSignal, ...ExecSignal[]], { error: `must be one of ${EXEC_SIGNALS.join(", ")}` });

/** How an exec was started: buffered REST call, framed stream, websocket terminal/pipe, or detached. */
export const EXEC_KINDS = ["buffered", "stream", "terminal", "detached"] as const;
export type ExecKind = (typeof EXEC_KINDS)[number];

/**
 * How an exec ended: its command exited or died of a signal on its own, runta killed it (timeout, an explicit
 * signal, its client gone past the grace period), the OOM killer took it, or the daemon restarted meanwhile and
 * could not learn its status.
 */
export const EXEC_END_REASONS = ["exited", "signalled", "timed_out", "oom", "killed", "client_gone", "unknown"] as const;
export type ExecEndReason = (typeof EXEC_END_REASONS)[number];

const TimeoutSchema = z
  .number()
  .positive()
  .max(LIMITS.execTimeoutSecsMax, { error: `must be between 0 and ${LIMITS.execTimeoutSecsMax}` });

export const ExecCreateRequestSchema = z.strictObject({
  command: CommandSchema,
  args: ArgsSchema.optional(),
  cwd: z.string().startsWith("/", { error: "must be an absolute path" }).optional(),
  env: EnvSchema.optional(),
  user: ExecUserSchema.optional(),
  /** No default: a streamed or detached exec runs until it ends unless a timeout is asked for. */
  timeout_secs: TimeoutSchema.optional(),
  /** Start it and answer at once with the exec object; its output is discarded. */
  detach: z.boolean().optional(),
});
/** Body of `POST /v1/runtimes/{rt}/execs`. */
export type ExecCreateRequest = z.infer<typeof ExecCreateRequestSchema>;

export const ExecSignalRequestSchema = z.strictObject({ signal: ExecSignalSchema });
/** Body of `POST /v1/runtimes/{rt}/execs/{id}/signal`. */
export type ExecSignalRequest = z.infer<typeof ExecSignalRequestSchema>;

export const ExecInfoSchema = z.object({
  id: z.string(),
  runtime_id: z.string(),
  kind: z.enum(EXEC_KINDS),
  command: z.array(z.string()),
  user: z.string().nullable(),
  /** The command's pid inside the runtime (what `ps` there shows); null before it started. */
  pid: z.number().int().nullable(),
  tty: z.boolean(),
  status: z.enum(["running", "ended"]),
  started_at: z.string(),
  ended_at: z.string().nullable(),
  exit_code: z.number().int().nullable(),
  signal: z.string().nullable(),
  ended_by: z.enum(EXEC_END_REASONS).nullable(),
  /** Terminal sessions: whether a client is attached now (null for other kinds). */
  attached: z.boolean().nullable(),
  /** A terminal session without a client: when it is hung up unless someone attaches. */
  grace_expires_at: z.string().nullable(),
  /** Set when the command never ran (exit 127/126): what a foreground exec prints, e.g. `foo: command not found`. */
  failure: z.string().optional(),
});
/** One exec as `GET /v1/runtimes/{rt}/execs[/{id}]` reports it. */
export type ExecInfo = z.infer<typeof ExecInfoSchema>;

/** Query of the attach websocket (`GET /v1/runtimes/{rt}/execs/{id}/attach`): the client's terminal size. */
export const ExecAttachQuerySchema = z.strictObject({
  rows: z.coerce.number().int().min(1).max(1000).optional(),
  cols: z.coerce.number().int().min(1).max(1000).optional(),
});
