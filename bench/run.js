#!/usr/bin/env node
/**
 * `npm run bench`: runta against the raw-runc floor and, when present, Docker and Podman, side by side in one run
 * (this machine is noisy, so every phase interleaves the systems). Prints medians, spreads, ratios and the PASS/MISS
 * of every target of issues 7 and 20 (with the p50 and p99 of both sides), the hardware and the load average, and writes
 * the same as JSON to bench/results/latest.json (`npm run bench:markdown` prints its targets as README's table).
 *
 * Knobs (environment): BENCH_N rounds of the lifecycle (default 10), BENCH_WARMUP (1), BENCH_LIST_SIZES ("1,50,200"),
 * BENCH_LIST_N list calls per size (10), BENCH_IDLE idle runtimes for the RSS check (500; 0 skips),
 * BENCH_CONC_ROUNDS rounds of 50 concurrent execs (3), BENCH_TTY_N keystrokes (50), BENCH_NODE_N node starts (20),
 * BENCH_PEERS ("docker,podman"; "none" skips them), BENCH_CA_CERTS ("unset" or "keep": NODE_EXTRA_CA_CERTS for the
 * CLI runs), BENCH_ONLY (comma list of systems, e.g. "floor,docker" to try the harness without runta),
 * BENCH_CP_ROUNDS restores per checkpoint size (10; 0 skips; `node bench/checkpoints.js` runs only that phase),
 * BENCH_PHASES (comma list of phases, default all: startup, lifecycle, pool, agent, list, conc, tty, checkpoint, profile;
 * e.g. "startup,lifecycle,pool,list,profile" with BENCH_LIST_SIZES=200 BENCH_IDLE=0 for the CLI targets alone),
 * BENCH_OUT (JSON path), BENCH_PROFILE=1 (run the daemon under --cpu-prof and summarise where its time went).
 * The runta CLI is always profiled once (exec, ps) after the measurements, outside of them.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { hostname, cpus, loadavg, release } from "node:os";
import { Recorder, timed } from "./lib/stats.js";
import { pool, run, sleep } from "./lib/proc.js";
import { buildRootfs } from "./lib/rootfs.js";
import { RuncFloor } from "./lib/floor.js";
import { DockerPeer, PodmanPeer } from "./lib/peers.js";
import { RuntaDaemon, RuntaApiSystem, RuntaCliSystem, CLI_BIN, BENCH_IMAGE } from "./lib/runta.js";
import { ECHO_ARGV, echoLoop, ptyEcho } from "./lib/tty.js";
import { checkpointPhase } from "./lib/checkpoints.js";
import { renderProfile, summarizeProfileFile } from "./lib/profile.js";
import { evaluateTargets, renderMetricsTable, renderStartupTable, renderTargets, renderTargetsMarkdown } from "./lib/report.js";

const here = dirname(fileURLToPath(import.meta.url));
const env = process.env;
const int = (/** @type {string} */ name, /** @type {number} */ dflt) => {
  const v = env[name] === undefined || env[name] === "" ? dflt : Number(env[name]);
  if (!Number.isInteger(v) || v < 0) throw new Error(`${name} must be a whole number ≥ 0, got ${JSON.stringify(env[name])}`);
  return v;
};
const CFG = {
  rounds: int("BENCH_N", 10),
  warmup: int("BENCH_WARMUP", 1),
  listSizes: (env.BENCH_LIST_SIZES ?? "1,50,200").split(",").map(Number).filter((n) => n > 0).sort((a, b) => a - b),
  listN: int("BENCH_LIST_N", 10),
  idle: int("BENCH_IDLE", 500),
  concRounds: int("BENCH_CONC_ROUNDS", 3),
  ttyN: int("BENCH_TTY_N", 50),
  nodeN: int("BENCH_NODE_N", 20),
  peers: (env.BENCH_PEERS ?? "docker,podman").split(",").filter((p) => p && p !== "none"),
  keepCaCerts: (env.BENCH_CA_CERTS ?? "unset") === "keep",
  only: env.BENCH_ONLY ? env.BENCH_ONLY.split(",") : null,
  out: env.BENCH_OUT ?? join(here, "results", "latest.json"),
  profileDaemon: env.BENCH_PROFILE === "1",
  cpRounds: int("BENCH_CP_ROUNDS", 10),
  phases: env.BENCH_PHASES ? env.BENCH_PHASES.split(",") : null,
};
const PHASES = ["startup", "lifecycle", "pool", "agent", "list", "conc", "tty", "checkpoint", "profile"];
for (const p of CFG.phases ?? []) if (!PHASES.includes(p)) throw new Error(`BENCH_PHASES: unknown phase "${p}" (phases: ${PHASES.join(", ")})`);
const EXEC_1MIB = ["sh", "-c", "head -c 1048576 /dev/zero | tr '\\0' a"];
const MIB_BYTES = 1024 * 1024;

