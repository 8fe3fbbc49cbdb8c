import { Command } from "commander";
import { RuntaError } from "../../api/errors.js";
import type { CliContext } from "../context.js";
import { MultiTargetError } from "../errors.js";
import { printJson } from "../output.js";

/** Flags of `runta delete`. */
export interface DeleteOptions {
  file: string;
  dryRun?: boolean;
  strict?: boolean;
  json?: boolean;
}

/** `runta delete -f`. */
export function deleteCommand(ctx: CliContext): Command {
  return new Command("delete")
    .description("Remove the runtimes a SandboxSet file names (missing ones are reported, not an error unless --strict)")
    .requiredOption("-f, --file <path>", "SandboxSet JSON file, or - for stdin")
    .option("--dry-run", "print what would be removed and change nothing")
    .option("--strict", "fail (exit 1) when a named runtime does not exist")
    .option("--json", "print the results as JSON")
    .addHelpText("after", "\nExamples:\n  runta delete -f deployment.json --dry-run\n  runta delete -f deployment.json\n  runta delete -f deployment.json --strict")
    .action((opts: DeleteOptions) => runDelete(ctx, opts));
}

/** Deletes each named runtime that exists; the rest still runs when one fails. */
export async function runDelete(ctx: CliContext, opts: DeleteOptions): Promise<void> {
  const { loadSandboxSet } = await import("../apply/file.js");
  const { set, label } = await loadSandboxSet(ctx, opts.file);
  const runta = await ctx.client();
  const existing = new Map((await runta.runtimes.list()).map((h) => [h.name, h.info]));
  const out = (line: string) => ctx.io.stdout.write(`${line}\n`);
  const results: { name: string; action: "delete" | "missing"; ok: boolean; id?: string; error?: { code: string; message: string } }[] = [];
  const failures: { target: string; error: unknown }[] = [];
  for (const { name } of set.sandboxes) {
    const rt = existing.get(name);
    if (!rt) {
      results.push({ name, action: "missing", ok: !opts.strict });
      if (!opts.json) out(`${name}: not found, nothing to delete`);
      if (opts.strict) failures.push({ target: name, error: new RuntaError("not_found", `runtime "${name}" named in ${label} does not exist (--strict)`) });
      continue;
    }
    if (opts.dryRun) {
      results.push({ name, action: "delete", ok: true, id: rt.id });
      if (!opts.json) out(`${name}: would be deleted (${rt.status})`);
      continue;
    }
    try {
      await runta.runtimes.delete(rt.id);
      results.push({ name, action: "delete", ok: true, id: rt.id });
      if (!opts.json) out(`${name}: deleted`);
    } catch (error) {
      const e = error as { code?: string; message?: string };
      results.push({ name, action: "delete", ok: false, id: rt.id, error: { code: String(e.code ?? "internal"), message: String(e.message ?? error) } });
      failures.push({ target: name, error });
    }
  }
  // The file's warm pools go too (their waiting runtimes with them); a pool that is not there is like a missing runtime.
  const pools = set.pools?.length ? new Set((await runta.pools.list()).map((p) => p.name)) : new Set<string>();
  const poolResults: { name: string; action: "delete" | "missing"; ok: boolean; error?: { code: string; message: string } }[] = [];
  for (const { name } of set.pools ?? []) {
    if (!pools.has(name)) {
      poolResults.push({ name, action: "missing", ok: !opts.strict });
      if (!opts.json) out(`pool ${name}: not found, nothing to delete`);
      if (opts.strict) failures.push({ target: `pool ${name}`, error: new RuntaError("not_found", `pool "${name}" named in ${label} does not exist (--strict)`) });
    } else if (opts.dryRun) {
      poolResults.push({ name, action: "delete", ok: true });
      if (!opts.json) out(`pool ${name}: would be deleted`);
    } else {
      try {
        await runta.pools.remove(name);
        poolResults.push({ name, action: "delete", ok: true });
        if (!opts.json) out(`pool ${name}: deleted`);
      } catch (error) {
        const e = error as { code?: string; message?: string };
        poolResults.push({ name, action: "delete", ok: false, error: { code: String(e.code ?? "internal"), message: String(e.message ?? error) } });
        failures.push({ target: `pool ${name}`, error });
      }
    }
  }
  if (opts.json) printJson(ctx, { file: label, dry_run: opts.dryRun === true, results, ...(set.pools ? { pool_results: poolResults } : {}) });
  if (failures.length) throw new MultiTargetError(failures);
}
