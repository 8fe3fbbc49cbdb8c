import { Command } from "commander";
import { RuntaError } from "../../api/errors.js";
import type { RuntimeStatus } from "../../api/schemas.js";
import type { CliContext } from "../context.js";
import { forEachTarget, withRuntime } from "../targets.js";

/** Statuses in which a runtime's init has ended. */
const ENDED: RuntimeStatus[] = ["shutdown", "crashed", "error"];
/** How often `wait` asks: a lifecycle change is not urgent to the second, and the daemon answers from its store. */
const POLL_MS = 500;

/** `runta wait`. */
export function waitCommand(ctx: CliContext): Command {
  return new Command("wait")
    .description("Block until runtimes are shut down or crashed; prints each as given, exit 1 if any crashed")
    .argument("<runtime...>", "runtime names or ids")
    .addHelpText(
      "after",
      `
Exit status: 0 when every runtime was shut down; 1 when one crashed or failed (its reason on stderr). The exit code
of the runtime's init itself is not recorded by the daemon yet.

Examples:
  runta wait worker
  runta shutdown -t 30 worker & runta wait worker`,
    )
    .action((targets: string[]) => runWait(ctx, targets));
}

/** Polls each runtime until its init has ended. */
export async function runWait(ctx: CliContext, targets: string[]): Promise<void> {
  const runta = await ctx.client();
  await forEachTarget(ctx, targets, async (t) => {
    for (;;) {
      const rt = (await withRuntime(runta, t, (id) => runta.runtimes.get(id, { usage: false }))).info;
      if (rt.status === "shutdown") return rt;
      if (ENDED.includes(rt.status)) {
        throw new RuntaError("failed_precondition", `${t}: ${rt.status}${rt.last_error ? `: ${rt.last_error}` : ""} — see runta inspect ${t}`);
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  });
}