const rec = new Recorder();
/** @type {Record<string, string>} systems not measured, and why */
const skipped = {};
/** @type {Record<string, unknown> & {load_start: number[], load_end?: number[]}} */
const meta = {
  started_at: new Date().toISOString(),
  host: hostname(),
  kernel: release(),
  cpus: cpus().length,
  cpu_model: cpus()[0]?.model ?? "unknown",
  // The machine may be shared (other builds and tests): the load says how far from quiet the figures are.
  load_start: loadavg(),
  node: process.version,
  config: { ...CFG },
};
const log = (/** @type {string} */ msg) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const wanted = (/** @type {string} */ name) => !CFG.only || CFG.only.includes(name);
const phase = (/** @type {string} */ name) => !CFG.phases || CFG.phases.includes(name);

/** @typedef {{name:string, create(n:string):Promise<any>, exec(h:any, argv:string[], opts?:{largeOutput?:boolean}):Promise<number>, pause(h:any):Promise<unknown>, resume(h:any):Promise<unknown>, resize(h:any, mib:number):Promise<unknown>, shutdown(h:any):Promise<unknown>, boot(h:any):Promise<unknown>, rm(h:any):Promise<unknown>, list():Promise<number>}} System */

/** One lifecycle round on one system: every operation once (exec true three times), in the order a user would. */
async function cycle(/** @type {System} */ sys, /** @type {string} */ name, /** @type {number} */ round, /** @type {boolean} */ record) {
  const r = record ? rec : new Recorder();
  const h = await r.measure("create", sys.name, () => sys.create(name));
  if (!h) return;
  if (sys.name === "floor") r.add("run_d", "floor", h.runDetachedMs);
  try {
    for (let i = 0; i < 3; i++) await r.measure("exec_true", sys.name, () => sys.exec(h, ["true"]));
    await r.measure("exec_1mib", sys.name, async () => {
      const bytes = await sys.exec(h, EXEC_1MIB, { largeOutput: true });
      if (bytes !== MIB_BYTES) throw new Error(`exec produced ${bytes} bytes of stdout, expected ${MIB_BYTES}`);
    });
    await r.measure("pause", sys.name, () => sys.pause(h));
    await r.measure("resume", sys.name, () => sys.resume(h));
    await r.measure("resize", sys.name, () => sys.resize(h, round % 2 ? 768 : 512));
    await r.measure("shutdown", sys.name, () => sys.shutdown(h));
    await r.measure("boot", sys.name, () => sys.boot(h));
  } finally {
    await r.measure("rm", sys.name, () => sys.rm(h));
  }
}

