/**
 * Waking suspended runtimes (issue 13), through the SDK: a batch of busybox runtimes with the shortest idle timeout
 * is left to suspend (frozen by runc, status `suspended`), then each gets `exec true` — which wakes it first — and
 * right after, awake, another `exec true`. The difference is what a wake costs a caller who never called resume.
 */
import { pool, sleep } from "./proc.js";
import { BENCH_IMAGE } from "./runta.js";

/** The shortest idle timeout the daemon accepts (LIMITS.idleTimeoutSecsMin). */
const IDLE_SECS = 5;

/** Waits until every runtime is suspended (the idle keeper looks once a second). @param {any} client @param {string[]} names */
async function allSuspended(client, names) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const list = await client.runtimes.list({ status: ["suspended"] });
    const suspended = new Set(list.map((/** @type {any} */ h) => h.name));
    if (names.every((n) => suspended.has(n))) return;
    if (Date.now() > deadline) throw new Error(`not all runtimes suspended within 60 s: ${names.filter((n) => !suspended.has(n)).join(", ")}`);
    await sleep(250);
  }
}

/**
 * @param {any} client SDK client @param {import("./stats.js").Recorder} rec @param {(m:string)=>void} log
 * @param {number} count runtimes per round @param {number} rounds
 */
export async function idlePhase(client, rec, log, count, rounds) {
  const sys = "runta-api";
  /** @type {any[]} */
  const made = [];
  try {
    const names = Array.from({ length: count }, (_, i) => `idle-${i}`);
    for (const name of names) made.push(await client.runtimes.create(name, { image: BENCH_IMAGE, memoryMiB: 64, network: "none", idleTimeoutSecs: IDLE_SECS }));
    for (let round = 0; round < rounds; round++) {
      log(`wake by exec: round ${round + 1}/${rounds} (waiting for ${count} runtimes to suspend)`);
      await allSuspended(client, names);
      for (const name of names) {
        await rec.measure("exec_true_suspended", sys, async () => {
          const r = await client.runtimes.exec(name, ["true"]);
          if (r.exit_code !== 0) throw new Error(`exec true exited ${r.exit_code}`);
        });
        await rec.measure("exec_true_awake", sys, () => client.runtimes.exec(name, ["true"]));
      }
    }
  } finally {
    await pool(made, 4, (/** @type {any} */ rt) => rt.delete());
  }
}
