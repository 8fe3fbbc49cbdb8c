/**
 * Waking suspended runtimes (issue 13), through the SDK: a batch of busybox runtimes with the shortest idle timeout
 * is left to suspend (frozen by runc, status `suspended`), then each gets `exec true` — which wakes it first — and
 * right after, awake, another `exec true`. The difference is what a wake costs a caller who never called resume.
 * Published: the same with busybox httpd behind a published port, timing a GET through the ingress from the request
 * to its first byte (the response's status line), suspended and then awake.
 */
import http from "node:http";
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

/** Milliseconds from sending a GET to the published `url` (at 127.0.0.1, with its Host) to the response's first byte. @param {string} url */
function firstByte(url) {
  const u = new URL(url);
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port: Number(u.port), path: "/", headers: { Host: u.host }, agent: false }, (res) => {
        const ms = performance.now() - t0;
        res.resume();
        res.on("end", () => (res.statusCode === 200 ? resolve(ms) : reject(new Error(`HTTP ${res.statusCode}`))));
      })
      .on("error", reject);
  });
}

/**
 * @param {any} client SDK client @param {import("./stats.js").Recorder} rec @param {(m:string)=>void} log
 * @param {number} count runtimes per round @param {number} rounds
 */
export async function ingressWakePhase(client, rec, log, count, rounds) {
  const sys = "runta-api";
  /** @type {any[]} */
  const made = [];
  try {
    const names = Array.from({ length: count }, (_, i) => `idle-web-${i}`);
    /** @type {Map<string, string>} */
    const urls = new Map();
    for (const name of names) {
      const rt = await client.runtimes.create(name, { image: BENCH_IMAGE, memoryMiB: 64, idleTimeoutSecs: IDLE_SECS, ports: [{ port: 8000 }] });
      made.push(rt);
      // busybox httpd puts itself in the background: the exec ends, so only requests keep the runtime awake.
      const r = await rt.exec(["sh", "-c", "mkdir -p /www && echo hello > /www/index.html && httpd -p 8000 -h /www"]);
      if (r.exit_code !== 0) throw new Error(`starting httpd in ${name} failed: ${r.stderr}`);
      urls.set(name, (await rt.ports())[0].url);
      await firstByte(/** @type {string} */ (urls.get(name)));
    }
    for (let round = 0; round < rounds; round++) {
      log(`wake by a request through the ingress: round ${round + 1}/${rounds} (waiting for ${count} runtimes to suspend)`);
      await allSuspended(client, names);
      for (const name of names) {
        const url = /** @type {string} */ (urls.get(name));
        await rec.measure("ingress_first_byte_suspended", sys, () => firstByte(url));
        await rec.measure("ingress_first_byte_awake", sys, () => firstByte(url));
      }
    }
  } finally {
    await pool(made, 4, (/** @type {any} */ rt) => rt.delete());
  }
}
