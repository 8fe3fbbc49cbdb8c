#!/usr/bin/env node
/**
 * `node bench/exec-agent.js` (after `npm run build`, as root): only the exec agent's phase of issue 20, on a private
 * daemon and a raw-runc floor: API `exec true` through the runtime's agent against `runc exec true`, interleaved,
 * BENCH_EXEC_N samples each (default 200). Prints p50 and p99 of both and the ratios against the ≤ 0.5× target.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { buildRootfs } from "./lib/rootfs.js";
import { RuncFloor } from "./lib/floor.js";
import { RuntaApiSystem, RuntaDaemon } from "./lib/runta.js";
import { Recorder } from "./lib/stats.js";
import { execAgentPhase } from "./lib/exec-agent.js";

const n = Number(process.env.BENCH_EXEC_N ?? 200);
const work = mkdtempSync("/tmp/runta-bench-agent-");
const rec = new Recorder();
const log = (/** @type {string} */ m) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${m}\n`);
const owners = [];
try {
  const { rootfs, tarball } = await buildRootfs(work);
  const floor = new RuncFloor({ workDir: work, lowerDir: rootfs });
  await floor.setup();
  owners.push(floor);
  const daemon = new RuntaDaemon(work);
  owners.push(daemon);
  await daemon.setup(tarball);
  await execAgentPhase({ rec, api: new RuntaApiSystem(daemon), floor, rounds: n, log });
} finally {
  for (const o of owners.reverse()) {
    const leaks = await o.teardown();
    if (leaks.length) log(`leaks: ${leaks.join("; ")}`);
  }
  rmSync(work, { recursive: true, force: true });
}
const m = rec.toJSON().exec_true_hot;
const api = m["runta-api"];
const floor = m.floor;
for (const [name, s] of [["API exec true (agent)", api], ["runc exec true (floor)", floor]]) {
  process.stdout.write(`${name.padEnd(24)} p50 ${s.median.toFixed(2).padStart(7)} ms  p99 ${s.p99.toFixed(2).padStart(7)} ms  (p10 ${s.p10.toFixed(2)}, p90 ${s.p90.toFixed(2)}, n ${s.n}, errors ${s.errors})\n`);
}
const verdict = (r) => `${r.toFixed(2)}× ${r <= 0.5 ? "PASS" : "MISS"}`;
process.stdout.write(`ratio p50 ${verdict(api.median / floor.median)}, p99 ${verdict(api.p99 / floor.p99)} (target ≤ 0.5×)\n`);
