import { Command, Option } from "commander";
import type { EgressEvent, RuntimeEgress } from "../../api/egress.js";
import { EGRESS_LIMITS, EGRESS_MODES, ENTRY_ERROR, parseEgressEntry, type EgressMode, type EgressPolicyInput } from "../../api/egress-policy.js";
import type { CliContext } from "../context.js";
import { UsageError } from "../errors.js";
import { untilInterrupted } from "../interrupt.js";
import { boundedNumber } from "../parse.js";
import { escapeControl, listFormat, printJson, printList, timeValue, type Column } from "../output.js";
import { withRuntime } from "../targets.js";

/** How often `egress events --follow` asks for new events. */
const FOLLOW_INTERVAL_MS = 1000;

/** Collects a repeatable HOST_OR_CIDR flag, refusing what the API would refuse (usage error naming the flag). */
export function collectEntry(flag: string) {
  return (value: string, previous: string[] = []): string[] => {
    if (!parseEgressEntry(value)) throw new UsageError(`${flag} "${value}": ${ENTRY_ERROR}`);
    return [...previous, value];
  };
}

/**
 * The policy of `--mode` with `--allow`/`--deny` (egress set), or of `--egress-allow`/`--egress-deny` (run), where
 * the mode follows from the flags. Undefined when nothing was asked for.
 */
export function policyFromFlags(flags: { mode?: EgressMode; allow?: string[]; deny?: string[] }, names = { allow: "--allow", deny: "--deny" }): EgressPolicyInput | undefined {
  const { allow = [], deny = [] } = flags;
  if (allow.length && deny.length) throw new UsageError(`${names.allow} and ${names.deny} cannot be mixed: a policy is an allowlist or a denylist`);
  const mode = flags.mode ?? (allow.length ? "allowlist" : deny.length ? "denylist" : undefined);
  if (!mode) return undefined;
  if (allow.length && mode !== "allowlist") throw new UsageError(`${names.allow} needs --mode allowlist (got --mode ${mode})`);
  if (deny.length && mode !== "denylist") throw new UsageError(`${names.deny} needs --mode denylist (got --mode ${mode})`);
  return mode === "allowlist" ? { mode, allow } : mode === "denylist" ? { mode, deny } : { mode };
}

/** `runta egress set|ls|describe|events`. */
export function egressCommand(ctx: CliContext): Command {
  const egress = new Command("egress").description("Control and audit where runtimes may connect (hostnames and CIDRs)").addHelpText(
    "after",
    `
Hostname entries (api.example.com, *.example.com) apply to HTTP (80) and HTTPS (443), read from the Host header and
the TLS server name; CIDR entries (10.10.10.0/24, or one address) apply to every port. Each 'set' replaces the policy.

Examples:
  runta egress set worker --mode allowlist --allow deb.debian.org --allow 10.10.10.0/24
  runta egress set worker --mode denylist --deny '*.example.com'
  runta egress set worker --mode open
  runta egress ls
  runta egress describe worker
  runta egress events worker --limit 20`,
  );
  egress
    .command("set")
    .description("Replace a runtime's egress policy (applies at once, open connections included)")
    .argument("<runtime>", "runtime name or id")
    .addOption(new Option("--mode <mode>", "open: anything; allowlist: only --allow entries; denylist: all but --deny entries").choices(EGRESS_MODES).makeOptionMandatory())
    .option("--allow <HOST_OR_CIDR>", "an entry of the allowlist (repeatable)", collectEntry("--allow"))
    .option("--deny <HOST_OR_CIDR>", "an entry of the denylist (repeatable)", collectEntry("--deny"))
    .option("--json", "print the new policy as JSON")
    .addHelpText(
      "after",
      "\nExamples:\n  runta egress set worker --mode allowlist --allow deb.debian.org --allow '*.npmjs.org'\n  runta egress set worker --mode open",
    )
    .action((target: string, opts: { mode: EgressMode; allow?: string[]; deny?: string[]; json?: boolean }) => runEgressSet(ctx, target, opts));
  egress
    .command("ls")
    .alias("list")
    .description("List every runtime's network and egress policy")
    .option("-q, --quiet", "only print runtime names")
    .option("--json", 'print the policies as JSON ({"egress": [...]})')
    .addHelpText("after", "\nExamples:\n  runta egress ls\n  runta egress ls --json")
    .action((opts: { quiet?: boolean; json?: boolean }) => runEgressLs(ctx, opts));
  egress
    .command("describe")
    .alias("inspect")
    .description("Show one runtime's network and egress policy")
    .argument("<runtime>", "runtime name or id")
    .option("--json", "print the policy as JSON")
    .addHelpText("after", "\nExamples:\n  runta egress describe worker")
    .action((target: string, opts: { json?: boolean }) => runEgressDescribe(ctx, target, opts));
  egress
    .command("events")
    .description(`Show a runtime's egress audit trail: every proxied connection and every refusal (the last ${EGRESS_LIMITS.eventsKeptPerRuntime} are kept)`)
    .argument("<runtime>", "runtime name or id")
    .option("--limit <n>", `the last N events (default ${EGRESS_LIMITS.eventsLimitDefault})`, boundedNumber("--limit", { min: 1, max: EGRESS_LIMITS.eventsLimitMax, integer: true }))
    .option("-f, --follow", "keep printing new events until interrupted")
    .option("--json", 'print the events as JSON ({"events": [...]}; with --follow one event object a line)')
    .addHelpText("after", "\nExamples:\n  runta egress events worker\n  runta egress events worker --follow\n  runta egress events worker --json --limit 1000 | jq '.events[] | select(.verdict == \"denied\")'")
    .action((target: string, opts: { limit?: number; follow?: boolean; json?: boolean }) => runEgressEvents(ctx, target, opts));
  return egress;
}

