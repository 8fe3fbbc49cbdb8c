import { Command } from "commander";
import { LIMITS } from "../../api/limits.js";
import type { RuntaApi } from "../../client/contract.js";
import type { CliContext } from "../context.js";
import { spinner } from "../output.js";
import { boundedNumber } from "../parse.js";
import { forEachTarget, withRuntime } from "../targets.js";

/** Flags of `runta shutdown` and `runta restart`. */
export interface ShutdownOptions {
  /** Seconds between SIGTERM and SIGKILL; the daemon's default (10) when absent. */
  time?: number;
}

/** `-t/--time SECS`, shared by shutdown and restart. */
export const graceFlag = boundedNumber("--time", { min: 0, max: LIMITS.stopGraceSecsMax, unit: "seconds", integer: true });

/** `runta shutdown`. */
export function shutdownCommand(ctx: CliContext): Command {
  return new Command("shutdown")
    .description("Stop runtimes: processes get SIGTERM, then SIGKILL after the grace period; the filesystem and the record are kept")
    .argument("<runtime...>", "runtime names or ids")
    .option("-t, --time <secs>", `seconds to wait after SIGTERM before SIGKILL (default ${LIMITS.stopGraceSecs})`, graceFlag)
    .addHelpText("after", "\nExamples:\n  runta shutdown worker\n  runta shutdown -t 30 worker\n  runta ps -q | xargs -r runta shutdown -t 0")
    .action((targets: string[], opts: ShutdownOptions) => runShutdown(ctx, targets, opts));
}

/** Stops runtimes (processes end, filesystem and record kept); prints each runtime as given on success. */
export async function runShutdown(ctx: CliContext, targets: string[], opts: ShutdownOptions = {}): Promise<void> {
  const runta = await ctx.client();
  await forEachTarget(ctx, targets, (t) => stopWithProgress(ctx, runta, t, opts.time));
}

/**
 * One stop, with a spinner on a terminal that counts the grace period down: a runtime whose processes ignore SIGTERM
 * takes the whole grace period, and a silent wait of 30 s looks like a hang.
 */
export async function stopWithProgress(ctx: CliContext, runta: RuntaApi, target: string, graceSecs: number | undefined) {
  const grace = graceSecs ?? LIMITS.stopGraceSecs;
  const started = Date.now();
  const text = () => {
    const left = Math.max(0, grace - Math.floor((Date.now() - started) / 1000));
    return `shutting down ${target}… (SIGKILL in ${left} s if it does not end)`;
  };
  const progress = await spinner(ctx, text());
  const tick = ctx.decorate ? setInterval(() => progress.update(text()), 250) : undefined;
  try {
    return await withRuntime(runta, target, (id) => runta.runtimes.stop(id, graceSecs === undefined ? undefined : { graceSecs }));
  } finally {
    clearInterval(tick);
    progress.stop();
  }
}
