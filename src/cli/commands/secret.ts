import { Command } from "commander";
import {
  SECRET_LIMITS,
  SECRET_PLACEHOLDER,
  SECRET_STUB,
  headerNameError,
  ruleHostError,
  rulePathError,
  secretNameError,
  secretValueError,
  templateError,
  type Secret,
  type SecretRule,
} from "../../api/secret-policy.js";
import type { CliContext } from "../context.js";
import { StatusError, UsageError, EXIT } from "../errors.js";
import { readAll } from "../io.js";
import { escapeControl, listFormat, printJson, printList, timeValue, type Column } from "../output.js";
import { forEachTarget, withRuntime } from "../targets.js";

/** A flag's value checked as the API would, so a typo fails before anything is sent (usage error naming the flag). */
function checked(flag: string, check: (v: string) => string | null) {
  return (value: string): string => {
    const bad = check(value);
    if (bad) throw new UsageError(`${flag}: ${bad}`);
    return value;
  };
}

/** Where `secret set` takes the value from: exactly one of the three, never argv. */
export interface SecretSetOptions {
  valueEnv?: string;
  valueStdin?: boolean;
  prompt?: boolean;
  json?: boolean;
}

/** `runta secret set|ls|describe|rm` and `runta secret rule set|ls|rm`. */
export function secretCommand(ctx: CliContext): Command {
  const secret = new Command("secret").description("Keep API keys out of runtimes: stubs inside, real values injected on egress").addHelpText(
    "after",
    `
Inside every runtime each secret's name is an environment variable holding '${SECRET_STUB}'. A rule makes the egress
proxy put the real value into one header of a runtime's HTTPS requests to one host (TLS is terminated for exactly
that host with the daemon's egress CA, which every runtime trusts). Values go in only, never in argv, and never
come back out.

Examples:
  runta secret set OPENAI_API_KEY --prompt
  runta secret set OPENAI_API_KEY --value-stdin < key.txt
  runta secret set OPENAI_API_KEY --value-env OPENAI_API_KEY
  runta secret rule set worker --secret OPENAI_API_KEY --host api.openai.com --header Authorization --template 'Bearer \${secret}'
  runta secret rule ls worker
  runta secret ls`,
  );
  secret
    .command("set")
    .description(`Store a secret's value (at most ${SECRET_LIMITS.valueMaxBytes / 1024} KiB); setting an existing name replaces (rotates) it for the next request`)
    .argument("<name>", "the secret's name: an environment variable's name (e.g. OPENAI_API_KEY)", checked("name", secretNameError))
    .option("--value-env <VAR>", "take the value from this environment variable of yours")
    .option("--value-stdin", "read the value from stdin (one trailing newline is dropped)")
    .option("--prompt", "ask for the value on the terminal, without echo")
    .option("--json", "print the secret (never its value) as JSON")
    .addHelpText(
      "after",
      "\nExactly one of --value-env, --value-stdin, --prompt: a value is never an argument.\n\nExamples:\n  runta secret set OPENAI_API_KEY --prompt\n  runta secret set OPENAI_API_KEY --value-stdin < key.txt\n  runta secret set OPENAI_API_KEY --value-env OPENAI_API_KEY",
    )
    .action((name: string, opts: SecretSetOptions) => runSecretSet(ctx, name, opts));
  secret
    .command("ls")
    .alias("list")
    .description("List secrets: names, dates and the rules using them (never values)")
    .option("-q, --quiet", "only print names")
    .option("--json", 'print {"secrets": [...]} with the API objects')
    .addHelpText("after", "\nExamples:\n  runta secret ls\n  runta secret ls --json")
    .action((opts: { quiet?: boolean; json?: boolean }) => runSecretLs(ctx, opts));
  secret
    .command("describe")
    .alias("inspect")
    .description("Show one secret and the rules that inject it (never its value)")
    .argument("<name>", "the secret's name or id")
    .option("--json", "print the secret as JSON")
    .addHelpText("after", "\nExamples:\n  runta secret describe OPENAI_API_KEY")
    .action((name: string, opts: { json?: boolean }) => runSecretDescribe(ctx, name, opts));
  secret
    .command("rm")
    .description("Remove secrets (refused while rules use them: the error names the rules)")
    .argument("<name...>", "secret names or ids")
    .addHelpText("after", "\nExamples:\n  runta secret rm OPENAI_API_KEY")
    .action((names: string[]) => runSecretRm(ctx, names));
  secret.addCommand(ruleCommand(ctx));
  return secret;
}

