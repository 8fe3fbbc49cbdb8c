import { Command } from "commander";
import { DEFAULTS } from "../../api/limits.js";
import { RuntaError } from "../../api/errors.js";
import type { CliContext } from "../context.js";
import { MultiTargetError } from "../errors.js";
import { escapeControl, printJson } from "../output.js";
import { plan, summarize, type PlanAction } from "../apply/plan.js";
import { ensureDefaultImage } from "./run.js";

/** Flags of `runta apply`. */
export interface ApplyOptions {
  file: string;
  dryRun?: boolean;
  json?: boolean;
}

/** Outcome of one planned action. */
export interface ApplyResult {
  name: string;
  action: PlanAction["action"];
  ok: boolean;
  id?: string;
  resources?: { vcpus: number; memory_mib: number };
  error?: { code: string; message: string };
}

/** `runta apply -f`. */
export function applyCommand(ctx: CliContext): Command {
  return new Command("apply")
    .description("Converge runtimes to a SandboxSet file: create missing ones, resize changed ones, leave the rest")
    .requiredOption("-f, --file <path>", "SandboxSet JSON file, or - for stdin")
    .option("--dry-run", "print the plan and change nothing")
    .option("--json", "print the plan and results as JSON")
    .addHelpText(
      "after",
      `
File format:
  {"apiVersion": "runta/v1", "kind": "SandboxSet",
   "sandboxes": [{"name": "worker", "image": "default", "resources": {"vcpus": 1, "memory_mib": 512},
                  "env": {"APP_ENV": "dev"}, "labels": {"team": "infra"}, "auto_resize": {"memory_max_mib": 2048}}]}

vCPUs and memory are changed live. Image, env and labels cannot change in place: differences are reported as
conflicts (exit 1) and left as they are (vCPUs and memory are still applied). auto_resize is accepted but runta does
not resize automatically.
apply never deletes runtimes; use runta delete -f.

Examples:
  runta apply -f deployment.json --dry-run
  runta apply -f deployment.json
  cat deployment.json | runta apply -f -`,
    )
    .action((opts: ApplyOptions) => runApply(ctx, opts));
}

function res(r: { vcpus: number; memory_mib: number }): string {
  return `${r.vcpus} vCPU${r.vcpus === 1 ? "" : "s"}, ${r.memory_mib} MiB`;
}

/** One plan line per sandbox, docker/terraform-like markers: + create, ~ resize, = unchanged, ! conflict. */
export function renderPlan(actions: PlanAction[], label: string): string[] {
  const s = summarize(actions);
  const width = Math.max(0, ...actions.map((a) => a.name.length));
  const lines: string[] = [];
  if (s.create === 0 && s.resize === 0 && s.conflicts === 0) {
    lines.push(`No changes: all ${actions.length} runtime${actions.length === 1 ? "" : "s"} in ${label} match.`);
  } else {
    const parts = [`${s.create} to create`, `${s.resize} to resize`, `${s.unchanged} unchanged`];
    if (s.conflicts) parts.push(`${s.conflicts} with conflicts`);
    lines.push(`Plan for ${label}: ${parts.join(", ")}`);
  }
  for (const a of actions) {
    const name = a.name.padEnd(width);
    if (a.action === "create") lines.push(`  + ${name}  create: ${res(a.resources)}, image ${a.image}`);
    else if (a.action === "resize") {
      const changes: string[] = [];
      if (a.from.vcpus !== a.to.vcpus) changes.push(`vcpus ${a.from.vcpus} → ${a.to.vcpus}`);
      if (a.from.memory_mib !== a.to.memory_mib) changes.push(`memory ${a.from.memory_mib} → ${a.to.memory_mib} MiB`);
      lines.push(`  ~ ${name}  resize: ${changes.join(", ")}`);
    } else lines.push(`  = ${name}  unchanged`);
    if (a.action !== "create") {
      for (const c of a.conflicts) {
        lines.push(`  ! ${name}  ${c.field} differs (file ${JSON.stringify(c.desired)}, runtime ${JSON.stringify(c.actual)}) and cannot change in place — runta rm ${a.name}, then apply again`);
      }
    }
    for (const n of a.notes) lines.push(`    note: ${n}`);
  }
  return lines.map(escapeControl);
}

