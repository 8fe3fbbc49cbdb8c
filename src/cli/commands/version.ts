import { Command } from "commander";
import type { VersionInfo } from "../../api/schemas.js";
import type { CliContext } from "../context.js";
import { clientVersion } from "../main.js";
import { printJson } from "../output.js";

/** `runta version`. */
export function versionCommand(ctx: CliContext): Command {
  return new Command("version")
    .description("Show the client and server versions (the server part says so when the daemon is down)")
    .option("--json", "print the versions as JSON")
    .addHelpText("after", "\nExamples:\n  runta version\n  runta version --json")
    .action((opts: { json?: boolean }) => runVersion(ctx, opts));
}

/** Prints both versions; a down daemon is reported, not an error (the client version is still useful). */
export async function runVersion(ctx: CliContext, opts: { json?: boolean }): Promise<void> {
  let server: VersionInfo | null = null;
  let serverError: string | null = null;
  try {
    const runta = await ctx.client({ autoStart: false });
    server = await runta.version();
  } catch (err) {
    serverError = err instanceof Error ? err.message : String(err);
  }
  const client = { version: clientVersion(), node: process.versions.node };
  if (opts.json) return printJson(ctx, { client, server, ...(serverError ? { server_error: serverError } : {}) });
  const lines = ["Client:", `  Version: ${client.version}`, `  Node:    ${client.node}`, "Server:"];
  if (server) {
    lines.push(`  Version: ${server.runta}`, `  API:     ${server.api}`, `  runc:    ${server.runc}`, `  Kernel:  ${server.kernel}`);
  } else {
    lines.push(`  unavailable: ${serverError}`);
  }
  ctx.io.stdout.write(`${lines.join("\n")}\n`);
}