/** Sets the policy and prints it. */
export async function runEgressSet(ctx: CliContext, target: string, opts: { mode: EgressMode; allow?: string[]; deny?: string[]; json?: boolean }): Promise<void> {
  const policy = policyFromFlags(opts)!;
  const runta = await ctx.client();
  const result = await withRuntime(runta, target, (id) => runta.runtimes.setEgress(id, policy));
  printPolicy(ctx, result, opts.json);
}

/** Prints one runtime's policy. */
export async function runEgressDescribe(ctx: CliContext, target: string, opts: { json?: boolean }): Promise<void> {
  const runta = await ctx.client();
  printPolicy(ctx, await withRuntime(runta, target, (id) => runta.runtimes.egress(id)), opts.json);
}

function printPolicy(ctx: CliContext, e: RuntimeEgress, json?: boolean): void {
  if (json) return printJson(ctx, e);
  const lines = [
    `Runtime:  ${e.runtime} (${e.runtime_id})`,
    `Network:  ${e.network === "none" ? "none (loopback only)" : `nat, address ${e.address}`}`,
    `Mode:     ${e.policy.mode}`,
  ];
  const list = (label: string, entries: string[]) => entries.forEach((x, i) => lines.push(`${i ? " ".repeat(10) : label.padEnd(10)}${x}`));
  list("Allow:", e.policy.allow);
  list("Deny:", e.policy.deny);
  if (e.policy.mode === "allowlist" && !e.policy.allow.length) lines.push("          (nothing: every destination is refused)");
  if (e.policy.mode === "denylist" && !e.policy.deny.length) lines.push("          (nothing: every destination is allowed, as with open)");
  ctx.io.stdout.write(`${lines.map(escapeControl).join("\n")}\n`);
}

const policyColumns: Column<RuntimeEgress>[] = [
  { header: "RUNTIME", value: (e) => e.runtime },
  { header: "NETWORK", value: (e) => e.network },
  { header: "ADDRESS", value: (e) => e.address ?? "" },
  { header: "MODE", value: (e) => e.policy.mode },
  { header: "ENTRIES", value: (e) => [...e.policy.allow, ...e.policy.deny].join(",") },
];

/** Lists every runtime's policy (one request per runtime, a few at a time). */
export async function runEgressLs(ctx: CliContext, opts: { quiet?: boolean; json?: boolean }): Promise<void> {
  const runta = await ctx.client();
  const handles = await runta.runtimes.list();
  const rows: RuntimeEgress[] = [];
  for (let i = 0; i < handles.length; i += 8) {
    rows.push(...(await Promise.all(handles.slice(i, i + 8).map((h) => runta.runtimes.egress(h.id)))));
  }
  await printList(ctx, rows, { noun: "egress", columns: policyColumns, id: (e) => e.runtime }, listFormat(opts));
}

function eventColumns(now: Date): Column<EgressEvent>[] {
  return [
    { header: "TIME", value: (e, tty) => timeValue(e.time, tty, now) },
    { header: "VERDICT", value: (e) => e.verdict, colour: (e) => (e.verdict === "denied" ? "red" : undefined) },
    { header: "PROTOCOL", value: (e) => e.protocol },
    { header: "DESTINATION", value: (e) => `${e.host ?? e.ip ?? "?"}:${e.port}` },
    { header: "IP", value: (e) => e.ip ?? "" },
    // A request a secret rule rewrote names the secret (never its value).
    { header: "RULE", value: (e) => e.rule + (e.injected?.length ? ` +secret ${e.injected.map((i) => `${i.secret}→${i.header}`).join(",")}` : "") },
    { header: "SENT", value: (e) => String(e.bytes_out) },
    { header: "RECEIVED", value: (e) => String(e.bytes_in) },
    { header: "REASON", value: (e) => e.reason ?? "" },
  ];
}

/** One followed event as a line (tab-separated, the table's columns, full values). */
function eventLine(ctx: CliContext, e: EgressEvent): string {
  if (ctx.json) return JSON.stringify(e);
  return eventColumns(ctx.now()).map((c) => escapeControl(c.value(e, false))).join("\t");
}

/** Prints the last events; with --follow keeps asking for newer ones until Ctrl-C. */
export async function runEgressEvents(ctx: CliContext, target: string, opts: { limit?: number; follow?: boolean; json?: boolean }): Promise<void> {
  const runta = await ctx.client();
  const events = await withRuntime(runta, target, (id) => runta.runtimes.egressEvents(id, { limit: opts.limit }));
  if (!opts.follow) return printList(ctx, events, { noun: "events", columns: eventColumns(ctx.now()), id: (e) => String(e.seq) }, listFormat(opts));
  const id = (await withRuntime(runta, target, (ref) => runta.runtimes.egress(ref))).runtime_id;
  for (const e of events) ctx.io.stdout.write(`${eventLine(ctx, e)}\n`);
  let after = events.at(-1)?.seq ?? 0;
  let stopped = false;
  const follow = async (): Promise<void> => {
    while (!stopped) {
      await new Promise((r) => setTimeout(r, FOLLOW_INTERVAL_MS));
      if (stopped) return;
      for (const e of await runta.runtimes.egressEvents(id, { after, limit: EGRESS_LIMITS.eventsLimitMax })) {
        ctx.io.stdout.write(`${eventLine(ctx, e)}\n`);
        after = e.seq;
      }
    }
  };
  await untilInterrupted(ctx, follow(), () => (stopped = true));
}