/** Node start-up, interleaved: `node -e 0` and `runta --version`, each with and without NODE_EXTRA_CA_CERTS. */
async function nodeStartup() {
  const withCa = { ...env };
  const withoutCa = { ...env };
  delete withoutCa.NODE_EXTRA_CA_CERTS;
  meta.node_extra_ca_certs = env.NODE_EXTRA_CA_CERTS ? `set (${env.NODE_EXTRA_CA_CERTS})` : "not set in this environment";
  const cases = [
    ["node_e0", ["-e", "0"]],
    ["runta_version", [CLI_BIN, "--version"]],
  ];
  for (let i = 0; i < CFG.nodeN + 1; i++) {
    for (const [key, args] of cases) {
      for (const [suffix, e] of /** @type {const} */ ([["without_ca", withoutCa], ["with_ca", withCa]])) {
        if (key === "runta_version" && !wanted("runta-cli")) continue;
        const { ms } = await timed(() => run(process.execPath, /** @type {string[]} */ (args), { env: e }));
        if (i > 0) rec.add(`${key}_${suffix}`, "node", ms); // the first round warms the page cache
      }
    }
  }
}

/** Brings `live` up to `n` runtimes with `create`, a few at a time. */
async function fillTo(/** @type {any[]} */ live, /** @type {number} */ n, /** @type {(name:string)=>Promise<any>} */ create, /** @type {string} */ prefix, concurrency = 4) {
  const names = [];
  for (let i = live.length; i < n; i++) names.push(`${prefix}-${i}`);
  const made = await pool(names, concurrency, (name) => create(name));
  live.push(...made);
}

/** `list`/`ps` at each size, interleaving the systems that share the runtimes. */
async function listPhase(/** @type {string} */ label, /** @type {(name:string)=>Promise<any>} */ create, /** @type {(h:any)=>Promise<unknown>} */ rm, /** @type {System[]} */ listers, /** @type {(count:number)=>Promise<void>} */ after = async () => {}) {
  /** @type {any[]} */
  const live = [];
  try {
    for (const size of CFG.listSizes) {
      log(`list: ${label} with ${size}`);
      await fillTo(live, size, create, `l-${label}`);
      await sleep(200);
      for (let i = 0; i < CFG.listN + 1; i++) {
        for (const sys of listers) {
          if (i === 0) await sys.list().catch(() => {});
          else await rec.measure(`list_${size}`, sys.name, () => sys.list());
        }
      }
    }
    await after(live.length);
    if (CFG.idle > 0 && label === "runta") {
      log(`idle: filling runta to ${CFG.idle} runtimes`);
      await fillTo(live, CFG.idle, create, `l-${label}`);
      await after(live.length);
    }
  } finally {
    log(`list: removing ${live.length} ${label} runtimes`);
    await pool(live, 4, (h) => rm(h)).catch((e) => log(`remove failed: ${e.message}`));
  }
}

/** 50 execs of `true` at once, spread over 10 runtimes; every exec's latency is a sample, failures are errors. */
async function concurrencyPhase(/** @type {System} */ sys) {
  /** @type {any[]} */
  const live = [];
  try {
    await fillTo(live, 10, (n) => sys.create(n), `c-${sys.name}`, 2);
    for (let r = 0; r < CFG.concRounds + 1; r++) {
      const target = r === 0 ? new Recorder() : rec;
      const wall = await timed(() =>
        Promise.all(Array.from({ length: 50 }, (_, i) => target.measure("conc_exec", sys.name, () => sys.exec(live[i % 10], ["true"])))),
      );
      if (r > 0) rec.add("conc_wall", sys.name, wall.ms);
    }
  } finally {
    await pool(live, 4, (h) => sys.rm(h)).catch((e) => log(`remove failed: ${e.message}`));
  }
}

/** Keystroke echo through each system's interactive exec. */
async function ttyPhase(/** @type {System & {ttyCommand?: Function, ttySession?: Function}} */ sys) {
  const h = await sys.create(`t-${sys.name}`);
  try {
    const samples = sys.ttySession
      ? await echoLoop(sys.ttySession(h, ECHO_ARGV), CFG.ttyN + 5)
      : await ptyEcho(/** @type {any} */ (sys.ttyCommand)(h, ECHO_ARGV), CFG.ttyN + 5);
    for (const ms of samples.slice(5)) rec.add("tty_echo", sys.name, ms);
  } catch (e) {
    rec.fail("tty_echo", sys.name, e);
  } finally {
    await sys.rm(h).catch(() => {});
  }
}

