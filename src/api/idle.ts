/**
 * Idle timeouts on the wire (issue 13): the setting, and the `idle` object of a runtime that says what keeps it
 * awake and when it will suspend. The engine's idle room (src/engine/idle/) fills it in.
 */
import { z } from "zod";
import { LIMITS } from "./limits.js";

const IDLE_RANGE = `must be between ${LIMITS.idleTimeoutSecsMin} and ${LIMITS.idleTimeoutSecsMax} seconds`;

/** A runtime's idle timeout: whole seconds from LIMITS.idleTimeoutSecsMin to LIMITS.idleTimeoutSecsMax. */
export const IdleTimeoutSecsSchema = z
  .number()
  .int({ error: "must be a whole number of seconds" })
  .min(LIMITS.idleTimeoutSecsMin, { error: `${IDLE_RANGE} (shorter would suspend a runtime between two commands of a script)` })
  .max(LIMITS.idleTimeoutSecsMax, { error: IDLE_RANGE });

/**
 * What the last activity was: live activities (`exec`, `terminal`, `ingress`, `egress`) and moments that restart the
 * idle clock (`start`: a boot; `resume`: a resume or a wake; `settings`: the idle timeout was set).
 */
export const IdleActivityKindSchema = z.enum(["exec", "terminal", "ingress", "egress", "start", "resume", "settings"]);
export type IdleActivityKind = z.infer<typeof IdleActivityKindSchema>;

/** What is live in a runtime right now (each keeps it awake). */
export const IdleActiveSchema = z.object({
  /** Running execs of every kind: buffered, streamed, terminal sessions and detached ones. */
  execs: z.number().int(),
  /** Terminal sessions (exec -it) with a client attached (they are among `execs`). */
  terminals: z.number().int(),
  /** Requests in flight and open connections through the ingress. */
  ingress: z.number().int(),
  /** Connections the runtime opened to the outside through the egress proxy (ports 80/443). */
  egress: z.number().int(),
});
export type IdleActive = z.infer<typeof IdleActiveSchema>;

/** A runtime's idle state; null on a runtime without an idle timeout. */
export const RuntimeIdleSchema = z.object({
  timeout_secs: z.number().int(),
  /** The latest activity (null when none is known), and what it was. */
  last_activity_at: z.string().nullable(),
  last_activity: IdleActivityKindSchema.nullable(),
  active: IdleActiveSchema,
  /** `active` in words, e.g. "1 exec running, 2 ingress connections"; null when nothing is live. */
  awake_because: z.string().nullable(),
  /** When it suspends if nothing happens until then; null while anything is live or when it is not running. */
  suspends_at: z.string().nullable(),
});
export type RuntimeIdle = z.infer<typeof RuntimeIdleSchema>;

/** Why a runtime is frozen: `user` (runta pause), `idle` (its idle timeout); null when it is not. Seed 002's name. */
export const PauseReasonSchema = z.enum(["user", "idle"]).nullable();
export type PauseReason = z.infer<typeof PauseReasonSchema>;
