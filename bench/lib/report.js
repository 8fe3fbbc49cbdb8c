/**
 * Turns the recorded summaries into the targets of issues 7 and 20 (PASS/MISS with the ratio), the printed tables and
 * the JSON document. Pure functions of the data, so they can be tested without running anything.
 */

/** Columns of the main table, in order. */
export const SYSTEMS = ["floor", "runta-api", "runta-cli", "docker", "podman"];

/** Rows of the main table: metric key and label. */
export const METRICS = [
  ["create", "create+ready (run -d)"],
  ["run_d", "  runc run -d alone"],
  ["exec_true", "exec true"],
  ["exec_1mib", "exec 1 MiB stdout"],
  ["pause", "pause"],
  ["resume", "resume"],
  ["resize", "resize memory"],
  ["shutdown", "shutdown (stop)"],
  ["boot", "boot (start)"],
  ["rm", "rm"],
  ["tty_echo", "TTY keystroke echo"],
  ["conc_exec", "50 concurrent execs (each)"],
  ["restore_create", "create (checkpoint phase)"],
  ["restore_1mib", "restore a 1 MiB checkpoint"],
  ["restore_1gib", "restore a 1 GiB checkpoint"],
  ["checkpoint_1mib", "checkpoint 1 MiB of changes"],
  ["checkpoint_1gib", "checkpoint 1 GiB of changes"],
];

/**
 * @typedef {{n:number, errors:number, median:number, p10:number, p90:number, p99:number, min:number, max:number, lastError?:string}} Summary
 * @typedef {Record<string, Record<string, Summary>>} Metrics
 * @typedef {{p50:number, p99:number}} Tail
 * @typedef {{id:string, text:string, value:number|null, limit:number, unit:string, pass:boolean|null, note?:string, a?:Tail, b?:Tail, p99Ratio?:number|null, reference?:boolean}} Target
 */

/** @param {Metrics} m @param {string} metric @param {string} system */
function med(m, metric, system) {
  const s = m[metric]?.[system];
  return s && s.n > 0 ? s.median : null;
}

/** p50 and p99 of a measured pair, or undefined. @param {Metrics} m @param {string} metric @param {string} system @returns {Tail|undefined} */
function tail(m, metric, system) {
  const s = m[metric]?.[system];
  return s && s.n > 0 ? { p50: s.median, p99: s.p99 } : undefined;
}

/**
 * A ratio target `a / b ≤ limit` on the medians; `pass` is null when either side was not measured. With `p99`, the
 * ratio of the p99s must hold too. The p50 and p99 of both sides ride along for the report.
 * @param {string} id @param {string} text @param {Metrics} m @param {[string, string]} a metric and system
 * @param {[string, string]} b @param {number} limit @param {{missing?: string, p99?: boolean}} [opts]
 * @returns {Target}
 */
function ratioOf(id, text, m, a, b, limit, opts = {}) {
  const t = ratioTarget(id, text, med(m, ...a), med(m, ...b), limit, opts.missing);
  t.a = tail(m, ...a);
  t.b = tail(m, ...b);
  if (opts.p99 && t.a && t.b && t.b.p99 > 0) {
    t.p99Ratio = t.a.p99 / t.b.p99;
    if (t.pass !== null) t.pass = t.pass && t.p99Ratio <= limit;
  }
  return t;
}

/**
 * A ratio target `a / b ≤ limit`; `pass` is null when either side was not measured.
 * @param {string} id @param {string} text @param {number|null} a @param {number|null} b @param {number} limit @param {string} [missing]
 * @returns {Target}
 */
function ratioTarget(id, text, a, b, limit, missing) {
  if (a === null || b === null || b === 0) return { id, text, value: null, limit, unit: "×", pass: null, note: missing ?? "not measured" };
  const value = a / b;
  return { id, text, value, limit, unit: "×", pass: value <= limit };
}

/**
 * An absolute target `value ≤ limit`.
 * @param {string} id @param {string} text @param {number|null|undefined} value @param {number} limit @param {string} unit
 * @returns {Target}
 */
