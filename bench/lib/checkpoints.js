/**
 * Checkpoint restores against creates, through the SDK: a source runtime gets 1 MiB and then 1 GiB of new files,
 * each state is checkpointed, and restores from each are timed next to plain creates, interleaved round by round.
 * A restore stacks the checkpoint's layer under the new runtime's own (a mount, not a copy), so it should cost what
 * a create costs whatever the checkpoint holds; the checkpoint itself is a copy and grows with it.
 */
import { pool } from "./proc.js";
import { BENCH_IMAGE } from "./runta.js";

/** @param {any} client SDK client @param {import("./stats.js").Recorder} rec @param {(m:string)=>void} log @param {number} rounds */
export async function checkpointPhase(client, rec, log, rounds) {
  const sys = "runta-api";
  const src = await client.runtimes.create("cp-src", { image: BENCH_IMAGE, memoryMiB: 256 });
  /** @type {any[]} */
  const made = [];
  try {
    const sizes = /** @type {const} */ ([["1mib", 1], ["1gib", 1024]]);
    let written = 0;
    for (const [label, mib] of sizes) {
      const r = await src.exec(`dd if=/dev/urandom of=/fill-${label} bs=1M count=${mib - written > 0 ? mib - written : mib} 2>/dev/null && sync`, { timeoutSecs: 600 });
      if (r.exit_code !== 0) throw new Error(`writing ${label} into the source failed: ${r.stderr}`);
      written = mib;
      await rec.measure(`checkpoint_${label}`, sys, () => src.checkpoint(`cp-${label}`));
    }
    for (let round = 0; round < rounds; round++) {
      log(`checkpoint restores: round ${round + 1}/${rounds}`);
      for (const [label] of sizes) {
        const rt = await rec.measure(`restore_${label}`, sys, () => client.checkpoints.restore(`cp-${label}`, `r-${label}-${round}`, { memoryMiB: 64 }));
        if (rt) made.push(rt);
      }
      const plain = await rec.measure("restore_create", sys, () => client.runtimes.create(`c-${round}`, { image: BENCH_IMAGE, memoryMiB: 64 }));
      if (plain) made.push(plain);
    }
  } finally {
    await pool(made, 4, (/** @type {any} */ rt) => rt.delete());
    await src.delete();
    for (const cp of await client.checkpoints.list()) await client.checkpoints.remove(cp.id);
  }
}
