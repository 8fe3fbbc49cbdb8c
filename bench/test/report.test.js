import { describe, expect, test } from "vitest";
import { evaluateTargets, renderMetricsTable, renderTargets, renderTargetsMarkdown, cell } from "../lib/report.js";

/** A summary with only the fields the verdicts read. */
const s = (median, extra = {}) => ({ n: 10, errors: 0, median, p10: median * 0.9, p90: median * 1.1, p99: median * 1.2, min: 0, max: 0, ...extra });

const byId = (targets, id) => targets.find((t) => t.id === id);

describe("evaluateTargets", () => {
  test("create is compared with runc run -d alone, not with the floor's whole create", () => {
    const m = { create: { "runta-api": s(45), floor: s(60) }, run_d: { floor: s(30) } };
    const t = byId(evaluateTargets(m), "api.create");
    expect(t.value).toBeCloseTo(1.5);
    expect(t.pass).toBe(true);
    m.create["runta-api"] = s(46);
    expect(byId(evaluateTargets(m), "api.create").pass).toBe(false);
  });

  test("a missing peer makes its targets n/a with the reason, never PASS", () => {
    const m = { exec_true: { "runta-cli": s(60) } };
    const t = byId(evaluateTargets(m, { skipped: { docker: "dockerd not installed" } }), "cli.exec");
    expect(t.pass).toBeNull();
    expect(t.note).toContain("dockerd not installed");
  });

  test("runta run: the target reads the warm pool's row; the create without a pool is shown for reference only", () => {
    const m = { create_pool: { "runta-cli": s(60) }, create: { "runta-cli": s(170), docker: s(200) } };
    const t = evaluateTargets(m);
    expect(byId(t, "cli.run_pool")).toMatchObject({ pass: true, a: { p50: 60 }, b: { p50: 200 } });
    expect(byId(t, "cli.run")).toMatchObject({ pass: null, reference: true });
    expect(byId(t, "cli.run").value).toBeCloseTo(0.85);
    expect(renderTargets(t)).toMatch(/without a pool.*reference/);
    expect(byId(evaluateTargets({ create_pool: { "runta-cli": s(110) }, create: { docker: s(200) } }), "cli.run_pool").pass).toBe(false);
  });

  test("concurrent execs miss on any error or a long tail", () => {
    const m = { conc_exec: { "runta-api": s(10, { errors: 1, p99: 20 }), "runta-cli": s(10, { p99: 60 }) } };
    const t = evaluateTargets(m);
    expect(byId(t, "api.conc_errors").pass).toBe(false);
    expect(byId(t, "api.conc_tail").pass).toBe(true);
    expect(byId(t, "cli.conc_errors").pass).toBe(true);
    expect(byId(t, "cli.conc_tail").pass).toBe(false);
  });

  test("the version target uses the node start-up measured under the same NODE_EXTRA_CA_CERTS setting", () => {
    const m = {
      runta_version_without_ca: { node: s(40) },
      node_e0_without_ca: { node: s(35) },
      runta_version_with_ca: { node: s(95) },
      node_e0_with_ca: { node: s(90) },
    };
    expect(byId(evaluateTargets(m, { cliCaCerts: false }), "cli.version").value).toBeCloseTo(40 / 35);
    expect(byId(evaluateTargets(m, { cliCaCerts: true }), "cli.version").value).toBeCloseTo(95 / 90);
  });

  test("issue 20: a pooled create against runc run -d, the list's flatness, exec on p50 and p99 alike", () => {
    const m = { create_pool: { "runta-api": s(14) }, run_d: { floor: s(30) }, list_1: { "runta-api": s(2) }, list_200: { "runta-api": s(3.9) } };
    expect(byId(evaluateTargets(m), "api.create_pool")).toMatchObject({ pass: true, a: { p50: 14 }, b: { p50: 30 } });
    expect(byId(evaluateTargets(m), "api.listflat").pass).toBe(true);
    // exec: the p50s pass (0.5×) but the p99s do not: a MISS.
    const e = { exec_true: { "runta-api": s(10, { p99: 30 }), floor: s(20, { p99: 40 }) } };
    const exec = byId(evaluateTargets(e), "api.exec");
    expect(exec.value).toBeCloseTo(0.5);
    expect(exec.p99Ratio).toBeCloseTo(0.75);
    expect(exec.pass).toBe(false);
    // The agent's hot exec phase, when measured, is what the target reads.
    const hot = { ...e, exec_true_hot: { "runta-api": s(5, { p99: 8 }), floor: s(20, { p99: 40 }) } };
    expect(byId(evaluateTargets(hot), "api.exec").pass).toBe(true);
  });

  test("without docker the CLI targets are n/a and say what they were compared with instead", () => {
    const m = { runta_exec_without_ca: { node: s(90) }, node_http_exec_without_ca: { node: s(80) } };
    const t = byId(evaluateTargets(m, { skipped: { docker: "dockerd not installed" } }), "cli.exec");
    expect(t.pass).toBeNull();
    expect(t.note).toMatch(/docker skipped: dockerd not installed; against node \+ one http.request exec.*: 1.13× \(90.0 vs 80.0 ms\)/);
    expect(byId(evaluateTargets({ runta_version_without_ca: { node: s(36) }, node_e0_without_ca: { node: s(30) } }), "cli.version").pass).toBe(true);
  });

  test("idle RSS is checked in MB against 150", () => {
    expect(byId(evaluateTargets({}, { idleRssBytes: 149e6 }), "daemon.idle_rss").pass).toBe(true);
    expect(byId(evaluateTargets({}, { idleRssBytes: 151e6 }), "daemon.idle_rss").pass).toBe(false);
    expect(byId(evaluateTargets({}, { idleRssBytes: null }), "daemon.idle_rss").pass).toBeNull();
  });
});

