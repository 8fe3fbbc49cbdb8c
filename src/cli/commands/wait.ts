import { Command } from "commander";
import { RuntaError } from "../../api/errors.js";
import type { Runtime } from "../../api/schemas.js";
import type { CliContext } from "../context.js";
import { StatusError } from "../errors.js";
import { forEachTarget, withRuntime } from "../targets.js";

/** How often `wait` asks: a lifecycle change is not urgent to the second, and the daemon answers from its store. */
const POLL_MS = 500;

/** `runta wait`. */
export function waitCommand(ctx: CliContext): Command {
  return new Command("wait")
    .description("Block until runtimes are shut down or crashed; prints the exit code of each one's init, like docker wait")
    .argument("<runtime...>", "runtime names or ids")
    .addHelpText(
      "after",
      `
Prints one exit code per runtime, as docker wait does: that of the runtime's init, 128+n when it died by signal n —
0 after a shutdown with a grace period, 137 after runta shutdown -t 0 or a kill, or what a crash left. Exits with the
last one's code (as the shell's wait does); 1 when a runtime failed (status error) or its code is unknown, with the
reason on stderr and nothing on stdout. A code is unknown only for an init booted by a daemon from before runta
recorded exit codes (or whose reaper was killed) that ended on its own or on SIGTERM; one the daemon killed is 137,
and its next boot (runta start) records the code again.

Examples:
  runta wait worker
  runta shutdown -t 30 worker & runta wait worker`,
    )
    .action((targets: string[]) => runWait(ctx, targets));
}

/** Polls each runtime until its init has ended, prints its exit code, and exits with the last one. */
export async function runWait(ctx: CliContext, targets: string[]): Promise<void> {
  const runta = await ctx.client();
  const ended = await forEachTarget(
    ctx,
    targets,
    async (t) => {
      for (;;) {
        const rt = (await withRuntime(runta, t, (id) => runta.runtimes.get(id, { usage: false }))).info;
        if (rt.status === "error") throw new RuntaError("failed_precondition", `${t}: error${rt.last_error ? `: ${rt.last_error}` : ""} — see runta inspect ${t}`);
        if (rt.status === "shutdown" || rt.status === "crashed") return known(t, rt);
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
    },
    (_t, code) => String(code),
  );
  const last = ended.at(-1);
  if (last) throw new StatusError(last);
}

/** The init's exit code, or why it is not known (never a made-up number: a script would take it for the init's). */
function known(t: string, rt: Runtime): number {
  if (rt.exit_code !== null && rt.exit_code !== undefined) return rt.exit_code;
  const why = rt.status === "crashed" && rt.last_error ? ` (${rt.last_error})` : "";
  throw new RuntaError(
    "failed_precondition",
    `${t}: ${rt.status}${why}, but the exit code of its init is unknown: it was booted by a daemon from before runta recorded exit codes (or its reaper was killed), and nothing saw how it ended. Its next boot records it: runta start ${t}`,
  );
}
