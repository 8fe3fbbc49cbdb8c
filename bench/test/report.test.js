import { describe, expect, test } from "vitest";
import { evaluateTargets, renderMetricsTable, renderTargets, cell } from "../lib/report.js";

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

  test("verdicts read PASS, MISS or n/a with the reason", () => {
    const out = renderTargets([
      { id: "a", text: "A", value: 1, limit: 2, unit: "ms", pass: true },
      { id: "b", text: "B", value: 3, limit: 2, unit: "×", pass: false },
      { id: "c", text: "C", value: null, limit: 2, unit: "ms", pass: null, note: "docker skipped" },
    ]);
    expect(out).toMatch(/A\s+1.00 ms\s+PASS/);
    expect(out).toMatch(/B\s+3.00×\s+MISS/);
    expect(out).toMatch(/C\s+-\s+n\/a \(docker skipped\)/);
  });
});
