/** The command tree: where every command is defined, the global flags, and how the context learns them. */
import { Command } from "commander";
import type { CliContext } from "./context.js";
import { clientVersion } from "./main.js";

/** How a command module defines its command; `root` gives the whole program (for `completion`). */
type Define = (ctx: CliContext, root: () => Command) => Command;

/**
 * Every top-level command in help's order: its name, aliases and module. An invocation loads only the module of the
 * command it runs (`runta exec` does not evaluate the other 30 modules, their packages and node built-ins, nor build
 * their definitions); help, completion and an unknown word load them all.
 */
const COMMANDS: { name: string; aliases?: string[]; needsAll?: true; hidden?: true; load: () => Promise<Define> }[] = [
  { name: "run", load: async () => (await import("./commands/run.js")).runCommand },
  { name: "ps", aliases: ["ls"], load: async () => (await import("./commands/ps.js")).psCommand },
  { name: "inspect", load: async () => (await import("./commands/inspect.js")).inspectCommand },
  { name: "exec", load: async () => (await import("./commands/exec.js")).execCommand },
  { name: "cp", load: async () => (await import("./commands/cp.js")).cpCommand },
  { name: "attach", load: async () => (await import("./commands/attach.js")).attachCommand },
  { name: "top", load: async () => (await import("./commands/top.js")).topCommand },
  { name: "kill", load: async () => (await import("./commands/kill.js")).killCommand },
  { name: "boot", load: async () => (await import("./commands/boot.js")).bootCommand },
  { name: "pause", load: async () => (await import("./commands/pause.js")).pauseCommand },
  { name: "resume", load: async () => (await import("./commands/resume.js")).resumeCommand },
  { name: "shutdown", load: async () => (await import("./commands/shutdown.js")).shutdownCommand },
  { name: "restart", load: async () => (await import("./commands/restart.js")).restartCommand },
  { name: "wait", load: async () => (await import("./commands/wait.js")).waitCommand },
  { name: "stats", load: async () => (await import("./commands/stats.js")).statsCommand },
  { name: "rm", load: async () => (await import("./commands/rm.js")).rmCommand },
  { name: "resize", load: async () => (await import("./commands/resize.js")).resizeCommand },
  { name: "update", load: async () => (await import("./commands/update.js")).updateCommand },
  { name: "checkpoint", aliases: ["snapshot"], load: async () => (await import("./commands/checkpoint.js")).checkpointCommand },
  { name: "volume", load: async () => (await import("./commands/volume.js")).volumeCommand },
  { name: "rename", load: async () => (await import("./commands/rename.js")).renameCommand },
  { name: "apply", load: async () => (await import("./commands/apply.js")).applyCommand },
  { name: "delete", load: async () => (await import("./commands/delete.js")).deleteCommand },
  { name: "image", load: async () => (await import("./commands/image.js")).imageCommand },
  { name: "pool", load: async () => (await import("./commands/pool.js")).poolCommand },
  { name: "egress", load: async () => (await import("./commands/egress.js")).egressCommand },
  { name: "secret", load: async () => (await import("./commands/secret.js")).secretCommand },
  { name: "ports", load: async () => (await import("./commands/ports.js")).portsCommand },
  { name: "daemon", load: async () => (await import("./commands/daemon.js")).daemonCommand },
  { name: "dashboard", load: async () => (await import("./commands/dashboard.js")).dashboardCommand },
  { name: "version", load: async () => (await import("./commands/version.js")).versionCommand },
  { name: "completion", needsAll: true, load: async () => (await import("./commands/completion.js")).completionCommand },
  { name: "__complete", hidden: true, load: async () => (await import("./commands/completion.js")).completeCommand },
];

/** The names and aliases of the top-level commands (the table above; a unit test holds it to the commands' own). */
export const COMMAND_NAMES: readonly { name: string; aliases: readonly string[]; hidden: boolean }[] = COMMANDS.map((c) => ({
  name: c.name,
  aliases: c.aliases ?? [],
  hidden: c.hidden === true,
}));

/** The program's own options that take a value (the word after them is not a command). */
const GLOBAL_VALUE_OPTIONS = new Set(["--endpoint", "--token"]);

/** The table's entry `argv` runs, or undefined when it runs none (no command, help, an unknown word). */
function commandOf(argv: readonly string[]) {
  for (let i = 0; i < argv.length; i++) {
    const word = argv[i]!;
    if (word === "--") return undefined;
    if (GLOBAL_VALUE_OPTIONS.has(word)) i++;
    else if (!word.startsWith("-")) return COMMANDS.find((c) => c.name === word || c.aliases?.includes(word));
  }
  return undefined;
}

/**
 * Builds the `runta` program for one invocation: with `argv`, only the command it runs when that is one command;
 * without, or for help, completion or an unknown word, every command.
 */
export async function buildProgram(ctx: CliContext, argv?: readonly string[]): Promise<Command> {
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

  const only = argv && commandOf(argv);
  const wanted = only && !only.needsAll ? [only] : COMMANDS;
  const defines = await Promise.all(wanted.map((c) => c.load()));
  wanted.forEach((c, i) => program.addCommand(defines[i]!(ctx, () => program), c.hidden ? { hidden: true } : {}));

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
