/**
 * A command as the wire carries it (a string for `sh -c` or an argv, its arguments, the user it runs as) and the
 * buffered exec's request and result (`POST /v1/runtimes/{rt}/exec`); streamed and detached execs reuse the command
 * parts (stream.ts, execs.ts).
 */
import { z } from "zod";
import { LIMITS } from "./limits.js";
import { EnvSchema } from "./schemas.js";

/** `USER[:GROUP]`, names or numbers, resolved inside the runtime (its /etc/passwd and /etc/group). */
export const ExecUserSchema = z
  .string()
  .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,31})?$/, {
    error: "must be USER or USER:GROUP (names or numbers, e.g. nobody, 1000:1000)",
  });

/**
 * One argument of a command: no NUL (the kernel takes C strings: no program could receive it) and at most the
 * kernel's MAX_ARG_STRLEN (execve fails with "argument list too long" beyond). Refused here, before anything runs.
 */
const ArgSchema = z
  .string()
  .refine((v) => !v.includes("\0"), { error: "must not contain a NUL byte (no program can receive one in its arguments)" })
  .refine((v) => new TextEncoder().encode(v).length <= LIMITS.execArgMaxBytes, {
    error: `must be at most ${LIMITS.execArgMaxBytes} bytes (the kernel's limit for one argument)`,
  });
/** Arguments appended to a command. */
export const ArgsSchema = z.array(ArgSchema).max(LIMITS.execArgvMaxEntries);
/** A command: a string for `sh -c` (or the program, with args), or the argv itself (src/api/command.ts). */
export const CommandSchema = z.union([ArgSchema.min(1), z.array(ArgSchema).min(1).max(LIMITS.execArgvMaxEntries)]);

export const ExecRequestSchema = z.strictObject({
  command: CommandSchema,
  args: ArgsSchema.optional(),
  cwd: z.string().startsWith("/", { error: "must be an absolute path" }).optional(),
  env: EnvSchema.optional(),
  // Bytes, not characters: UTF-8 text can be up to 4 bytes a character.
  stdin: z
    .string()
    .refine((v) => Buffer.byteLength(v) <= LIMITS.execStdinMaxBytes, { error: `must be at most ${LIMITS.execStdinMaxBytes} bytes` })
    .optional(),
  timeout_secs: z.number().positive().max(LIMITS.execTimeoutSecsMax, { error: `must be between 0 and ${LIMITS.execTimeoutSecsMax}` }).optional(),
  max_output_bytes: z
    .number()
    .int()
    .min(0)
    .max(LIMITS.execMaxOutputBytesHardMax, { error: `must be between 0 and ${LIMITS.execMaxOutputBytesHardMax}` })
    .optional(),
  user: ExecUserSchema.optional(),
  /** How `stdout`/`stderr` come back: UTF-8 text (default; invalid bytes replaced) or base64 of the exact bytes. */
  output_encoding: z.enum(["utf8", "base64"], { error: "must be utf8 or base64" }).optional(),
});
/** Body of `POST /v1/runtimes/{rt}/exec`. */
export type ExecRequest = z.infer<typeof ExecRequestSchema>;

export const ExecResultSchema = z.object({
  /** The exec object's id (`GET /v1/runtimes/{rt}/execs/{id}` while it is in the history). */
  exec_id: z.string(),
  exit_code: z.number().int(),
  signal: z.string().nullable(),
  stdout: z.string(),
  stderr: z.string(),
  duration_ms: z.number(),
  stdout_truncated: z.boolean(),
  stderr_truncated: z.boolean(),
  timed_out: z.boolean(),
  oom_killed: z.boolean(),
  output_encoding: z.enum(["utf8", "base64"]),
  /** Whether the output is not valid UTF-8 (with utf8 encoding, invalid sequences became U+FFFD: ask for base64). */
  stdout_invalid_utf8: z.boolean(),
  stderr_invalid_utf8: z.boolean(),
});
/** Result of a buffered exec. `exit_code` is 128+n when the command died by signal n. */
export type ExecResult = z.infer<typeof ExecResultSchema>;
