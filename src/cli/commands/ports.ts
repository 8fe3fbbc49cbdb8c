import { Command } from "commander";
import { RuntaError } from "../../api/errors.js";
import { parsePortSpec, type PortRequest, type PublishedPort } from "../../api/ports-spec.js";
import type { CliContext } from "../context.js";
import { UsageError } from "../errors.js";
import { listFormat, printJson, printList, type Column } from "../output.js";
import { forEachTarget, withRuntime } from "../targets.js";

/** A `-p`/`--publish` value or a `ports add` argument as the API takes it; a bad one is a usage error naming the flag. */
export function portFlag(flag: string) {
  return (value: string): PortRequest => {
    try {
      return parsePortSpec(value);
    } catch (err) {
      if (err instanceof RuntaError) throw new UsageError(`${flag}: ${err.message}`);
      throw err;
    }
  };
}

/** Collects repeated `-p` flags, refusing a port given twice (the daemon would refuse the create). */
export function collectPorts(flag: string) {
  const parse = portFlag(flag);
  return (value: string, previous: PortRequest[] = []): PortRequest[] => {
    const p = parse(value);
    if (previous.some((q) => q.port === p.port)) throw new UsageError(`${flag} ${value}: port ${p.port} is published twice — publish each port once`);
    return [...previous, p];
  };
}

const EXAMPLES = `
Ports published as http or https are reached through the daemon's ingress at
http(s)://<port>-<runtime-uuid>.runta.localhost:<ingress port>/ (names under localhost need no DNS; https uses
the daemon's CA: runta ports ca > runta-ca.crt, then curl --cacert runta-ca.crt). HOST_PORT:PORT (docker's form)
forwards plain TCP from a host port; PORT/tcp picks a free host port.

Examples:
  runta ports add web 8080
  runta ports add web 8443/https
  runta ports add web 15432:5432
  runta ports ls web
  runta ports rm web 8080
  runta ports ca > runta-ca.crt`;

/** `runta ports ls|add|rm|ca`. */
export function portsCommand(ctx: CliContext): Command {
  const ports = new Command("ports").description("Publish a runtime's ports: http/https through the ingress, tcp on a host port").addHelpText("after", EXAMPLES);
  ports
    .command("ls")
    .alias("list")
    .description("List a runtime's published ports and their URLs")
    .argument("<runtime>", "runtime name or id")
    .option("-q, --quiet", "only print the URLs")
    .option("--json", 'print the ports as JSON ({"ports": [...]})')
    .addHelpText("after", "\nExamples:\n  runta ports ls web\n  runta ports ls web --json")
    .action((target: string, opts: { quiet?: boolean; json?: boolean }) => runPortsLs(ctx, target, opts));
  ports
    .command("add")
    .description("Publish one more port of a runtime (it needs a network) and print its URL")
    .argument("<runtime>", "runtime name or id")
    .argument("<port>", "PORT[/http|/https|/tcp] or [HOST_IP:]HOST_PORT:PORT", portFlag("port"))
    .option("--json", "print the published port as JSON")
    .addHelpText("after", "\nExamples:\n  runta ports add web 8081\n  runta ports add web 8444/https\n  runta ports add web 127.0.0.1:15433:5433")
    .action((target: string, port: PortRequest, opts: { json?: boolean }) => runPortsAdd(ctx, target, port, opts));
  ports
    .command("rm")
    .alias("remove")
    .description("Stop publishing ports of a runtime (their host ports and open connections close)")
    .argument("<runtime>", "runtime name or id")
    .argument("<port...>", "the runtime's port numbers (a /protocol suffix is ignored)")
    .addHelpText("after", "\nExamples:\n  runta ports rm web 8081\n  runta ports rm web 8443 8444")
    .action((target: string, list: string[]) => runPortsRm(ctx, target, list));
  ports
    .command("ca")
    .description("Print the CA certificate (PEM) the ingress's https URLs are signed by, to trust it")
    .addHelpText("after", "\nExamples:\n  runta ports ca > runta-ca.crt\n\nTo trust it system-wide (Debian): copy it to /usr/local/share/ca-certificates/runta-ingress.crt, then run update-ca-certificates.")
    .action(() => runPortsCa(ctx));
  return ports;
}

const columns: Column<PublishedPort>[] = [
  { header: "PORT", value: (p) => String(p.port) },
  { header: "PROTOCOL", value: (p) => p.protocol },
  { header: "URL", value: (p) => p.url },
];

/** Lists the ports of one runtime. */
export async function runPortsLs(ctx: CliContext, target: string, opts: { quiet?: boolean; json?: boolean }): Promise<void> {
  const runta = await ctx.client();
  const rows = await withRuntime(runta, target, (id) => runta.runtimes.ports(id));
  await printList(ctx, rows, { noun: "ports", columns, id: (p) => p.url }, listFormat(opts));
}

/** Publishes a port and prints its URL. */
export async function runPortsAdd(ctx: CliContext, target: string, port: PortRequest, opts: { json?: boolean }): Promise<void> {
  const runta = await ctx.client();
  const published = await withRuntime(runta, target, (id) => runta.runtimes.publish(id, port));
  if (opts.json || ctx.json) printJson(ctx, published);
  else ctx.io.stdout.write(`${published.url}\n`);
}

/** Unpublishes each port given (all are tried; exit 1 if one failed, as lifecycle verbs do). */
export async function runPortsRm(ctx: CliContext, target: string, list: string[]): Promise<void> {
  const numbers = new Map<string, number>();
  for (const s of list) {
    const m = /^(\d{1,5})(\/[a-z]+)?$/i.exec(s);
    if (!m || Number(m[1]) < 1 || Number(m[1]) > 65535) throw new UsageError(`port "${s}" must be a port number from 1 to 65535 (e.g. 8080)`);
    numbers.set(s, Number(m[1]));
  }
  const runta = await ctx.client();
  await forEachTarget(ctx, list, (s) => withRuntime(runta, target, (id) => runta.runtimes.unpublish(id, numbers.get(s)!)));
}

/** Prints the ingress CA certificate. */
export async function runPortsCa(ctx: CliContext): Promise<void> {
  const runta = await ctx.client();
  ctx.io.stdout.write((await runta.ingress()).ca_certificate);
}