function absTarget(id, text, value, limit, unit) {
  if (value === null || value === undefined || Number.isNaN(value)) return { id, text, value: null, limit, unit, pass: null, note: "not measured" };
  return { id, text, value, limit, unit, pass: value <= limit };
}

/**
 * A CLI target against Docker. Without Docker it cannot pass or miss; the note then gives the ratio against the floor
 * measured instead (`alt`: our side, the floor's side, and what that floor is).
 * @param {string} id @param {string} text @param {Metrics} m @param {string|[string, string]} metric ours and Docker's,
 *   when they differ @param {number} limit
 * @param {string|undefined} dockerMissing @param {{a:[string,string], b:[string,string], what:string}} alt
 */
function dockerTarget(id, text, m, metric, limit, dockerMissing, alt) {
  const [ours, theirs] = typeof metric === "string" ? [metric, metric] : metric;
  const t = ratioOf(id, text, m, [ours, "runta-cli"], [theirs, "docker"], limit, { missing: dockerMissing });
  if (t.pass === null) {
    const a = med(m, ...alt.a);
    const b = med(m, ...alt.b);
    if (a !== null && b) t.note = `${t.note}; against ${alt.what} instead: ${fmt(a / b)}× (${fmt(a)} vs ${fmt(b)} ms)`;
  }
  return t;
}

/** A row measured like a target but shown for reference: it neither passes nor misses. @param {Target} t @returns {Target} */
function reference(t) {
  return { ...t, pass: null, reference: true };
}

/**
 * The targets of issue 20 (and those of issue 7 it did not replace), evaluated.
 * @param {Metrics} m
 * @param {{idleRssBytes?: number|null, idleCount?: number, skipped?: Record<string,string>, cliCaCerts?: boolean}} extra
 * @returns {Target[]}
 */
