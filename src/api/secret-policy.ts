/**
 * Secrets and their rules without zod (the CLI and SDK load this on every start; the schemas are in secrets.ts):
 * limits, the stub, and the checks the CLI, the SDK and the daemon share. No message here ever quotes a value.
 */
import { parseEgressEntry } from "./egress-policy.js";

/** Bounds of secrets and rules (the README quotes these). */
export const SECRET_LIMITS = {
  /** Longest value, in bytes of UTF-8 (API keys are well under 1 KiB; a PEM key or a JWT fits). */
  valueMaxBytes: 16 * 1024,
  /** Longest name (an environment variable's name). */
  nameMaxLength: 128,
  /** Secrets a daemon holds. */
  secretsMax: 1000,
  /** Rules one runtime may have. */
  rulesPerRuntimeMax: 64,
  /** Longest template and path pattern. */
  templateMaxLength: 1024,
  pathMaxLength: 1024,
} as const;

/** The placeholder a template holds exactly once. */
export const SECRET_PLACEHOLDER = "${secret}";

/** Where the egress CA certificate is inside every runtime (its trust store reads it; so does node, through NODE_EXTRA_CA_CERTS). */
export const EGRESS_CA_PATH_IN_RUNTIME = "/usr/local/share/ca-certificates/runta-egress.crt";

/** What every secret's name holds inside every runtime instead of its value. */
export const SECRET_STUB = "runta-secret-stub";

/**
 * Names a secret may not take: the runtime needs these variables for itself (a stub in PATH would break every
 * command, and NODE_EXTRA_CA_CERTS is how node trusts the egress CA).
 */
export const RESERVED_SECRET_NAMES: readonly string[] = ["PATH", "HOME", "LANG", "TERM", "HOSTNAME", "PWD", "USER", "SHELL", "NODE_EXTRA_CA_CERTS"];

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** RFC 9110 token: what a header's name may be. */
const HEADER_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Headers the proxy owns (framing and routing): a rule may not rewrite them. */
const FORBIDDEN_HEADERS = new Set(["host", "content-length", "transfer-encoding", "connection", "upgrade", "te", "trailer", "keep-alive", "proxy-connection"]);

/** Why a secret's name is refused, or null when it is fine. */
export function secretNameError(name: string): string | null {
  if (!name) return "a secret's name cannot be empty";
  if (name.length > SECRET_LIMITS.nameMaxLength) return `a secret's name is at most ${SECRET_LIMITS.nameMaxLength} characters`;
  if (!NAME.test(name)) return `secret name "${name}" must be an environment variable's name: letters, digits and _, not starting with a digit (e.g. OPENAI_API_KEY)`;
  if (RESERVED_SECRET_NAMES.includes(name) || name.startsWith("RUNTA_")) return `secret name "${name}" is reserved (the runtime needs that variable); pick another name`;
  return null;
}

/**
 * Why a value is refused, or null. The message never contains the value (nor a part of it): it says what is wrong
 * and where the bound is. A value becomes a header's value, so it cannot hold line breaks or NUL.
 */
export function secretValueError(value: string): string | null {
  if (value.length === 0) return "the secret's value is empty; give a value (an empty secret would inject an empty header)";
  const bytes = new TextEncoder().encode(value).length;
  if (bytes > SECRET_LIMITS.valueMaxBytes) return `the secret's value is ${bytes} bytes; at most ${SECRET_LIMITS.valueMaxBytes} bytes (${SECRET_LIMITS.valueMaxBytes / 1024} KiB) are allowed`;
  // eslint-disable-next-line no-control-regex
  if (/[\r\n\0]/.test(value)) return "the secret's value contains a line break or NUL, which a header value cannot hold (a trailing newline from --value-stdin is removed for you)";
  return null;
}

/** Why a header name is refused, or null. */
export function headerNameError(header: string): string | null {
  if (!HEADER_TOKEN.test(header) || header.length > 256) return `header "${header}" is not a valid header name (letters, digits and !#$%&'*+.^_\`|~- only, e.g. Authorization)`;
  if (FORBIDDEN_HEADERS.has(header.toLowerCase())) return `header "${header}" frames or routes the request and cannot be rewritten; name the header that carries the credential (e.g. Authorization)`;
  return null;
}

/** Why a template is refused, or null: it holds the placeholder exactly once and no line break. */
export function templateError(template: string): string | null {
  const count = template.split(SECRET_PLACEHOLDER).length - 1;
  if (count !== 1) return `the template must hold ${SECRET_PLACEHOLDER} exactly once (it holds it ${count === 0 ? "not at all" : `${count} times`}), e.g. 'Bearer ${SECRET_PLACEHOLDER}'`;
  if (template.length > SECRET_LIMITS.templateMaxLength) return `the template is at most ${SECRET_LIMITS.templateMaxLength} characters`;
  // eslint-disable-next-line no-control-regex
  if (/[\r\n\0]/.test(template)) return "the template contains a line break or NUL, which a header value cannot hold";
  return null;
}

/** Why a host is refused, or null: one exact hostname (no wildcard, no address: TLS is terminated per name). */
export function ruleHostError(host: string): string | null {
  const t = parseEgressEntry(host);
  if (!t || t.kind !== "host" || t.host.startsWith("*.")) return `host "${host}" must be one hostname (api.example.com): no wildcard, address or port`;
  return null;
}

/** Why a path pattern is refused, or null: it starts with / and may use * (any characters, / included). */
export function rulePathError(path: string): string | null {
  if (!path.startsWith("/") || path.length > SECRET_LIMITS.pathMaxLength || /[\s?#]/.test(path)) {
    return `path "${path}" must start with / and hold no spaces, ? or #; * matches anything (e.g. '/v1/*')`;
  }
  return null;
}

/** A rule's host and header as stored (lowercase host; header as given, compared without case). */
export function ruleKey(host: string, header: string): { host: string; header: string } {
  return { host: host.trim().toLowerCase().replace(/\.$/, ""), header };
}

/** One place a secret is used: a rule of a runtime. */
export interface SecretUse {
  runtime: string;
  runtime_id: string;
  host: string;
  header: string;
}

/** A secret as the API shows it: its name and dates, never its value nor any part or length of it. */
export interface Secret {
  id: string;
  /** The name (an environment variable's name inside every runtime, holding the stub). */
  display_name: string;
  created_at: string;
  /** When the value was last set (a rotation). */
  updated_at: string;
  /** The rules that inject it. */
  used_by: SecretUse[];
}

/** An injection rule of a runtime. */
export interface SecretRule {
  secret: string;
  host: string;
  /** `*` matches anything; `/*` (every path) when the rule named none. */
  path: string;
  header: string;
  /** Holds `${secret}` once. */
  template: string;
  /** Injected into plain-HTTP requests too (default false: HTTPS only). */
  allow_http: boolean;
  created_at: string;
}

/** What a client sends to add or replace a rule. */
export interface SecretRuleInput {
  secret: string;
  host: string;
  path?: string;
  header: string;
  template: string;
  allow_http?: boolean;
}