function ruleCommand(ctx: CliContext): Command {
  const rule = new Command("rule").description("A runtime's injection rules: which secret goes into which header for which host").addHelpText(
    "after",
    `
Examples:
  runta secret rule set worker --secret OPENAI_API_KEY --host api.openai.com --header Authorization --template 'Bearer \${secret}'
  runta secret rule set worker --secret GH_TOKEN --host api.github.com --path '/repos/*' --header Authorization --template 'token \${secret}'
  runta secret rule ls worker
  runta secret rule rm worker --host api.openai.com --header Authorization`,
  );
  rule
    .command("set")
    .description("Add or replace the rule of (runtime, host, header); it holds for the runtime's next connection to the host")
    .argument("<runtime>", "runtime name or id")
    .requiredOption("--secret <name>", "the secret to inject", checked("--secret", secretNameError))
    .requiredOption("--host <host>", "the one hostname it is sent to (no wildcard)", checked("--host", ruleHostError))
    .option("--path <pattern>", "only requests whose path matches; * matches anything (default: every path)", checked("--path", rulePathError))
    .requiredOption("--header <name>", "the header whose value is replaced (e.g. Authorization)", checked("--header", headerNameError))
    .requiredOption("--template <text>", `the header's value, holding ${SECRET_PLACEHOLDER} exactly once (quote it: 'Bearer ${SECRET_PLACEHOLDER}')`, checked("--template", templateError))
    .option("--allow-http", "inject into plain-HTTP requests too (the value then crosses the network unencrypted; default HTTPS only)")
    .option("--json", "print the rule as JSON")
    .addHelpText(
      "after",
      `\nExamples:\n  runta secret rule set worker --secret OPENAI_API_KEY --host api.openai.com --header Authorization --template 'Bearer \${secret}'\n  runta secret rule set worker --secret API_KEY --host api.example.com --path '/v1/*' --header X-Api-Key --template '\${secret}'`,
    )
    .action((runtime: string, opts: RuleSetOptions) => runRuleSet(ctx, runtime, opts));
  rule
    .command("ls")
    .alias("list")
    .description("List a runtime's injection rules")
    .argument("<runtime>", "runtime name or id")
    .option("--json", 'print {"rules": [...]} with the API objects')
    .addHelpText("after", "\nExamples:\n  runta secret rule ls worker")
    .action((runtime: string, opts: { json?: boolean }) => runRuleLs(ctx, runtime, opts));
  rule
    .command("rm")
    .description("Remove the rule of (runtime, host, header)")
    .argument("<runtime>", "runtime name or id")
    .requiredOption("--host <host>", "the rule's host", checked("--host", ruleHostError))
    .requiredOption("--header <name>", "the rule's header", checked("--header", headerNameError))
    .addHelpText("after", "\nExamples:\n  runta secret rule rm worker --host api.openai.com --header Authorization")
    .action((runtime: string, opts: { host: string; header: string }) => runRuleRm(ctx, runtime, opts));
  return rule;
}

