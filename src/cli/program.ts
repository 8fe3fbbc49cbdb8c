/** The command tree: declares every command and wires the global flags into the context. */
import { Command } from "commander";
import type { CliContext } from "./context.js";
import { clientVersion } from "./main.js";
import { applyCommand } from "./commands/apply.js";
import { attachCommand } from "./commands/attach.js";
import { bootCommand } from "./commands/boot.js";
import { checkpointCommand } from "./commands/checkpoint.js";
import { poolCommand } from "./commands/pool.js";
import { completeCommand, completionCommand } from "./commands/completion.js";
import { cpCommand } from "./commands/cp.js";
import { daemonCommand } from "./commands/daemon.js";
import { dashboardCommand } from "./commands/dashboard.js";
import { deleteCommand } from "./commands/delete.js";
import { egressCommand } from "./commands/egress.js";
import { secretCommand } from "./commands/secret.js";
import { execCommand } from "./commands/exec.js";
import { imageCommand } from "./commands/image.js";
import { inspectCommand } from "./commands/inspect.js";
import { killCommand } from "./commands/kill.js";
import { pauseCommand } from "./commands/pause.js";
import { portsCommand } from "./commands/ports.js";
import { psCommand } from "./commands/ps.js";
import { renameCommand } from "./commands/rename.js";
import { resizeCommand } from "./commands/resize.js";
import { restartCommand } from "./commands/restart.js";
import { resumeCommand } from "./commands/resume.js";
import { rmCommand } from "./commands/rm.js";
import { runCommand } from "./commands/run.js";
import { shutdownCommand } from "./commands/shutdown.js";
import { statsCommand } from "./commands/stats.js";
import { updateCommand } from "./commands/update.js";
import { topCommand } from "./commands/top.js";
import { versionCommand } from "./commands/version.js";
import { volumeCommand } from "./commands/volume.js";
import { waitCommand } from "./commands/wait.js";

/** Builds the whole `runta` program for one invocation. */
export function buildProgram(ctx: CliContext): Command {
  const program = new Command("runta")
    .description("Isolated Linux runtimes on runc, driven like docker")
    .version(`runta version ${clientVersion()}`, "-V, --version", "print the client version")
    .option("--endpoint <url>", "daemon URL (default: RUNTA_ENDPOINT, ~/.config/runta/config.json, then the local daemon)")
    .option("--token <token>", "API token (prefer RUNTA_TOKEN: argv is visible to other users)")
    .addHelpText(
      "after",
      `
Examples:
  runta run --name worker --cpus 2 --memory 2048
  runta ps -a
  runta exec worker -- sh -lc 'pwd && python3 --version'
  runta resize --memory 4096 worker
  runta rm worker

Run 'runta <command> --help' for the flags of a command.`,
    );

  const commands = [
    runCommand(ctx),
    psCommand(ctx),
    inspectCommand(ctx),
    execCommand(ctx),
    cpCommand(ctx),
    attachCommand(ctx),
    topCommand(ctx),
    killCommand(ctx),
    bootCommand(ctx),
    pauseCommand(ctx),
    resumeCommand(ctx),
    shutdownCommand(ctx),
    restartCommand(ctx),
    waitCommand(ctx),
    statsCommand(ctx),
    rmCommand(ctx),
    resizeCommand(ctx),
    updateCommand(ctx),
    checkpointCommand(ctx),
    volumeCommand(ctx),
    renameCommand(ctx),
    applyCommand(ctx),
    deleteCommand(ctx),
    imageCommand(ctx),
    poolCommand(ctx),
    egressCommand(ctx),
    secretCommand(ctx),
    portsCommand(ctx),
    daemonCommand(ctx),
    dashboardCommand(ctx),
    versionCommand(ctx),
    completionCommand(ctx, () => program),
  ];
  for (const c of commands) program.addCommand(c);
  program.addCommand(completeCommand(ctx), { hidden: true });

  program.hook("preAction", () => {
    const opts = program.opts<{ endpoint?: string; token?: string }>();
    ctx.flags = { endpoint: opts.endpoint, token: opts.token };
    if (opts.token) ctx.io.stderr.write("runta: warning: --token is visible to other users of this machine (ps); prefer RUNTA_TOKEN or ~/.config/runta/config.json\n");
  });

  // Every command reports through main (exit codes, one-line errors) instead of printing and exiting itself.
  const configure = (cmd: Command) => {
    cmd.exitOverride();
    cmd.configureOutput({
      writeOut: (s) => ctx.io.stdout.write(s),
      writeErr: (s) => ctx.io.stderr.write(s),
      outputError: () => undefined,
    });
    cmd.showSuggestionAfterError(true);
    cmd.commands.forEach(configure);
  };
  configure(program);
  return program;
}
