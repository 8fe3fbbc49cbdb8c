/**
 * Live checkpoints (processes and memory too) need runc's checkpoint/restore, which drives CRIU. Whether CRIU can
 * work is a fact of the host (its kernel, its CRIU release), so it is asked of `criu check` and the answer is said
 * plainly. runta itself has no live restore yet: even where `criu check` passes, a live checkpoint is refused with
 * that reason rather than faked with a filesystem-only copy.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { RuntaError } from "../../api/index.js";

const execFileAsync = promisify(execFile);

/** What `criu check` said: null when it passed, else the reason in one line. */
export async function criuProblem(criuPath = "criu"): Promise<string | null> {
  try {
    await execFileAsync(criuPath, ["check"], { timeout: 30_000 });
    return null;
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string; stdout?: string };
    if (e.code === "ENOENT") return "CRIU is not installed ('apt-get install criu')";
    const lines = `${e.stderr ?? ""}\n${e.stdout ?? ""}`.split("\n").map((l) => l.trim()).filter(Boolean);
    // CRIU prints the root cause first and the consequences after it.
    const cause = lines.find((l) => /^Error/.test(l)) ?? lines[0] ?? String(e.message);
    return `'criu check' fails on this host: ${cause.replace(/^Error \([^)]*\):\s*/, "")}`;
  }
}

/** The error a `--kind live` checkpoint gets on this host. */
export async function liveCheckpointsUnavailable(): Promise<RuntaError> {
  const problem = await criuProblem();
  const why = problem ?? "'criu check' passes here, but this runta has no live restore yet";
  return new RuntaError("unavailable", `live checkpoints (processes and memory) cannot be taken: ${why}; --kind full (the default) checkpoints the filesystem`, {
    details: { kind: "live" },
    httpStatus: 501,
  });
}