export function evaluateTargets(m, extra = {}) {
  const skipped = extra.skipped ?? {};
  const dockerMissing = skipped.docker ? `docker skipped: ${skipped.docker}` : undefined;
  const nodeKey = extra.cliCaCerts ? "with_ca" : "without_ca";
  // The exec agent's phase measures exec true many times on one runtime each (exec_true_hot); else the lifecycle's.
  const execMetric = m.exec_true_hot?.["runta-api"]?.n && m.exec_true_hot?.floor?.n ? "exec_true_hot" : "exec_true";
  /** @type {Target[]} */
  const t = [
    ratioOf("api.create", "API create+ready ≤ 1.5× runc run -d", m, ["create", "runta-api"], ["run_d", "floor"], 1.5),
    ratioOf("api.create_pool", "API create+ready from a warm pool ≤ 0.5× runc run -d", m, ["create_pool", "runta-api"], ["run_d", "floor"], 0.5),
    ratioOf("api.exec", "API exec true ≤ 0.5× runc exec, p50 and p99", m, [execMetric, "runta-api"], [execMetric, "floor"], 0.5, { p99: true }),
    ratioOf("api.pause", "API pause ≤ 2× runc pause", m, ["pause", "runta-api"], ["pause", "floor"], 2),
    ratioOf("api.resume", "API resume ≤ 2× runc resume", m, ["resume", "runta-api"], ["resume", "floor"], 2),
    absTarget("api.list200", "API list of 200 ≤ 10 ms", med(m, "list_200", "runta-api"), 10, "ms"),
    ratioOf("api.listflat", "API list flat in N: list(200) ≤ 2× list(1)", m, ["list_200", "runta-api"], ["list_1", "runta-api"], 2),
    dockerTarget("cli.exec", "CLI runta exec ≤ 1.0× docker exec", m, "exec_true", 1.0, dockerMissing, {
      a: [`runta_exec_${nodeKey}`, "node"],
      b: [`node_http_exec_${nodeKey}`, "node"],
      what: "node + one http.request exec, the least a Node CLI can do (same moments)",
    }),
    // `runta run` is measured twice: taking a member of a warm pool of its shape (the target: a create that needs to
    // be fast uses a pool, README "Warm pools") and creating from nothing (for reference, the daemon's create path).
    dockerTarget("cli.run_pool", "CLI runta run from a warm pool ≤ 0.5× docker run -d", m, ["create_pool", "create"], 0.5, dockerMissing, {
      a: ["create_pool", "runta-cli"],
      b: ["run_d", "floor"],
      what: "raw runc run -d",
    }),
    reference(
      dockerTarget("cli.run", "CLI runta run without a pool vs docker run -d (reference, not a target)", m, "create", 0.5, dockerMissing, {
        a: ["create", "runta-cli"],
        b: ["run_d", "floor"],
        what: "raw runc run -d",
      }),
    ),
    dockerTarget("cli.ps200", "CLI runta ps (200) ≤ 1.5× docker ps (200)", m, "list_200", 1.5, dockerMissing, {
      a: ["list_200", "runta-cli"],
      b: [`node_e0_${nodeKey}`, "node"],
      what: "node -e 0",
    }),
    ratioOf(
      "cli.version",
      `CLI runta --version ≤ 1.2× node -e 0 (${extra.cliCaCerts ? "with" : "without"} NODE_EXTRA_CA_CERTS)`,
      m,
      [`runta_version_${nodeKey}`, "node"],
      [`node_e0_${nodeKey}`, "node"],
      1.2,
    ),
    absTarget("api.tty", "TTY echo ≤ 2 ms p50 (SDK stream)", med(m, "tty_echo", "runta-api"), 2, "ms"),
    absTarget("cli.tty", "TTY echo ≤ 2 ms p50 (runta exec -it)", med(m, "tty_echo", "runta-cli"), 2, "ms"),
  ];
  for (const sys of ["runta-api", "runta-cli"]) {
    const s = m.conc_exec?.[sys];
    const level = sys === "runta-api" ? "API" : "CLI";
    t.push(absTarget(`${level.toLowerCase()}.conc_errors`, `${level} 50 concurrent execs: 0 errors`, s ? s.errors : null, 0, "errors"));
    t.push(ratioTarget(`${level.toLowerCase()}.conc_tail`, `${level} 50 concurrent execs: p99 ≤ 5× p50`, s && s.n ? s.p99 : null, s && s.n ? s.median : null, 5));
  }
  t.push(
    absTarget(
      "daemon.idle_rss",
      `daemon RSS with ${extra.idleCount ?? 500} idle runtimes < 150 MB`,
      extra.idleRssBytes == null ? null : extra.idleRssBytes / 1e6,
      150,
      "MB",
    ),
  );
  return t;
}

/** @param {number|null|undefined} v */
function fmt(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return "-";
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

/** @param {string[][]} rows */
function renderRows(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ")).join("\n");
}

/** One cell: `median (p10–p90)`, with the error count when some attempts failed. @param {Summary|undefined} s */
export function cell(s) {
  if (!s) return "-";
  if (s.n === 0) return s.errors ? `ERR×${s.errors}` : "-";
  return `${fmt(s.median)} (${fmt(s.p10)}–${fmt(s.p90)})${s.errors ? ` ERR×${s.errors}` : ""}`;
}

/**
 * The main table: one row per metric, one column per system, then the ratios.
 * @param {Metrics} m @param {Record<string,string>} skipped systems not measured and why
 */
export function renderMetricsTable(m, skipped = {}) {
  const header = ["ms: median (p10–p90)", ...SYSTEMS.map((s) => (skipped[s] ? `${s} (skipped)` : s)), "api/floor", "cli/docker", "cli/podman"];
  const rows = [header];
  // List sizes are configurable (BENCH_LIST_SIZES): one row per size that was measured, smallest first.
  const listRows = Object.keys(m)
    .filter((k) => /^list_\d+$/.test(k))
    .sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)))
    .map((k) => [k, `list/ps, ${k.slice(5)} runtime${k === "list_1" ? "" : "s"}`]);
  const at = METRICS.findIndex(([k]) => k === "tty_echo");
  for (const [key, label] of [...METRICS.slice(0, at), ...listRows, ...METRICS.slice(at)]) {
    const floorKey = key === "create" ? "run_d" : key;
    const ratio = (/** @type {number|null} */ a, /** @type {number|null} */ b) => (a !== null && b ? `${fmt(a / b)}×` : "-");
    rows.push([
      label,
      ...SYSTEMS.map((s) => cell(m[key]?.[s])),
      key === "run_d" ? "" : ratio(med(m, key, "runta-api"), med(m, floorKey, "floor")),
      key === "run_d" ? "" : ratio(med(m, key, "runta-cli"), med(m, key, "docker")),
      key === "run_d" ? "" : ratio(med(m, key, "runta-cli"), med(m, key, "podman")),
    ]);
  }
  return renderRows(rows);
}

