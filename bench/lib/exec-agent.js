/**
 * The exec agent's phase (issue 20): API `exec true` (through the runtime's agent, the daemon's default) against raw
 * `runc exec true` (the floor), interleaved sample by sample on one runtime of each, enough samples for a p99 that
 * is not just the worst one (BENCH_EXEC_N, default 200 each). Recorded as `exec_true_hot` for "runta-api" and
 * "floor": the lifecycle's `exec_true` has 3 samples per round, too few for a tail.
 */

/**
 * `rounds`: samples of each (BENCH_EXEC_N in run.js and bench/exec-agent.js, default 200).
 * @param {{ rec: import("./stats.js").Recorder, api: any, floor: any, rounds: number, log: (msg: string) => void }} opts
 */
export async function execAgentPhase({ rec, api, floor, rounds, log }) {
  const a = await api.create("b-exec-hot");
  const f = await floor.create("b-exec-hot");
  try {
    // Warm both paths (page cache, first connections) outside the samples.
    for (let i = 0; i < 5; i++) {
      await api.exec(a, ["true"]);
      await floor.exec(f, ["true"]);
    }
    for (let i = 0; i < rounds; i++) {
      if (i % 50 === 0) log(`exec true, agent vs runc exec: ${i}/${rounds}`);
      await rec.measure("exec_true_hot", api.name, () => api.exec(a, ["true"]));
      await rec.measure("exec_true_hot", floor.name, () => floor.exec(f, ["true"]));
    }
  } finally {
    await api.rm(a).catch(() => undefined);
    await floor.rm(f).catch(() => undefined);
  }
}
