#!/usr/bin/env node
/**
 * `npm run stress` (not part of `npm test`): the daemon under hostile clients and load (issue 21). One private daemon
 * (own data dir, runc root, cgroup parent, port on 127.0.0.1); every attack goes to 127.0.0.1 only, bounded in count
 * and time. Reports:
 *
 * - health p99 with no attack, then under each attack (target < 100 ms): idle connections at the cap, slow bodies
 *   (large Content-Length, one byte every 5 s), 1e12-byte bodies to refused routes (sent by a child process,
 *   bench/lib/flood.js, so the attack's CPU is not this process's), a burst of exec sessions;
 * - the daemon's peak RSS (VmHWM) while 64 buffered execs each print their maximum (16 MiB of \x01 on stdout and on
 *   stderr, retried on 429 until all 64 are done; target below 1 GiB);
 * - a soak of mixed operations (create, exec, pause, resume, stop, start, delete; STRESS_SOAK_SECS, default 180):
 *   errors other than 409/429, and runtimes left in a transitional state (both targets 0).
 *
 * Knobs (environment): STRESS_PHASES (which phases run, comma-separated from health,memory,soak; default all three),
 * STRESS_ATTACKS (which attacks the health phase makes, from idle,slow,floods,sessions; default all four),
 * STRESS_SOAK_SECS (180; 0 skips), STRESS_IDLE_CONNS (4000), STRESS_SLOW_CONNS (2000),
 * STRESS_FLOODS (16), STRESS_SESSIONS (256), STRESS_EXECS (64; 0 skips), STRESS_OUT (JSON path; the daemon's log is
 * kept beside it as <name>-daemon.log).
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { connect } from "node:net";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { buildRootfs } from "./lib/rootfs.js";
import { RuntaDaemon, BENCH_IMAGE } from "./lib/runta.js";
import { quantile } from "./lib/stats.js";
import { sleep } from "./lib/proc.js";

const here = dirname(fileURLToPath(import.meta.url));
const env = process.env;
const int = (/** @type {string} */ name, /** @type {number} */ dflt) => {
  const v = env[name] === undefined || env[name] === "" ? dflt : Number(env[name]);
  if (!Number.isInteger(v) || v < 0) throw new Error(`${name} must be a whole number ≥ 0, got ${JSON.stringify(env[name])}`);
  return v;
};
/** The names `name` asks for (comma-separated) out of `all`; all of them when it is unset. */
function listOf(/** @type {string} */ name, /** @type {string[]} */ all) {
  const asked = (env[name] ?? "").split(",").map((p) => p.trim()).filter(Boolean);
  const unknown = asked.filter((p) => !all.includes(p));
  if (unknown.length) throw new Error(`${name}: unknown ${unknown.join(", ")}; use a comma-separated list of ${all.join(", ")}`);
  return asked.length ? asked : all;
}
const CFG = {
  soakSecs: int("STRESS_SOAK_SECS", 180),
  idleConns: int("STRESS_IDLE_CONNS", 4000),
  slowConns: int("STRESS_SLOW_CONNS", 2000),
  floods: int("STRESS_FLOODS", 16),
  sessions: int("STRESS_SESSIONS", 256),
  execs: int("STRESS_EXECS", 64),
  out: env.STRESS_OUT ?? join(here, "results", "stress.json"),
  phases: listOf("STRESS_PHASES", ["health", "memory", "soak"]),
  attacks: listOf("STRESS_ATTACKS", ["idle", "slow", "floods", "sessions"]),
};
const MAX_OUTPUT = 16 * 1024 * 1024;
const log = (/** @type {string} */ msg) => process.stderr.write(`[stress ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

/** @type {Record<string, unknown>} */
const report = { started_at: new Date().toISOString(), config: CFG };
const work = mkdtempSync(join(tmpdir(), "runta-stress-"));
// The daemon's log is kept next to the report: a 500 in the soak names a request id whose details are there.
const daemon = new RuntaDaemon(work, { keepLogAt: CFG.out.replace(/\.json$/, "") + "-daemon.log" });
/** @type {import("node:net").Socket[]} */
const held = [];

/** Health latencies (ms) sampled every 20 ms for `ms`; a failed probe counts as the time it took to fail. */
async function healthSamples(ms) {
  const { port } = new URL(daemon.endpoint);
  const samples = [];
  let failures = 0;
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const t0 = performance.now();
    const ok = await new Promise((resolve) => {
      const req = request({ host: "127.0.0.1", port, path: "/v1/health", agent: false, timeout: 10_000 }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode === 200));
      });
      req.on("timeout", () => req.destroy());
      req.on("error", () => resolve(false));
      req.end();
    });
    samples.push(performance.now() - t0);
    if (!ok) failures++;
    await sleep(20);
  }
  samples.sort((a, b) => a - b);
  return { n: samples.length, failures, p50_ms: round(quantile(samples, 0.5)), p99_ms: round(quantile(samples, 0.99)), max_ms: round(samples.at(-1) ?? 0) };
}
const round = (/** @type {number} */ x) => Math.round(x * 10) / 10;

/** Opens `n` raw connections to the daemon (bounded: at most 64 connecting at once); each gets `onOpen`. */
async function openMany(n, onOpen = (/** @type {import("node:net").Socket} */ _s) => {}) {
  const { port } = new URL(daemon.endpoint);
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < n) {
        next++;
        await new Promise((resolve) => {
          const s = connect(Number(port), "127.0.0.1");
          s.on("error", () => resolve(undefined));
          s.once("connect", () => {
            held.push(s);
            onOpen(s);
            resolve(undefined);
          });
        });
      }
    }),
  );
}
const dropHeld = () => {
  for (const s of held.splice(0)) s.destroy();
};

async function attackIdle() {
  await openMany(CFG.idleConns);
  return healthSamples(5000);
}

async function attackSlowBodies() {
  const { host } = new URL(daemon.endpoint);
  const timers = [];
  await openMany(CFG.slowConns, (s) => {
    const path = held.length % 2 ? "/v1/health" : "/v1/runtimes";
    s.write(`POST ${path} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n`);
    const t = setInterval(() => !s.destroyed && s.write("a"), 5000);
    s.once("close", () => clearInterval(t));
    timers.push(t);
  });
  const r = await healthSamples(10_000);
  for (const t of timers) clearInterval(t);
  return { ...r, still_open: held.filter((s) => !s.destroyed).length };
}

/** Body floods from a child process (bench/lib/flood.js): the attack's own CPU does not delay this process's probes. */
async function attackFloods() {
  const port = new URL(daemon.endpoint).port;
  const child = spawn(process.execPath, [join(here, "lib", "flood.js"), port, String(CFG.floods), "8000"], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (d) => (out += d));
  const exited = new Promise((resolve) => child.once("close", resolve));
  // Let the floods get going before sampling.
  await sleep(1000);
  const cpu0 = daemonCpuMs();
  const r = await healthSamples(6000);
  const cpuMs = daemonCpuMs() - cpu0;
  const code = await exited;
  if (code !== 0) throw new Error(`bench/lib/flood.js exited with ${code}`);
  const { bytes_sent, connections } = JSON.parse(out);
  // How busy the daemon itself was while health was sampled: what it spends on the flood, apart from the host's load.
  return { ...r, bytes_sent_mib: Math.round(bytes_sent / 1048576), flood_connections: connections, daemon_cpu_percent: Math.round(cpuMs / 60) };
}

/** CPU time (user + system) the daemon has used, in ms. */
function daemonCpuMs() {
  const fields = readFileSync(`/proc/${daemon.proc?.pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function attackSessions(runtimes) {
  const url = (/** @type {string} */ rt) => `${daemon.endpoint.replace("http", "ws")}/v1/runtimes/${rt}/exec/stream`;
  /** @type {WebSocket[]} */
  const sockets = [];
  const outcomes = { exited: 0, refused: 0, failed: 0 };
  const sessions = Array.from({ length: CFG.sessions }, (_, i) =>
    new Promise((resolve) => {
      const ws = new WebSocket(url(runtimes[i % runtimes.length]), { headers: { Authorization: `Bearer ${daemon.token}` } });
      sockets.push(ws);
      ws.on("open", () => ws.send(JSON.stringify({ type: "start", command: ["sh", "-c", "sleep 1; echo done"] })));
      ws.on("message", (d) => {
        if (JSON.parse(d.toString()).type === "exit") outcomes.exited++;
      });
      ws.on("unexpected-response", () => {
        outcomes.refused++;
        resolve(undefined);
      });
      ws.on("error", () => resolve(undefined));
      ws.on("close", () => resolve(undefined));
    }),
  );
  const r = await healthSamples(6000);
  await Promise.race([Promise.all(sessions), sleep(120_000)]);
  for (const ws of sockets) ws.terminate();
  outcomes.failed = CFG.sessions - outcomes.exited - outcomes.refused;
  return { ...r, sessions: outcomes };
}

/**
 * One buffered exec over a fresh connection (no keep-alive): this client blocks for seconds parsing 200 MB answers,
 * and a pooled socket the daemon closed meanwhile would fail the next request with ECONNRESET (a client-side race).
 * @returns {Promise<{status:number, body:any}>}
 */
function postExec(runtime, payload) {
  const { port } = new URL(daemon.endpoint);
  const body = JSON.stringify(payload);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1", port, method: "POST", path: `/v1/runtimes/${runtime}/exec`, agent: false,
        headers: { Authorization: `Bearer ${daemon.token}`, "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) },
      },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString("utf8")) }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** Peak RSS of the daemon (VmHWM) while `CFG.execs` execs each print their maximum, retried on 429 until done. */
async function memoryWorstCase(runtimes) {
  let retries = 0;
  const other = [];
  const script = `head -c ${MAX_OUTPUT} /dev/zero | tr '\\0' '\\1'; head -c ${MAX_OUTPUT} /dev/zero | tr '\\0' '\\1' >&2`;
  const started = Date.now();
  const rssBefore = Math.round(daemon.rssBytes() / 1048576);
  await Promise.all(
    Array.from({ length: CFG.execs }, async (_, i) => {
      for (;;) {
        try {
          const r = await postExec(runtimes[i % runtimes.length], { command: ["sh", "-c", script], max_output_bytes: MAX_OUTPUT, timeout_secs: 600 });
          if (r.status === 429) {
            retries++;
            await sleep(1000);
            continue;
          }
          if (r.status !== 200) other.push(`${r.status} ${JSON.stringify(r.body.error)}`);
          else if (r.body.data.stdout.length !== MAX_OUTPUT || r.body.data.stderr.length !== MAX_OUTPUT) other.push(`short output ${r.body.data.stdout.length}/${r.body.data.stderr.length}`);
          return;
        } catch (e) {
          other.push(String(e));
          return;
        }
      }
    }),
  );
  const status = readFileSync(`/proc/${daemon.proc?.pid}/status`, "utf8");
  const hwm = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? 0) * 1024;
  return { execs: CFG.execs, retries_on_429: retries, errors: other.slice(0, 5), error_count: other.length, seconds: Math.round((Date.now() - started) / 1000), rss_before_mib: rssBefore, peak_rss_mib: Math.round(hwm / 1048576) };
}