/**
 * create+ready taken from a warm pool (issue 20), through the SDK and through `runta run`, interleaved with the floor's
 * `runc run -d` (and `docker run -d`, added to Docker's create samples, when Docker is measured): a pool of the
 * benchmark's shape with 2 members; before each create the pool is full again (refilled in the background, not timed),
 * and the create must come back with one of the members' ids, or the sample is an error.
 * @param {any} sdk @param {System[]} takers the runta systems that create from the pool @param {RuncFloor} floor
 * @param {System|undefined} docker
 */
async function poolPhase(sdk, takers, floor, docker) {
  const POOL = "bench";
  const members = async () =>
    (await sdk.runtimes.list({ pooled: true })).filter((/** @type {any} */ r) => r.info.pool === POOL).map((/** @type {any} */ r) => r.id);
  const full = async () => {
    for (let i = 0; i < 600; i++) {
      const p = (await sdk.pools.list()).find((/** @type {any} */ x) => x.name === POOL);
      if (p && p.ready >= 2 && p.booting === 0) return;
      await sleep(100);
    }
    throw new Error("the warm pool did not refill to 2 within 60 s");
  };
  await sdk.pools.set(POOL, { image: BENCH_IMAGE, vcpus: 1, memoryMiB: 1024, min: 2, max: 2 });
  try {
    for (let i = 0; i < CFG.rounds + CFG.warmup; i++) {
      const r = i < CFG.warmup ? new Recorder() : rec;
      const fh = await floor.create(`pf-${i}`);
      r.add("run_d", "floor", fh.runDetachedMs);
      await floor.rm(fh);
      if (docker) {
        const dh = await r.measure("create", docker.name, () => docker.create(`pd-${i}`));
        if (dh) await docker.rm(dh);
      }
      // Rotate the order each round, as the lifecycle does.
      for (const sys of takers.map((_, k) => takers[(k + i) % takers.length])) {
        await full();
        const waiting = await members();
        const h = await r.measure("create_pool", sys.name, async () => {
          const made = await sys.create(`pool-${sys.name}-${i}`);
          if (!waiting.includes(made.id)) {
            await sdk.runtimes.delete(made.id);
            throw new Error("the create did not take a warm pool member");
          }
          return made;
        });
        if (h) await sdk.runtimes.delete(h.id);
      }
    }
  } finally {
    await sdk.pools.remove(POOL).catch((/** @type {Error} */ e) => log(`removing the warm pool failed: ${e.message}`));
  }
}

/**
 * The smallest thing a Node CLI could do for `exec`: start node, send one exec request with node:http, exit.
 * `runta exec` minus this is what the CLI's own code costs.
 */
const NODE_HTTP_EXEC = [
  'const http = require("node:http");',
  'const req = http.request(new URL(`${process.env.RUNTA_ENDPOINT}/v1/runtimes/${process.argv[1]}/exec`), {',
  '  method: "POST", headers: { authorization: `Bearer ${process.env.RUNTA_TOKEN}`, "content-type": "application/json" },',
  "}, (res) => { res.resume(); if (res.statusCode !== 200) process.exitCode = 1; });",
  'req.on("error", (e) => { console.error(e.message); process.exitCode = 1; });',
  'req.end(JSON.stringify({ command: ["true"] }));',
].join("\n");

/**
 * Where a CLI command's time goes: `runta exec` interleaved with the bare node + http request above, then one CPU
 * profile each of `runta exec` and `runta ps` (after a warm-up run), summarised by origin.
 */
