import { Command } from "commander";
import { DEFAULTS } from "../../api/limits.js";
import { RuntaError } from "../../api/errors.js";
import type { CliContext } from "../context.js";
import { MultiTargetError } from "../errors.js";
import { escapeControl, printJson } from "../output.js";
import { plan, summarize, type DescriptionChange, type PlanAction } from "../apply/plan.js";
import { planPools, renderPoolPlan } from "../apply/pools.js";
import { ensureDefaultImage, ensurePackagesImage } from "./run.js";

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
                  "env": {"APP_ENV": "dev"}, "labels": {"team": "infra"}, "description": "queue worker",
                  "volumes": [{"volume": "data", "path": "/work"}], "ports": [{"port": 8080}, {"port": 8443, "protocol": "https"}],
                  "idle_timeout_secs": 300, "packages": ["tree"], "auto_resize": {"memory_max_mib": 2048}}],
   "pools": [{"name": "small", "image": "default", "resources": {"vcpus": 1, "memory_mib": 512}, "min": 2, "max": 4}]}

vCPUs, memory and the description are changed in place; an entry without "resources" or "description" leaves
them as they are. Image, packages, env (names or values), labels and volumes cannot change in place: differences are
reported as conflicts (exit 1) and left as they are (the rest is still applied). An image that does not exist is an
error; volumes are made with runta volume create. --dry-run exits as the real run would (1 for conflicts and missing
images). An idle timeout is set at create; a different one on an existing runtime is noted, not changed (runta update
--idle-timeout); so are other published ports (runta ports add|rm). auto_resize is accepted but runta does not resize
automatically.
"pools" (optional) are warm pools, set as 'runta pool set' does when they differ (delete -f removes them).
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

/** One plan line per sandbox, docker/terraform-like markers: + create, ~ resize, = unchanged, ! conflict or error. */
export function renderPlan(actions: PlanAction[], label: string): string[] {
  const s = summarize(actions);
  const width = Math.max(0, ...actions.map((a) => a.name.length));
  const lines: string[] = [];
  if (s.create === 0 && s.resize === 0 && s.update === 0 && s.conflicts === 0 && s.missing_image === 0) {
    lines.push(`No changes: all ${actions.length} runtime${actions.length === 1 ? "" : "s"} in ${label} match.`);
  } else {
    const parts = [`${s.create} to create`, `${s.resize} to resize`, ...(s.update ? [`${s.update} to update`] : []), `${s.unchanged} unchanged`];
    if (s.conflicts) parts.push(`${s.conflicts} with conflicts`);
    if (s.missing_image) parts.push(`${s.missing_image} with a missing image`);
    lines.push(`Plan for ${label}: ${parts.join(", ")}`);
  }
  for (const a of actions) {
    const name = a.name.padEnd(width);
    if (a.action === "create" && a.missing_image) lines.push(`  ! ${name}  ${missingImage(a.image)}`);
    else if (a.action === "create") lines.push(`  + ${name}  create: ${res(a.resources)}, image ${a.image}${a.packages ? ` + packages ${a.packages.join(" ")}` : ""}`);
    else if (a.action === "resize") {
      const changes: string[] = [];
      if (a.from.vcpus !== a.to.vcpus) changes.push(`vcpus ${a.from.vcpus} → ${a.to.vcpus}`);
      if (a.from.memory_mib !== a.to.memory_mib) changes.push(`memory ${a.from.memory_mib} → ${a.to.memory_mib} MiB`);
      if (a.description) changes.push(describeChange(a.description));
      lines.push(`  ~ ${name}  resize: ${changes.join(", ")}`);
    } else if (a.action === "update") lines.push(`  ~ ${name}  update: ${describeChange(a.description)}`);
    else if (!a.conflicts.length) lines.push(`  = ${name}  unchanged`);
    if (a.action !== "create") {
      for (const c of a.conflicts) {
        const what = c.values
          ? `env values differ (same names ${JSON.stringify(c.desired)})`
          : `${c.field} differs (file ${JSON.stringify(c.desired)}, runtime ${JSON.stringify(c.actual)})`;
        lines.push(`  ! ${name}  ${what} and cannot change in place — runta rm ${a.name}, then apply again`);
      }
    }
    for (const n of a.notes) lines.push(`    note: ${n}`);
  }
  return lines.map(escapeControl);
}

function describeChange(d: DescriptionChange): string {
  const short = (t: string) => JSON.stringify(t.length > 40 ? `${t.slice(0, 40)}…` : t);
  return `description ${short(d.from)} → ${short(d.to)}`;
}

function missingImage(image: string): string {
  return `image "${image}" does not exist — build or import it first (runta image ls lists images)`;
}

/** What the plan already knows will fail: conflicts and creates from a missing image (the same with --dry-run). */
function knownFailures(actions: PlanAction[], label: string): { target: string; error: unknown }[] {
  return actions.flatMap((a) => {
    if (a.action === "create") return a.missing_image ? [{ target: a.name, error: new RuntaError("not_found", `${a.name}: ${missingImage(a.image)}`) }] : [];
    if (!a.conflicts.length) return [];
    const fields = [...new Set(a.conflicts.map((c) => (c.values ? "env values" : c.field)))];
    const message = `${a.name}: ${fields.join(", ")} ${fields.length === 1 && fields[0] !== "env values" ? "differs" : "differ"} from ${label} and cannot change in place — runta rm ${a.name}, then apply again`;
    return [{ target: a.name, error: new RuntaError("failed_precondition", message) }];
  });
}