/** Mixed operations on a small pool of runtimes for CFG.soakSecs; 409 and 429 are expected, anything else is an error. */
async function soak() {
  const c = daemon.client;
  const names = Array.from({ length: 6 }, (_, i) => `soak-${i}`);
  const counts = { ops: 0, expected_409_429: 0, errors: 0 };
  /** @type {string[]} */
  const samples = [];
  const ops = [
    (/** @type {string} */ n) => c.runtimes.create(n, { image: BENCH_IMAGE, memoryMiB: 64 }),
    (/** @type {string} */ n) => c.runtimes.exec(n, ["sh", "-c", "echo hi; head -c 4096 /dev/urandom | wc -c"]),
    (/** @type {string} */ n) => c.runtimes.pause(n),
    (/** @type {string} */ n) => c.runtimes.resume(n),
    (/** @type {string} */ n) => c.runtimes.stop(n),
    (/** @type {string} */ n) => c.runtimes.start(n),
    (/** @type {string} */ n) => c.runtimes.delete(n),
    (/** @type {string} */ n) => c.runtimes.exec(n, "sleep 0.2"),
  ];
  const until = Date.now() + CFG.soakSecs * 1000;
  await Promise.all(
    Array.from({ length: 8 }, async (_, w) => {
      let i = w;
      while (Date.now() < until) {
        const n = names[Math.floor(Math.random() * names.length)];
        const op = ops[(i++ * 7 + Math.floor(Math.random() * ops.length)) % ops.length];
        counts.ops++;
        try {
          await op(n);
        } catch (e) {
          const status = /** @type {any} */ (e).status;
          if (status === 409 || status === 429 || status === 404) counts.expected_409_429++;
          else {
            counts.errors++;
            if (samples.length < 10) samples.push(`${status ?? ""} ${/** @type {Error} */ (e).message}`);
          }
        }
      }
    }),
  );
  // Nothing may be left between states once the operations stopped.
  await sleep(2000);
  const left = await c.runtimes.list();
  const states = left.map((/** @type {any} */ r) => `${r.name}:${r.cachedInfo.status}`);
  // creating/deleting are transitional (stuck); error/crashed are broken; the rest are where an operation leaves one.
  const stuck = states.filter((s) => /:(creating|deleting)$/.test(s));
  const broken = states.filter((s) => /:(error|crashed)$/.test(s));
  return { seconds: CFG.soakSecs, ...counts, error_samples: samples, stuck, broken, states };
}