/** Node start-up rows (`node -e 0`, `runta --version`, with and without NODE_EXTRA_CA_CERTS). @param {Metrics} m */
export function renderStartupTable(m) {
  const rows = [["node start-up, ms", "without NODE_EXTRA_CA_CERTS", "with NODE_EXTRA_CA_CERTS"]];
  for (const [key, label] of [
    ["node_e0", "node -e 0"],
    ["runta_version", "runta --version"],
    ["node_http_exec", "node + one http.request exec (no CLI code)"],
    ["runta_exec", "runta exec rt -- true (same moments)"],
  ]) {
    rows.push([label, cell(m[`${key}_without_ca`]?.node), cell(m[`${key}_with_ca`]?.node)]);
  }
  return renderRows(rows);
}

/** The measured cells of a target: the ratio (or value), and the p50 / p99 of both sides. @param {Target} t */
function targetCells(t) {
  const value = t.value === null ? "-" : t.unit === "errors" ? String(t.value) : fmt(t.value);
  const measured = t.value === null ? "-" : `${value}${t.unit === "×" ? "×" : ` ${t.unit}`}`;
  const side = (/** @type {Tail|undefined} */ x) => (x ? `${fmt(x.p50)} / ${fmt(x.p99)}` : "-");
  const p99 = t.p99Ratio === undefined || t.p99Ratio === null ? "" : ` (p99 ${fmt(t.p99Ratio)}×)`;
  const verdict = t.reference ? (t.value === null ? `reference (${t.note})` : "reference") : t.pass === null ? `n/a (${t.note})` : t.pass ? "PASS" : "MISS";
  return { measured: measured + p99, sides: t.a || t.b ? `${side(t.a)} vs ${side(t.b)}` : "-", verdict };
}

/** @param {Target[]} targets */
export function renderTargets(targets) {
  const rows = [["target", "measured", "p50 / p99 ms (ours vs floor)", "verdict"]];
  for (const t of targets) {
    const c = targetCells(t);
    rows.push([t.text, c.measured, c.sides, c.verdict]);
  }
  return renderRows(rows);
}

/**
 * The targets as a Markdown table (README's performance section), with the run's hardware and load above it.
 * @param {Target[]} targets @param {{started_at?:string, cpus?:number, cpu_model?:string, load_start?:number[], load_end?:number[], node?:string, runc?:string}} meta
 */
export function renderTargetsMarkdown(targets, meta) {
  const load = (/** @type {number[]|undefined} */ l) => (l ? l.map((x) => x.toFixed(2)).join(", ") : "?");
  const lines = [
    `${meta.started_at ?? "?"}: ${meta.cpus ?? "?"} × ${meta.cpu_model ?? "?"}, ${meta.node ?? ""}, ${meta.runc ?? ""}; load average ${load(meta.load_start)} at the start, ${load(meta.load_end)} at the end.`,
    "",
    "| target | measured | p50 / p99 ms (ours vs floor) | |",
    "|---|---|---|---|",
  ];
  for (const t of targets) {
    const c = targetCells(t);
    lines.push(`| ${t.text} | ${c.measured} | ${c.sides} | ${c.verdict} |`);
  }
  return lines.join("\n");
}