/** Validates the file, plans against the live runtimes, prints the plan, executes it (unless dry-run), reports. */
export async function runApply(ctx: CliContext, opts: ApplyOptions): Promise<void> {
  // zod (validation) is loaded only by the commands that need it, to keep every other command's start fast.
  const { loadSandboxSet } = await import("../apply/file.js");
  const { set, label } = await loadSandboxSet(ctx, opts.file);
  const runta = await ctx.client();
  const actual = (await runta.runtimes.list()).map((h) => h.info);
  const actions = plan(set.sandboxes, actual);
  const out = (line: string) => ctx.io.stdout.write(`${line}\n`);
  if (!opts.json) renderPlan(actions, label).forEach(out);

  const results: ApplyResult[] = [];
  if (!opts.dryRun) {
    if (actions.some((a) => a.action === "create" && a.image === DEFAULTS.image)) await ensureDefaultImage(ctx, runta);
    for (const a of actions) {
      try {
        if (a.action === "create") {
          const rt = await runta.runtimes.create(a.name, {
            image: a.image,
            vcpus: a.resources.vcpus,
            memoryMiB: a.resources.memory_mib,
            env: a.env,
            labels: a.labels,
          });
          results.push({ name: a.name, action: a.action, ok: true, id: rt.id, resources: rt.info.resources.requests });
          if (!opts.json) out(`${a.name}: created (${rt.id})`);
        } else if (a.action === "resize") {
          const req = {
            ...(a.from.vcpus !== a.to.vcpus ? { vcpus: a.to.vcpus } : {}),
            ...(a.from.memory_mib !== a.to.memory_mib ? { memoryMiB: a.to.memory_mib } : {}),
          };
          const rt = await runta.runtimes.resize(a.id, req);
          results.push({ name: a.name, action: a.action, ok: true, id: rt.id, resources: rt.resources.requests });
          if (!opts.json) out(`${a.name}: resized (now ${res(rt.resources.requests)})`);
        } else {
          results.push({ name: a.name, action: a.action, ok: true, id: a.id });
        }
      } catch (error) {
        const e = error as { code?: string; message?: string };
        results.push({ name: a.name, action: a.action, ok: false, error: { code: String(e.code ?? "internal"), message: String(e.message ?? error) } });
      }
    }
  }

  const conflicted = actions.filter(
    (a): a is Exclude<PlanAction, { action: "create" }> => a.action !== "create" && a.conflicts.length > 0,
  );
  if (opts.json) printJson(ctx, { file: label, dry_run: opts.dryRun === true, plan: actions, results });
  else if (!opts.dryRun) {
    const s = summarize(actions);
    const failed = results.filter((r) => !r.ok).length;
    const conflicts = s.conflicts ? `, ${s.conflicts} with conflicts` : "";
    out(`Apply ${failed || s.conflicts ? "finished with failures" : "complete"}: ${s.create} to create, ${s.resize} to resize, ${s.unchanged} unchanged, ${failed} failed${conflicts}.`);
  }

  const failures = results
    .filter((r) => !r.ok)
    .map((r) => ({ target: r.name, error: new RuntaError((r.error!.code as never) ?? "internal", `${r.name}: ${r.action} failed: ${r.error!.message}`) }));
  if (!opts.dryRun) {
    for (const a of conflicted) {
      failures.push({
        target: a.name,
        error: new RuntaError(
          "failed_precondition",
          `${a.name}: ${a.conflicts.map((c) => c.field).join(", ")} ${a.conflicts.length === 1 ? "differs" : "differ"} from ${label} and cannot change in place — runta rm ${a.name}, then apply again`,
        ),
      });
    }
  }
  if (failures.length) throw new MultiTargetError(failures);
}
