import { Command, Argument } from "commander";
import type { CliContext } from "../context.js";
import { completionScript, SHELLS, type Shell } from "../completion.js";

/** `runta completion bash|zsh|fish`. */
export function completionCommand(ctx: CliContext, root: () => Command): Command {
  return new Command("completion")
    .description("Print the shell completion script (commands, flags and runtime names)")
    .addArgument(new Argument("<shell>", "bash, zsh or fish").choices(SHELLS))
    .addHelpText(
      "after",
      `
Examples:
  runta completion bash > /etc/bash_completion.d/runta
  runta completion zsh > "\${fpath[1]}/_runta"
  runta completion fish > ~/.config/fish/completions/runta.fish`,
    )
    .action((shell: Shell) => {
      ctx.io.stdout.write(completionScript(root(), shell));
    });
}

/** Hidden `runta __complete runtimes`: names for the completion scripts; never starts a daemon, never complains. */
export function completeCommand(ctx: CliContext): Command {
  return new Command("__complete")
    .description("print completion candidates (used by the completion scripts)")
    .argument("<what>", "runtimes")
    .action(async (what: string) => {
      if (what !== "runtimes") return;
      try {
        const runta = await ctx.client({ autoStart: false });
        for (const h of await runta.runtimes.list()) ctx.io.stdout.write(`${h.name}\n`);
      } catch {
        // Completion must stay silent: no daemon simply means no names to offer.
      }
    });
}
