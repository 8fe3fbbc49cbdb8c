import { Command } from "commander";
import type { CliContext } from "../context.js";
import { printJson } from "../output.js";

/** `runta dashboard`. */
export function dashboardCommand(ctx: CliContext): Command {
  return new Command("dashboard")
    .description("Print a one-time login link to the web dashboard (and open it on a desktop)")
    .option("--no-open", "only print the link, never start a browser")
    .option("--json", "print the link as JSON")
    .addHelpText(
      "after",
      "\nThe link works once, within two minutes, and logs the browser in with a session cookie: the API token never" +
        "\nreaches the browser. Sessions last 12 hours and end when the daemon restarts or its token changes." +
        "\n\nExamples:\n  runta dashboard\n  runta dashboard --no-open",
    )
    .action((opts: { open: boolean; json?: boolean }) => runDashboard(ctx, opts));
}

/** Asks the daemon for a login code and prints the link; on a desktop terminal also hands it to xdg-open. */
export async function runDashboard(ctx: CliContext, opts: { open: boolean; json?: boolean }): Promise<void> {
  const runta = await ctx.client();
  const link = await runta.dashboardLogin();
  if (opts.json) return printJson(ctx, link);
  ctx.io.stdout.write(`Open this link to log in to the dashboard (it works once, within two minutes):\n\n  ${link.url}\n\n`);
  const desktop = Boolean(ctx.env.DISPLAY || ctx.env.WAYLAND_DISPLAY) && ctx.io.stdout.isTTY === true;
  if (opts.open && desktop) {
    // Best effort: without xdg-open (a server) the printed link is all there is.
    // Loaded here: node:child_process (with net and dgram) would cost every command its start-up.
    const { spawn } = await import("node:child_process");
    const child = spawn("xdg-open", [link.url], { detached: true, stdio: "ignore" });
    child.on("error", () => undefined);
    child.unref();
  }
}
