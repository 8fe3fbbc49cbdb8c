#!/usr/bin/env node
/**
 * `npm run bench:idle` (after `npm run build`, as root; `npm run bench` runs it last): what waking a suspended runtime
 * costs, on a private daemon: to an exec, and to a request through a published port (time to its first byte). BENCH_IDLE_COUNT runtimes per round (8), BENCH_IDLE_ROUNDS rounds (3). Prints medians
 * and the wake's cost (suspended minus awake).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { buildRootfs } from "./lib/rootfs.js";
import { RuntaDaemon } from "./lib/runta.js";
import { Recorder } from "./lib/stats.js";
import { idlePhase, ingressWakePhase } from "./lib/idle.js";

const count = Number(process.env.BENCH_IDLE_COUNT ?? 8);
const rounds = Number(process.env.BENCH_IDLE_ROUNDS ?? 3);
const work = mkdtempSync("/tmp/runta-bench-idle-");
const daemon = new RuntaDaemon(work);
const rec = new Recorder();
const log = (/** @type {string} */ m) => process.stderr.write(`[bench:idle ${new Date().toISOString().slice(11, 19)}] ${m}\n`);
let leaks = [];
try {
  const { tarball } = await buildRootfs(work);
  await daemon.setup(tarball);
  await idlePhase(daemon.client, rec, log, count, rounds);
  await ingressWakePhase(daemon.client, rec, log, count, rounds);
} finally {
  leaks = await daemon.teardown();
  rmSync(work, { recursive: true, force: true });
}
const m = rec.toJSON();
for (const [metric, bySystem] of Object.entries(m)) {
  const s = bySystem["runta-api"];
  process.stdout.write(`${metric.padEnd(30)} median ${s.median.toFixed(1).padStart(7)} ms  (p10 ${s.p10.toFixed(1)}, p90 ${s.p90.toFixed(1)}, n ${s.n}, errors ${s.errors})\n`);
}
const pair = (/** @type {string} */ a, /** @type {string} */ b) => {
  const x = m[a]?.["runta-api"]?.median;
  const y = m[b]?.["runta-api"]?.median;
  if (x !== undefined && y !== undefined) process.stdout.write(`${a} − ${b} = ${(x - y).toFixed(1)} ms (the wake)\n`);
};
pair("exec_true_suspended", "exec_true_awake");
pair("ingress_first_byte_suspended", "ingress_first_byte_awake");
process.stdout.write(leaks.length ? `LEAKS:\n  ${leaks.join("\n  ")}\n` : "leak check: nothing left behind\n");
process.exit(leaks.length ? 1 : 0);
