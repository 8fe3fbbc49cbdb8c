/**
 * Secrets and their injection rules on the wire (DESIGN §11, Secrets). A secret's value goes in one direction only —
 * into the daemon — and no schema here has a field that carries it back. The checks are in secret-policy.ts.
 */
import { z } from "zod";
import { headerNameError, ruleHostError, rulePathError, secretNameError, secretValueError, templateError, type Secret, type SecretRule, type SecretUse } from "./secret-policy.js";

export * from "./secret-policy.js";

const check = (fn: (v: string) => string | null) => (v: string, ctx: z.RefinementCtx) => {
  const msg = fn(v);
  if (msg) ctx.addIssue({ code: "custom", message: msg });
};

/** Body of `PUT /v1/secrets/{name}`: the value, in the body only (never in a URL). */
export const SetSecretRequestSchema = z.strictObject({
  // No max() here: zod would quote the bound in its own words; secretValueError says it and never quotes the value.
  value: z.string().superRefine(check(secretValueError)),
});
export type SetSecretRequest = z.infer<typeof SetSecretRequestSchema>;

/** One place a secret is used: a rule of a runtime. */
export const SecretUseSchema = z.object({ runtime: z.string(), runtime_id: z.string(), host: z.string(), header: z.string() }) satisfies z.ZodType<SecretUse>;

/** A secret as the API shows it: its name and dates, never its value nor any part or length of it. */
export const SecretSchema = z.object({
  id: z.string(),
  display_name: z.string(),
  created_at: z.string(),
  /** When the value was last set (a rotation). */
  updated_at: z.string(),
  /** The rules that inject it. */
  used_by: z.array(SecretUseSchema),
}) satisfies z.ZodType<Secret>;

/** Body of `PUT /v1/runtimes/{rt}/secret-rules`: a rule is keyed by (host, header); setting it again replaces it. */
export const SecretRuleRequestSchema = z.strictObject({
  secret: z.string().superRefine(check(secretNameError)),
  host: z.string().superRefine(check(ruleHostError)),
  /** Only requests whose path matches (`*` is a wildcard); absent: every path. */
  path: z.string().superRefine(check(rulePathError)).optional(),
  header: z.string().superRefine(check(headerNameError)),
  template: z.string().superRefine(check(templateError)),
  /** Inject into plain-HTTP requests too (the value then crosses the network unencrypted). Default false: HTTPS only. */
  allow_http: z.boolean().optional(),
});
export type SecretRuleRequest = z.infer<typeof SecretRuleRequestSchema>;

/** An injection rule of a runtime. */
export const SecretRuleSchema = z.object({
  secret: z.string(),
  host: z.string(),
  /** `*` matches anything; `/*` (every path) when the rule named none. */
  path: z.string(),
  header: z.string(),
  template: z.string(),
  allow_http: z.boolean(),
  created_at: z.string(),
}) satisfies z.ZodType<SecretRule>;

/** Query of `DELETE /v1/runtimes/{rt}/secret-rules`. */
export const SecretRuleKeySchema = z.strictObject({
  host: z.string().superRefine(check(ruleHostError)),
  header: z.string().superRefine(check(headerNameError)),
});

