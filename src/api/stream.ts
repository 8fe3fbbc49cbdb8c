/** Frames of the exec-stream websocket (DESIGN §4). Every frame is one JSON text message. */
import { z } from "zod";
import { ArgsSchema, CommandSchema, ExecUserSchema } from "./exec-request.js";
import { EnvSchema } from "./schemas.js";
import { LIMITS } from "./limits.js";

export const STREAM_SIGNALS = ["INT", "TERM", "KILL", "HUP", "QUIT", "TSTP", "WINCH"] as const;
export type StreamSignal = (typeof STREAM_SIGNALS)[number];

const Dim = z.number().int().min(1).max(1000);

export const ClientFrameSchema = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("start"),
    command: CommandSchema,
    args: ArgsSchema.optional(),
    env: EnvSchema.optional(),
    cwd: z.string().startsWith("/").optional(),
    tty: z.boolean().optional(),
    rows: Dim.optional(),
    cols: Dim.optional(),
    user: ExecUserSchema.optional(),
    /** Terminal sessions: seconds the process is kept for `attach` when the connection drops (default 60, 0 = none). */
    grace_secs: z.number().int().min(0).max(LIMITS.execGraceSecsMax).optional(),
  }),
  z.strictObject({ type: z.literal("stdin"), data_base64: z.string() }),
  z.strictObject({ type: z.literal("close_stdin") }),
  z.strictObject({ type: z.literal("resize"), rows: Dim, cols: Dim }),
  z.strictObject({ type: z.literal("signal"), signal: z.enum(STREAM_SIGNALS) }),
]);
/** A frame the client sends. `start` comes first and once. */
export type ClientFrame = z.infer<typeof ClientFrameSchema>;
export type StartFrame = Extract<ClientFrame, { type: "start" }>;

/** A frame the server sends. `started` comes first (once the command runs); `exit` and `error` are terminal. */
export type ServerFrame =
  | { type: "started"; exec_id: string }
  | { type: "stdout" | "stderr"; data_base64: string }
  | { type: "exit"; code: number; signal?: string | null; oom_killed?: boolean }
  | { type: "error"; code: string; message: string };
