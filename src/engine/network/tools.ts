/**
 * Runs the batches of plan.ts through iproute2 and nftables: one process per batch (`ip -b -`, `nft -f -`), never one
 * per rule (measured here: batched 10–18 ms per runtime, one process per step 20–45 ms).
 */
import { spawn } from "node:child_process";
import { RuntaError, errors } from "../../api/index.js";

/** Feeds `input` to `cmd args` on stdin; rejects with the tool's stderr when it exits non-zero. */
function runWithInput(cmd: string, args: string[], input: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    child.once("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") {
        const pkg = cmd === "nft" ? "nftables" : "iproute2";
        reject(errors.unavailable(`${cmd} was not found, so runtimes cannot have a network; install it with 'apt-get install ${pkg}' (or create runtimes with --network none)`, err));
      } else reject(err);
    });
    child.once("close", (code) => {
      if (code === 0) resolve();
      else reject(new RuntaError("internal", `${cmd} ${args.join(" ")} failed: ${stderr.trim().slice(0, 2000)}`, { details: { input: input.slice(0, 2000) } }));
    });
    child.stdin.on("error", () => {
      // EPIPE when the tool exits early: its exit code and stderr say why.
    });
    child.stdin.end(input);
  });
}

/** `ip -b -` (host namespace), or inside the named namespace with `netns`. `force` goes on past failing lines. */
export function ipBatch(batch: string, opts: { netns?: string; force?: boolean } = {}): Promise<void> {
  const args = [...(opts.netns ? ["-n", opts.netns] : []), ...(opts.force ? ["-force"] : []), "-b", "-"];
  return runWithInput("ip", args, batch);
}

/** `nft -f -`: the whole script is one transaction (all or nothing). */
export function nftScript(script: string): Promise<void> {
  return runWithInput("nft", ["-f", "-"], script);
}
