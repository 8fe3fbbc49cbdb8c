import type { CliContext } from "./context.js";
import type { Progress } from "./output.js";
import { EXIT, StatusError } from "./errors.js";

/**
 * Ctrl-C while the daemon works on a request it will finish anyway: say what is left behind, then end as the shell
 * expects from an interrupted command (killed by SIGINT for real; StatusError 130 where signals are a test's emitter).
 * `progress`, the spinner shown while waiting, is stopped first.
 */
export async function untilInterrupted<T>(ctx: CliContext, work: Promise<T>, onInterrupt: () => void, progress?: Progress): Promise<T> {
  const signals = ctx.deps.signals ?? process;
  let onInt = () => undefined as void;
  const interrupted = new Promise<never>((_, reject) => {
    onInt = () => {
      signals.removeListener("SIGINT", onInt);
      progress?.stop();
      // The terminal echoed ^C with no newline after it. A spinner's stop clears that line; otherwise start a new one.
      if (ctx.io.stderr.isTTY && !(progress && ctx.decorate)) ctx.io.stderr.write("\n");
      onInterrupt();
      // Without our listener SIGINT's default (or ora's cursor restore, which re-raises it) ends the process.
      if (signals === process) process.kill(process.pid, "SIGINT");
      reject(new StatusError(EXIT.interrupted));
    };
  });
  signals.on("SIGINT", onInt);
  try {
    return await Promise.race([work, interrupted]);
  } finally {
    signals.removeListener("SIGINT", onInt);
  }
}