/** Reads a line from the terminal without echo (raw mode, restored however it ends). Ctrl-C ends with 130, Ctrl-D ends the input. */
export async function promptHidden(ctx: CliContext, question: string): Promise<string> {
  const stdin = ctx.io.stdin;
  if (stdin.isTTY !== true || !stdin.setRawMode) throw new UsageError("--prompt needs a terminal on stdin; pipe the value with --value-stdin instead");
  // Raw (no echo) before the question: what is typed as soon as it shows must not be echoed by the terminal.
  stdin.setRawMode(true);
  ctx.io.stderr.write(question);
  stdin.resume();
  try {
    return await new Promise<string>((resolve, reject) => {
      let value = "";
      const onData = (chunk: Buffer | string) => {
        for (const ch of chunk.toString()) {
          if (ch === "\r" || ch === "\n" || ch === "\x04") return finish(() => resolve(value));
          if (ch === "\x03") return finish(() => reject(new StatusError(EXIT.interrupted)));
          if (ch === "\x7f" || ch === "\b") value = [...value].slice(0, -1).join("");
          else if (ch >= " ") value += ch;
        }
      };
      const finish = (done: () => void) => {
        stdin.off("data", onData);
        done();
      };
      stdin.on("data", onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
    ctx.io.stderr.write("\n");
  }
}

/** The value from the one source given (checked before anything is sent; messages never quote it). */
async function secretValue(ctx: CliContext, name: string, opts: SecretSetOptions): Promise<string> {
  const given = [opts.valueEnv !== undefined && "--value-env", opts.valueStdin && "--value-stdin", opts.prompt && "--prompt"].filter(Boolean);
  if (given.length !== 1) {
    throw new UsageError(
      given.length ? `give only one of ${given.join(", ")}` : "give the value with one of --value-env VAR, --value-stdin or --prompt (never as an argument)",
    );
  }
  let value: string;
  if (opts.valueEnv !== undefined) {
    const v = ctx.env[opts.valueEnv];
    if (v === undefined) throw new UsageError(`--value-env: the environment variable ${opts.valueEnv} is not set`);
    value = v;
  } else if (opts.valueStdin) {
    if (ctx.io.stdin.isTTY === true) ctx.io.stderr.write(`Reading ${name}'s value from stdin (end with Ctrl-D)...\n`);
    value = (await readAll(ctx.io.stdin)).toString("utf8").replace(/\r?\n$/, "");
  } else value = await promptHidden(ctx, `Value of ${name}: `);
  const bad = secretValueError(value);
  if (bad) throw new UsageError(bad);
  return value;
}

export async function runSecretSet(ctx: CliContext, name: string, opts: SecretSetOptions): Promise<void> {
  const value = await secretValue(ctx, name, opts);
  const runta = await ctx.client();
  const secret = await runta.secrets.set(name, value);
  if (opts.json) return printJson(ctx, secret);
  const rotated = secret.updated_at !== secret.created_at;
  ctx.io.stdout.write(`${escapeControl(secret.display_name)} ${rotated ? "updated (the next request gets the new value)" : "created"}\n`);
}

const usedBy = (s: Secret) => s.used_by.map((u) => `${u.runtime}:${u.host}`).join(",");

function secretColumns(now: Date): Column<Secret>[] {
  return [
    { header: "NAME", value: (s) => s.display_name },
    { header: "ID", value: (s) => s.id },
    { header: "CREATED", value: (s, tty) => timeValue(s.created_at, tty, now) },
    { header: "UPDATED", value: (s, tty) => timeValue(s.updated_at, tty, now) },
    { header: "USED BY", value: usedBy },
  ];
}

export async function runSecretLs(ctx: CliContext, opts: { quiet?: boolean; json?: boolean }): Promise<void> {
  const runta = await ctx.client();
  await printList(ctx, await runta.secrets.list(), { noun: "secrets", columns: secretColumns(ctx.now()), id: (s) => s.display_name }, listFormat(opts));
}

export async function runSecretDescribe(ctx: CliContext, name: string, opts: { json?: boolean }): Promise<void> {
  const runta = await ctx.client();
  const s = await runta.secrets.get(name);
  if (opts.json) return printJson(ctx, s);
  const lines = [`Name:     ${s.display_name}`, `ID:       ${s.id}`, `Created:  ${s.created_at}`, `Updated:  ${s.updated_at}`, `Inside:   $${s.display_name}=${SECRET_STUB} in every runtime`];
  if (!s.used_by.length) lines.push("Used by:  no rule (add one: runta secret rule set RUNTIME --secret NAME --host HOST --header H --template T)");
  s.used_by.forEach((u, i) => lines.push(`${i ? "          " : "Used by:  "}${u.runtime} → ${u.host} (${u.header})`));
  ctx.io.stdout.write(`${lines.map(escapeControl).join("\n")}\n`);
}

export async function runSecretRm(ctx: CliContext, names: string[]): Promise<void> {
  const runta = await ctx.client();
  await forEachTarget(ctx, names, (n) => runta.secrets.remove(n));
}

/** Flags of `secret rule set`. */
export interface RuleSetOptions {
  secret: string;
  host: string;
  path?: string;
  header: string;
  template: string;
  allowHttp?: boolean;
  json?: boolean;
}

export async function runRuleSet(ctx: CliContext, runtime: string, opts: RuleSetOptions): Promise<void> {
  const runta = await ctx.client();
  const rule = await withRuntime(runta, runtime, (rt) =>
    runta.secrets.setRule(rt, { secret: opts.secret, host: opts.host, path: opts.path, header: opts.header, template: opts.template, allow_http: opts.allowHttp }),
  );
  if (opts.json) return printJson(ctx, rule);
  ctx.io.stdout.write(`${escapeControl(`${runtime}: ${rule.secret} → ${rule.header} for https://${rule.host}${rule.path}${rule.allow_http ? " (and http)" : ""}`)}\n`);
}

const ruleColumns: Column<SecretRule>[] = [
  { header: "HOST", value: (r) => r.host },
  { header: "PATH", value: (r) => r.path },
  { header: "HEADER", value: (r) => r.header },
  { header: "TEMPLATE", value: (r) => r.template },
  { header: "SECRET", value: (r) => r.secret },
  { header: "HTTP", value: (r) => (r.allow_http ? "yes" : "no") },
];

export async function runRuleLs(ctx: CliContext, runtime: string, opts: { json?: boolean }): Promise<void> {
  const runta = await ctx.client();
  const rules = await withRuntime(runta, runtime, (rt) => runta.secrets.rules(rt));
  await printList(ctx, rules, { noun: "rules", columns: ruleColumns, id: (r) => `${r.host} ${r.header}` }, listFormat(opts));
}

export async function runRuleRm(ctx: CliContext, runtime: string, opts: { host: string; header: string }): Promise<void> {
  const runta = await ctx.client();
  const rule = await withRuntime(runta, runtime, (rt) => runta.secrets.removeRule(rt, opts.host, opts.header));
  ctx.io.stdout.write(`${escapeControl(`${runtime}: removed ${rule.host} ${rule.header}`)}\n`);
}