async function profileCli(/** @type {RuntaCliSystem} */ cli, /** @type {System} */ creator, /** @type {string} */ work) {
  const h = await creator.create("p-cli");
  /** @type {{title:string, summary:ReturnType<typeof summarizeProfileFile>}[]} */
  const out = [];
  const suffix = CFG.keepCaCerts ? "with_ca" : "without_ca";
  try {
    for (let i = 0; i < CFG.nodeN + 1; i++) {
      const bare = await timed(() => run(process.execPath, ["-e", NODE_HTTP_EXEC, h.name], { env: cli.env }));
      const full = await timed(() => cli.exec(h, ["true"]));
      if (i === 0) continue;
      rec.add(`node_http_exec_${suffix}`, "node", bare.ms);
      rec.add(`runta_exec_${suffix}`, "node", full.ms);
    }
    /** @type {[string, string[]][]} */
    const cases = [["runta exec true (CLI process)", ["exec", h.name, "--", "true"]], ["runta ps (CLI process)", ["ps"]]];
    for (const [title, args] of cases) {
      const dir = join(work, `cli-profile-${out.length}`);
      await cli.cli(args);
      await run(process.execPath, ["--cpu-prof", `--cpu-prof-dir=${dir}`, CLI_BIN, ...args], { env: cli.env });
      const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
      if (file) out.push({ title, summary: summarizeProfileFile(join(dir, file), 12) });
    }
  } catch (e) {
    log(`CLI profile failed: ${e instanceof Error ? e.message : e}`);
  } finally {
    await creator.rm(h).catch(() => {});
  }
  return out;
}

