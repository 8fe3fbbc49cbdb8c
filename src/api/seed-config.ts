/**
 * The seeds' nested `config` object on a create, where runta can honour it: seed 004's `lifecycle.idleTimeoutMinutes`
 * (the idle timeout, in minutes: `idle_timeout_secs` / 60), and seed 002's `secrets.secret_ids`, refused with what to
 * do instead (also at the top level, where runta takes seed 002's other fields: `exposed_ports`, `timeout_seconds`,
 * `workspace_mount`, `key`). Other members of the seeds' `config` are unknown fields.
 */
import { z } from "zod";
import { LIMITS } from "./limits.js";

const IDLE_MINUTES_MIN = Math.ceil(LIMITS.idleTimeoutSecsMin / 60);
const IDLE_MINUTES_MAX = Math.floor(LIMITS.idleTimeoutSecsMax / 60);
const IDLE_MINUTES_RANGE = `must be between ${IDLE_MINUTES_MIN} and ${IDLE_MINUTES_MAX} minutes`;

/**
 * Why seed 002's `secret_ids` is refused rather than mapped: Runta attaches secrets so that their values reach the
 * runtime; runta never puts a value inside a runtime (every runtime sees each secret's name holding a stub), and what
 * makes a value reach a host — an injection rule's host, header and template — is not in a list of ids.
 */
export const SECRET_IDS_REFUSED =
  "runta does not attach secrets to a runtime: every runtime already sees each secret's name as an environment variable " +
  "holding runta-secret-stub, and a value reaches a host only through an injection rule; remove secret_ids, create the " +
  "runtime, then add a rule per host: runta secret rule set RUNTIME --secret NAME --host HOST --header Authorization " +
  "--template 'Bearer ${secret}' (API: PUT /v1/runtimes/{rt}/secret-rules)";

/** A field that no value satisfies, refused with `message` (the OpenAPI document shows it as `not: {}`). */
export const SecretIdsSchema = z.never({ error: SECRET_IDS_REFUSED }).optional();

export const SeedConfigSchema = z.strictObject({
  /** Seed 004's lifecycle: `idleTimeoutMinutes` is the idle timeout in minutes (give this or idle_timeout_secs). */
  lifecycle: z
    .strictObject({
      idleTimeoutMinutes: z
        .number()
        .int({ error: "must be a whole number of minutes" })
        .min(IDLE_MINUTES_MIN, { error: IDLE_MINUTES_RANGE })
        .max(IDLE_MINUTES_MAX, { error: IDLE_MINUTES_RANGE })
        .optional(),
    })
    .optional(),
  /** Seed 002's secrets: refused, saying what to do instead. */
  secrets: z.strictObject({ secret_ids: SecretIdsSchema }).optional(),
});
/** The `config` of a create body. */
export type SeedConfig = z.infer<typeof SeedConfigSchema>;