/** Validates the file, plans against the live runtimes, prints the plan, executes it (unless dry-run), reports. */
export async function runApply(ctx: CliContext, opts: ApplyOptions): Promise<void> {
  // zod (validation) is loaded only by the commands that need it, to keep every other command's start fast.
  const { loadSandboxSet } = await import("../apply/file.js");
  const { set, label } = await loadSandboxSet(ctx, opts.file);
  const runta = await ctx.client();
  const [runtimes, images, pools] = await Promise.all([runta.runtimes.list(), runta.images.list(), set.pools?.length ? runta.pools.list() : []]);
  const actions = plan(
    set.sandboxes,
    runtimes.map((h) => h.info),
    images,
  );
  const poolActions = planPools(set.pools ?? [], pools);
  const out = (line: string) => ctx.io.stdout.write(`${line}\n`);
  if (!opts.json) [...renderPlan(actions, label), ...renderPoolPlan(poolActions)].forEach(out);

  const results: ApplyResult[] = [];
  if (!opts.dryRun) {
    if (actions.some((a) => a.action === "create" && a.image === DEFAULTS.image)) await ensureDefaultImage(ctx, runta);
    for (const a of actions) {
      try {
        if (a.action === "create" && a.missing_image) {
          continue; // reported with the conflicts below, as in the plan
        } else if (a.action === "create") {
          if (a.packages) await ensurePackagesImage(ctx, runta, a.image, a.packages);
          const rt = await runta.runtimes.create(a.name, {
            image: a.image,
            vcpus: a.resources.vcpus,
            memoryMiB: a.resources.memory_mib,
            env: a.env,
            labels: a.labels,
            description: a.description,
            volumes: a.volumes?.map((v) => ({ volume: v.volume, path: v.path, readOnly: v.read_only })),
            idleTimeoutSecs: a.idle_timeout_secs,
            packages: a.packages,
            ports: a.ports,
          });
          results.push({ name: a.name, action: a.action, ok: true, id: rt.id, resources: rt.info.resources.requests });
          if (!opts.json) out(`${a.name}: created (${rt.id})`);
        } else if (a.action === "resize") {
          const req = {
            ...(a.from.vcpus !== a.to.vcpus ? { vcpus: a.to.vcpus } : {}),
            ...(a.from.memory_mib !== a.to.memory_mib ? { memoryMiB: a.to.memory_mib } : {}),
          };
          const rt = await runta.runtimes.resize(a.id, req);
          if (a.description) await runta.runtimes.update(a.id, { description: a.description.to });
          results.push({ name: a.name, action: a.action, ok: true, id: rt.id, resources: rt.resources.requests });
          if (!opts.json) out(`${a.name}: resized (now ${res(rt.resources.requests)})${a.description ? ", description updated" : ""}`);
        } else if (a.action === "update") {
          await runta.runtimes.update(a.id, { description: a.description.to });
          results.push({ name: a.name, action: a.action, ok: true, id: a.id });
          if (!opts.json) out(`${a.name}: description updated`);
        } else {
          results.push({ name: a.name, action: a.action, ok: true, id: a.id });
        }
      } catch (error) {
        const e = error as { code?: string; message?: string };
        results.push({ name: a.name, action: a.action, ok: false, error: { code: String(e.code ?? "internal"), message: String(e.message ?? error) } });
      }
    }
  }

  // Pools after the runtimes: a pool's members boot in the background and would only slow the creates above.
  const poolResults: { name: string; action: "set" | "unchanged"; ok: boolean; error?: { code: string; message: string } }[] = [];
  for (const p of opts.dryRun ? [] : poolActions) {
    try {
      if (p.action === "set") await runta.pools.set(p.name, p.want);
      poolResults.push({ name: p.name, action: p.action, ok: true });
      if (!opts.json && p.action === "set") out(`pool ${p.name}: set`);
    } catch (error) {
      const e = error as { code?: string; message?: string };
      poolResults.push({ name: p.name, action: p.action, ok: false, error: { code: String(e.code ?? "internal"), message: String(e.message ?? error) } });
    }
  }

  const known = knownFailures(actions, label);
  if (opts.json) printJson(ctx, { file: label, dry_run: opts.dryRun === true, plan: actions, results, ...(set.pools ? { pools: poolActions, pool_results: poolResults } : {}) });
  else if (!opts.dryRun) out(summaryLine(actions, results, known.length));

  const failures: { target: string; error: unknown }[] = results
    .filter((r) => !r.ok)
    .map((r) => ({ target: r.name, error: new RuntaError((r.error!.code as never) ?? "internal", `${r.name}: ${r.action} failed: ${r.error!.message}`) }));
  failures.push(...known);
  for (const r of poolResults.filter((x) => !x.ok)) failures.push({ target: `pool ${r.name}`, error: new RuntaError((r.error!.code as never) ?? "internal", `pool ${r.name}: ${r.error!.message}`) });
  if (failures.length) throw new MultiTargetError(failures);
}

/** What happened, each runtime counted once: "Apply complete: 2 created, 1 resized, 3 unchanged." */
function summaryLine(actions: PlanAction[], results: ApplyResult[], known: number): string {
  const conflicted = new Set(actions.filter((a) => a.action !== "create" && a.conflicts.length).map((a) => a.name));
  const count = (action: PlanAction["action"]) => results.filter((r) => r.ok && r.action === action && !(action === "unchanged" && conflicted.has(r.name))).length;
  const failed = results.filter((r) => !r.ok).length;
  const parts = [`${count("create")} created`, `${count("resize")} resized`, ...(count("update") ? [`${count("update")} updated`] : []), `${count("unchanged")} unchanged`];
  if (failed) parts.push(`${failed} failed`);
  const s = summarize(actions);
  if (s.conflicts) parts.push(`${s.conflicts} with conflicts left as they are`);
  if (s.missing_image) parts.push(`${s.missing_image} not created (missing image)`);
  return `Apply ${failed || known ? "finished with failures" : "complete"}: ${parts.join(", ")}.`;
}