async function main() {
  if (process.getuid?.() !== 0) throw new Error("the benchmark drives runc, mounts and cgroups: run it as root");
  const work = mkdtempSync("/tmp/runta-bench-");
  /** @type {{teardown():Promise<string[]>}[]} */
  const owners = [];
  /** @type {System[]} */
  const systems = [];
  /** @type {string[]} */
  const leaks = [];
  let daemon = /** @type {RuntaDaemon|null} */ (null);
  /** @type {{count:number, rss_bytes:number}[]} */
  const rss = [];
  /** @type {{title:string, summary:ReturnType<typeof summarizeProfileFile>}[]} */
  const profiles = [];
  try {
    log(`work dir ${work}; config ${JSON.stringify(CFG)}`);
    const { rootfs, tarball } = await buildRootfs(work);
    meta.runc = (await run("runc", ["--version"], { keepStdout: true })).stdout.toString().split("\n")[0];

    const floor = new RuncFloor({ workDir: work, lowerDir: rootfs });
    await floor.setup();
    owners.push(floor);
    systems.push(/** @type {any} */ (floor));
    meta.floor_spec = floor.specSource;

    if (wanted("runta-api") || wanted("runta-cli")) {
      const why = RuntaDaemon.unavailable();
      if (why) skipped["runta-api"] = skipped["runta-cli"] = why;
      else {
        daemon = new RuntaDaemon(work, {
          profileDir: CFG.profileDaemon ? join(work, "daemon-profile") : undefined,
          keepLogAt: join(dirname(CFG.out), "daemon.log"),
        });
        owners.push(daemon);
        try {
          await daemon.setup(tarball);
          meta.runta = daemon.version;
          if (wanted("runta-api")) systems.push(new RuntaApiSystem(daemon));
          if (wanted("runta-cli")) systems.push(/** @type {any} */ (new RuntaCliSystem(daemon, { keepCaCerts: CFG.keepCaCerts })));
        } catch (e) {
          skipped["runta-api"] = skipped["runta-cli"] = `daemon setup failed: ${e instanceof Error ? e.message : e}`;
          log(skipped["runta-api"]);
        }
      }
    }
    meta.cli_node_extra_ca_certs = CFG.keepCaCerts ? "kept (as this machine sets it)" : "removed for the CLI runs";

    for (const [name, Peer] of /** @type {const} */ ([["docker", DockerPeer], ["podman", PodmanPeer]])) {
      if (!CFG.peers.includes(name) || !wanted(name)) {
        skipped[name] = "not requested (BENCH_PEERS/BENCH_ONLY)";
        continue;
      }
      const why = Peer.unavailable();
      if (why) {
        skipped[name] = why;
        continue;
      }
      const peer = new Peer(work);
      owners.push(peer);
      try {
        log(`starting ${name}`);
        await peer.setup(tarball);
        meta[name] = peer.version;
        systems.push(/** @type {any} */ (peer));
      } catch (e) {
        skipped[name] = `setup failed: ${e instanceof Error ? e.message.slice(0, 300) : e}`;
        log(`${name}: ${skipped[name]}`);
      }
    }
    for (const s of ["runta-api", "runta-cli"]) if (!wanted(s)) skipped[s] ??= "not requested (BENCH_ONLY)";
    log(`systems: ${systems.map((s) => s.name).join(", ")}; skipped: ${JSON.stringify(skipped)}`);

    if (phase("startup")) {
      log("node start-up");
      await nodeStartup();
    }

    if (daemon) rss.push({ count: 0, rss_bytes: daemon.rssBytes() });
    const total = phase("lifecycle") ? CFG.warmup + CFG.rounds : 0;
    for (let round = 0; round < total; round++) {
      log(`lifecycle round ${round + 1}/${total}${round < CFG.warmup ? " (warm-up)" : ""}`);
      // Rotate the order each round so no system always runs right after the same neighbour.
      const order = systems.map((_, i) => systems[(i + round) % systems.length]);
      for (const sys of order) await cycle(sys, `b-${sys.name}-${round}`, round, round >= CFG.warmup);
    }

    const api = systems.find((s) => s.name === "runta-api");
    const cli = systems.find((s) => s.name === "runta-cli");
    const takers = /** @type {System[]} */ ([api, cli].filter(Boolean));
    if (daemon && takers.length && phase("pool")) {
      log("create from a warm pool (SDK, runta run) vs runc run -d and docker run -d");
      await poolPhase(daemon.client, takers, floor, systems.find((s) => s.name === "docker")).catch((e) => rec.fail("create_pool", takers[0].name, e));
    }
    if (api) {
      // The in-runtime exec agent's phase (bench/lib/exec-agent.js, issue 20), once it exists.
      const agentPhase = join(here, "lib", "exec-agent.js");
      if (existsSync(agentPhase) && phase("agent")) {
        log("exec true, many times: the API (exec agent) vs runc exec");
        const { execAgentPhase } = await import(agentPhase);
        await execAgentPhase({ rec, api, floor, rounds: int("BENCH_EXEC_N", 200), log }).catch((/** @type {Error} */ e) => rec.fail("exec_true_hot", "runta-api", e));
      }
    }
    if (phase("list")) await listPhase("floor", (n) => floor.create(n), (h) => floor.rm(h), [floor]);
    if ((api || cli) && phase("list")) {
      const creator = /** @type {System} */ (api ?? cli);
      await listPhase(
        "runta",
        (n) => creator.create(n),
        (h) => creator.rm(h),
        /** @type {System[]} */ ([api, cli].filter(Boolean)),
        async (count) => {
          await sleep(1000);
          if (daemon) rss.push({ count, rss_bytes: daemon.rssBytes() });
        },
      );
    }
    for (const peer of systems.filter((s) => phase("list") && (s.name === "docker" || s.name === "podman"))) {
      await listPhase(peer.name, (n) => peer.create(n), (h) => peer.rm(h), [peer]);
    }

    for (const sys of systems.filter(() => phase("conc"))) {
      log(`50 concurrent execs: ${sys.name}`);
      await concurrencyPhase(sys);
    }
    for (const sys of systems.filter(() => phase("tty"))) {
      log(`tty echo: ${sys.name}`);
      await ttyPhase(/** @type {any} */ (sys));
    }
    if (daemon && api && CFG.cpRounds > 0 && phase("checkpoint")) {
      log("checkpoint restores vs creates (1 MiB and 1 GiB checkpoints)");
      await checkpointPhase(daemon.client, rec, log, CFG.cpRounds);
    }
    if (cli && phase("profile")) {
      log("profiling the CLI (outside the measurements)");
      profiles.push(...(await profileCli(/** @type {RuntaCliSystem} */ (/** @type {unknown} */ (cli)), /** @type {System} */ (api ?? cli), work)));
    }
  } finally {
    for (const o of owners.reverse()) {
      try {
        const l = await o.teardown();
        leaks.push(...l.map((x) => `${o.constructor.name}: ${x}`));
      } catch (e) {
        leaks.push(`${o.constructor.name} teardown failed: ${e instanceof Error ? e.message : e}`);
      }
    }
    if (CFG.profileDaemon && daemon) {
      const dir = join(work, "daemon-profile");
      try {
        const file = readdirSync(dir).find((f) => f.endsWith(".cpuprofile"));
        if (file) profiles.push({ title: "daemon, whole run", summary: summarizeProfileFile(join(dir, file), 12) });
      } catch (e) {
        log(`no daemon profile: ${e instanceof Error ? e.message : e}`);
      }
    }
    rmSync(work, { recursive: true, force: true });
  }

  const metrics = rec.toJSON();
  const idle = rss.find((r) => r.count >= CFG.idle && CFG.idle > 0);
  const targets = evaluateTargets(/** @type {any} */ (metrics), {
    idleRssBytes: idle ? idle.rss_bytes : null,
    idleCount: CFG.idle,
    skipped,
    cliCaCerts: CFG.keepCaCerts,
  });
  meta.finished_at = new Date().toISOString();
  meta.load_end = loadavg();
  const doc = { meta, skipped, daemon_rss: rss, metrics, targets, profiles, leaks };
  mkdirSync(dirname(CFG.out), { recursive: true });
  writeFileSync(CFG.out, JSON.stringify(doc, null, 2) + "\n");

  const lines = [
    "",
    `runta benchmark — ${meta.started_at} on ${meta.host} (${meta.cpus} × ${meta.cpu_model}, kernel ${meta.kernel}, ${meta.node}, ${meta.runc})`,
    `load average ${meta.load_start.map((x) => x.toFixed(2)).join(", ")} at the start, ${(meta.load_end ?? []).map((x) => x.toFixed(2)).join(", ")} at the end` +
      (Math.max(meta.load_start[0] ?? 0, meta.load_end?.[0] ?? 0) > 1
        ? ": the machine was busy with other work — figures under load are not representative (README's come from a quiet run)"
        : ""),
    `floor spec: ${meta.floor_spec}`,
    `NODE_EXTRA_CA_CERTS: ${meta.node_extra_ca_certs}; runta CLI runs: ${meta.cli_node_extra_ca_certs}`,
    ...Object.entries(skipped).map(([s, why]) => `skipped ${s}: ${why}`),
    "",
    renderMetricsTable(/** @type {any} */ (metrics), skipped),
    "",
    renderStartupTable(/** @type {any} */ (metrics)),
    "",
    `daemon RSS: ${rss.map((r) => `${r.count} runtimes → ${(r.rss_bytes / 1e6).toFixed(1)} MB`).join(", ") || "-"}`,
    "",
    renderTargets(targets),
    "",
    "The targets as Markdown (README's performance section; again later with npm run bench:markdown):",
    renderTargetsMarkdown(targets, /** @type {any} */ (meta)),
    "",
    ...profiles.map((p) => renderProfile(p.title, p.summary)),
    "",
    leaks.length ? `LEAKS:\n  ${leaks.join("\n  ")}` : "leak check: nothing left behind",
    `JSON: ${CFG.out}`,
  ];
  process.stdout.write(lines.join("\n") + "\n");
  return leaks.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : err}\n`);
    process.exit(1);
  },
);