async function main() {
  log(`work dir ${work}`);
  const { tarball } = await buildRootfs(work);
  await daemon.setup(tarball);
  log(`daemon ${daemon.endpoint} pid ${daemon.proc?.pid}`);
  const c = daemon.client;
  const runtimes = [];
  // Runtimes for the exec session burst and the memory phase (the soak makes its own).
  const needed = (CFG.phases.includes("health") && CFG.attacks.includes("sessions")) || (CFG.phases.includes("memory") && CFG.execs > 0);
  for (let i = 0; needed && i < 4; i++) {
    const name = `stress-${i}`;
    await c.runtimes.create(name, { image: BENCH_IMAGE, memoryMiB: 256 });
    runtimes.push(name);
  }
  if (CFG.phases.includes("health")) report.health = await healthPhase(runtimes);
  if (CFG.execs > 0 && CFG.phases.includes("memory")) {
    log(`memory: ${CFG.execs} execs printing 2 × 16 MiB of \\x01`);
    report.memory = await memoryWorstCase(runtimes);
  }
  for (const name of runtimes) await c.runtimes.delete(name);
  if (CFG.soakSecs > 0 && CFG.phases.includes("soak")) {
    log(`soak: ${CFG.soakSecs} s`);
    report.soak = await soak();
  }
}