describe("rendering", () => {
  test("cells show median and spread, and errors when there were some", () => {
    expect(cell(s(12.345))).toBe("12.3 (11.1–13.6)");
    expect(cell({ ...s(1), n: 0, errors: 3 })).toBe("ERR×3");
    expect(cell(undefined)).toBe("-");
  });

  test("the table has the measured list sizes as rows and ratios against floor and docker", () => {
    const m = { exec_true: { floor: s(20), "runta-api": s(25), "runta-cli": s(60), docker: s(120) }, list_7: { "runta-api": s(2) } };
    const out = renderMetricsTable(m, { podman: "not installed" });
    expect(out).toContain("list/ps, 7 runtimes");
    expect(out).toContain("podman (skipped)");
    const execRow = out.split("\n").find((l) => l.startsWith("exec true"));
    expect(execRow).toContain("1.25×");
    expect(execRow).toContain("0.50×");
  });

  test("the Markdown table carries the hardware, the load, the ratio and both sides' p50 / p99", () => {
    const t = evaluateTargets({ create_pool: { "runta-api": s(14) }, run_d: { floor: s(30) } });
    const md = renderTargetsMarkdown(t, { started_at: "2026-01-01T00:00:00Z", cpus: 2, cpu_model: "Xeon", load_start: [0.5, 1, 2], load_end: [1, 1, 1], node: "v20", runc: "runc 1.1" });
    expect(md).toContain("2 × Xeon, v20, runc 1.1; load average 0.50, 1.00, 2.00 at the start");
    expect(md).toContain("| API create+ready from a warm pool ≤ 0.5× runc run -d | 0.47× | 14.0 / 16.8 vs 30.0 / 36.0 | PASS |");
  });

  test("verdicts read PASS, MISS or n/a with the reason", () => {
    const out = renderTargets([
      { id: "a", text: "A", value: 1, limit: 2, unit: "ms", pass: true },
      { id: "b", text: "B", value: 3, limit: 2, unit: "×", pass: false },
      { id: "c", text: "C", value: null, limit: 2, unit: "ms", pass: null, note: "docker skipped" },
    ]);
    expect(out).toMatch(/A\s+1.00 ms\s+-\s+PASS/);
    expect(out).toMatch(/B\s+3.00×\s+-\s+MISS/);
    expect(out).toMatch(/C\s+-\s+-\s+n\/a \(docker skipped\)/);
  });
});
