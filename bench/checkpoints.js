#!/usr/bin/env node
/**
 * `node bench/checkpoints.js` (after `npm run build`, as root): only the checkpoint phase of `npm run bench`, on a
 * private daemon. BENCH_CP_ROUNDS restores of each kind (default 10). Prints medians and the restore/create ratios.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { buildRootfs } from "./lib/rootfs.js";
import { RuntaDaemon } from "./lib/runta.js";
import { Recorder } from "./lib/stats.js";
import { checkpointPhase } from "./lib/checkpoints.js";

const rounds = Number(process.env.BENCH_CP_ROUNDS ?? 10);
const work = mkdtempSync("/tmp/runta-bench-cp-");
const daemon = new RuntaDaemon(work);
const rec = new Recorder();
const log = (/** @type {string} */ m) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${m}\n`);
try {
  const { tarball } = await buildRootfs(work);
  await daemon.setup(tarball);
  await checkpointPhase(daemon.client, rec, log, rounds);
} finally {
  const leaks = await daemon.teardown();
  rmSync(work, { recursive: true, force: true });
  if (leaks.length) log(`leaks: ${leaks.join("; ")}`);
}
const m = rec.toJSON();
for (const [metric, bySystem] of Object.entries(m)) {
  const s = bySystem["runta-api"];
  process.stdout.write(`${metric.padEnd(18)} median ${s.median.toFixed(0).padStart(6)} ms  (p10 ${s.p10.toFixed(0)}, p90 ${s.p90.toFixed(0)}, n ${s.n}, errors ${s.errors})\n`);
}
const create = m.restore_create?.["runta-api"]?.median;
for (const k of ["restore_1mib", "restore_1gib"]) {
  const r = m[k]?.["runta-api"]?.median;
  if (r && create) process.stdout.write(`${k} / create = ${(r / create).toFixed(2)}×\n`);
}
