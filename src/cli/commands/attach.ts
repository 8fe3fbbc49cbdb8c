import { Command } from "commander";
import { RuntaError } from "../../api/errors.js";
import type { CliContext } from "../context.js";
import { EXIT, StatusError, UsageError } from "../errors.js";
import { withRuntime } from "../targets.js";

/** `runta attach`. */
export function attachCommand(ctx: CliContext): Command {
  return new Command("attach")
    .description("Reattach to a terminal session (exec -it) whose connection dropped: its last output, then live")
    .argument("<runtime>", "runtime name or id")
    .argument("<exec-id>", "the session's exec id (printed when the connection dropped; see runta top)")
    .addHelpText(
      "after",
      `
A dropped 'runta exec -it' session keeps running for its grace period (60 s unless --grace said otherwise).
Attaching repaints the last 64 KiB of its output, then goes on live; the exit code is the command's.

Examples:
  runta attach worker 3f2a9c41d0e7
  runta top worker     # find the id of a detached session`,
    )
    .action((target: string, id: string) => runAttach(ctx, target, id));
}

/**
 * Takes over a detached terminal session and bridges it to this terminal; ends with the command's exit code. Refusals
 * before attaching (no such exec, ended, not a terminal) exit 1 like other commands; a failure once attached is 125.
 */
export async function runAttach(ctx: CliContext, target: string, id: string): Promise<void> {
  if (ctx.io.stdin.isTTY !== true) throw new UsageError("runta attach needs a terminal on stdin (it reattaches an exec -it session)");
  const runta = await ctx.client();
  const info = await withRuntime(runta, target, (t) => runta.execs.get(t, id));
  if (!info.tty) throw new UsageError(`exec ${id} has no terminal; only exec -it sessions can be reattached (see runta top ${target})`);
  if (info.status === "ended") {
    throw new RuntaError("failed_precondition", `exec ${id} has ended (exit ${info.exit_code ?? "unknown"}); there is nothing to attach to`);
  }
  const { bridgeExec, terminalSize } = await import("../tty/bridge.js");
  const handle = runta.execs.attach(info.runtime_id, id, terminalSize(ctx.io.stdout));
  const bridge = ctx.deps.bridge ?? bridgeExec;
  let code: number;
  try {
    code = await bridge(handle, ctx.io, { tty: true, interactive: true, signals: ctx.deps.signals ?? process, reattach: `runta attach ${target}` });
  } catch (err) {
    // Once attached, runta's own failure must not pass for a code the command returned (as exec: 125).
    throw new StatusError(EXIT.execFailure, err);
  }
  if (code !== EXIT.ok) throw new StatusError(code);
}