/** Health p99 with no attack, then under each attack in turn. @param {string[]} runtimes */
async function healthPhase(runtimes) {
  /** @type {Record<string, unknown>} */
  const health = {};
  log("health, no attack");
  health.baseline = await healthSamples(3000);
  const attacks = CFG.attacks;
  if (attacks.includes("idle")) {
    log(`idle connections: ${CFG.idleConns}`);
    health.idle_connections = await attackIdle();
    dropHeld();
    await sleep(500);
  }
  if (attacks.includes("slow")) {
    log(`slow bodies: ${CFG.slowConns}`);
    health.slow_bodies = await attackSlowBodies();
    dropHeld();
    await sleep(500);
  }
  if (attacks.includes("floods")) {
    log(`body floods: ${CFG.floods}`);
    health.body_floods = await attackFloods();
    await sleep(500);
  }
  if (attacks.includes("sessions")) {
    log(`exec sessions at once: ${CFG.sessions}`);
    health.session_burst = await attackSessions(runtimes);
  }
  return health;
}

try {
  await main();
} catch (e) {
  report.failure = String(e instanceof Error ? e.stack : e);
  process.exitCode = 1;
} finally {
  dropHeld();
  report.leaks = await daemon.teardown().catch((e) => [String(e)]);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(dirname(CFG.out), { recursive: true });
  writeFileSync(CFG.out, JSON.stringify(report, null, 2) + "\n");
  process.stdout.write(JSON.stringify(report, null, 2) + "\n");
}
