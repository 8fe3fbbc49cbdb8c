#!/usr/bin/env node
/**
 * `npm run bench:network`: what runtime networking costs (issue 12). Against a private daemon (the same as
 * `npm run bench`), interleaved so the machine's noise hits both sides alike:
 *   - create+ready and rm of a busybox runtime with networking ("nat") and without ("none");
 *   - the egress proxy's added latency per connection: a fresh TCP connection + HTTP GET from inside a runtime's
 *     namespace to a local test host, through the proxy (port 80) and directly through NAT (port 8080);
 *   - throughput of one large download, through the proxy and direct.
 *   - scale (BENCH_NET_SCALE > 0): that many runtime networks at once (namespaces, veths and rules made by the
 *     engine's network room, without containers), then a request from a sample of them through the proxy and direct.
 * Traffic goes only to a test host in a namespace this script creates (10.250.x.y). Knobs: BENCH_NET_N create
 * rounds (10), BENCH_NET_CONNS connections per side (200), BENCH_NET_MIB download size (256), BENCH_NET_SCALE (0).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { run } from "./lib/proc.js";
import { buildRootfs } from "./lib/rootfs.js";
import { BENCH_IMAGE, RuntaDaemon } from "./lib/runta.js";
import { summarize, timed } from "./lib/stats.js";

const { networkNames } = await import("../dist/engine/network/plan.js");
const { RuntimeNetworks } = await import("../dist/engine/network/network.js");
const { ipToInt } = await import("../dist/engine/network/ipv4.js");

const int = (/** @type {string} */ name, /** @type {number} */ dflt) => (process.env[name] ? Number(process.env[name]) : dflt);
const N = int("BENCH_NET_N", 10);
const CONNS = int("BENCH_NET_CONNS", 200);
const MIB = int("BENCH_NET_MIB", 256);
const SCALE = int("BENCH_NET_SCALE", 0);
const log = (/** @type {string} */ m) => process.stderr.write(`[bench:network] ${m}\n`);

/** The test host's server: `/` answers a line, `/big?mib=N` streams N MiB; on 80 (proxied) and 8080 (direct). */
const SERVER = `
const http = require("node:http"); const addr = process.argv[1]; const chunk = Buffer.alloc(1 << 20);
const h = (req, res) => { const m = /mib=(\\d+)/.exec(req.url); if (!m) return res.end("ok\\n");
  let left = Number(m[1]); res.writeHead(200, { "content-length": left << 20 });
  const more = () => { while (left > 0) { left--; if (!res.write(chunk)) return res.once("drain", more); } res.end(); }; more(); };
http.createServer(h).listen(8080, addr); http.createServer(h).listen(80, addr, () => console.log("ready"));`;

/** The client run inside the runtime's namespace: N sequential fresh connections, or one download; prints JSON. */
const CLIENT = `
const http = require("node:http"); const [url, n] = [process.argv[1], Number(process.argv[2])];
const get = () => new Promise((res, rej) => { const t0 = performance.now(); let bytes = 0;
  http.get(url, { agent: false, headers: { host: process.argv[3] } }, (r) => { r.on("data", (c) => (bytes += c.length)); r.on("end", () => res({ ms: performance.now() - t0, bytes })); }).on("error", rej); });
(async () => { const out = []; for (let i = 0; i < n; i++) out.push(await get()); console.log(JSON.stringify(out)); })();`;

async function startTestHost() {
  const tag = Math.floor(Math.random() * 250) + 1;
  const ns = `rttbench${tag}`;
  const link = `rttb${tag}h`;
  const address = `10.250.${tag}.2`;
  const ip = (/** @type {string} */ line) => run("ip", line.split(" "));
  await ip(`netns add ${ns}`);
  await ip(`link add ${link} type veth peer name eth0 netns ${ns}`);
  await ip(`addr add 10.250.${tag}.1/24 dev ${link}`);
  await ip(`link set ${link} up`);
  await ip(`-n ${ns} link set lo up`);
  await ip(`-n ${ns} addr add ${address}/24 dev eth0`);
  await ip(`-n ${ns} link set eth0 up`);
  await ip(`-n ${ns} route add default via 10.250.${tag}.1`);
  const server = spawn("ip", ["netns", "exec", ns, process.execPath, "-e", SERVER, address], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise((r) => server.stdout.once("data", r));
  return {
    address,
    async close() {
      server.kill("SIGKILL");
      await run("ip", ["link", "del", link], { allowFail: true });
      await run("ip", ["netns", "del", ns], { allowFail: true });
    },
  };
}

/** Runs the client in a runtime's namespace (its /run/netns entry); returns its samples. */
async function clientIn(/** @type {string} */ netns, /** @type {string} */ url, /** @type {number} */ n, /** @type {string} */ host) {
  const { stdout } = await run("ip", ["netns", "exec", netns, process.execPath, "-e", CLIENT, url, String(n), host], { keepStdout: true });
  return /** @type {{ms:number, bytes:number}[]} */ (JSON.parse(stdout.toString()));
}

/**
 * SCALE runtime networks at once through the engine's network room (its own data dir and range), then one request
 * through the proxy and one direct from the first, the last and every 25th; then all removed. No containers: this
 * measures the network layer (routed veths, one verdict map), not runc.
 */
async function scale(/** @type {string} */ address, /** @type {string} */ hostsFile, /** @type {string} */ work) {
  const dataDir = join(work, "scale");
  const nets = await RuntimeNetworks.open({ dataDir, hostsFile });
  const ids = Array.from({ length: SCALE }, (_, i) => `scale-${i}`);
  let ok = 0;
  let tried = 0;
  let upMs = 0;
  let downMs = 0;
  try {
    log(`scale: ${SCALE} runtime networks`);
    const t0 = performance.now();
    for (const id of ids) await nets.create(id, "nat");
    upMs = performance.now() - t0;
    const names = networkNames(resolve(dataDir));
    const sample = ids.filter((_, i) => i === 0 || i === ids.length - 1 || i % 25 === 0);
    for (const id of sample) {
      const ns = `${names.ifPrefix}-${(ipToInt(nets.describe(id).address) - names.range.base).toString(16)}`;
      for (const url of [`http://${address}/`, `http://${address}:8080/`]) {
        tried++;
        const got = await clientIn(ns, url, 1, "bench.test").catch(() => []);
        if (got.length === 1 && got[0].bytes === 3) ok++;
      }
    }
  } finally {
    const t1 = performance.now();
    for (const id of ids) await nets.remove(id);
    downMs = performance.now() - t1;
    await nets.close();
  }
  return { n: SCALE, upMs, downMs, ok, tried };
}

const fmt = (/** @type {ReturnType<typeof summarize>} */ s) => `median ${s.median.toFixed(1)} ms (p10 ${s.p10.toFixed(1)}, p90 ${s.p90.toFixed(1)}, n ${s.n})`;

async function main() {
  const work = mkdtempSync(join(tmpdir(), "runta-bench-net-"));
  const daemon = new RuntaDaemon(work);
  const host = await startTestHost();
  const hostsFile = join(work, "hosts");
  writeFileSync(hostsFile, `${host.address} bench.test\n`);
  process.env.RUNTA_NETWORK_HOSTS = hostsFile;
  /** @type {string[]} */
  let leaks = [];
  const results = /** @type {Record<string, unknown>} */ ({});
  try {
    const { tarball } = await buildRootfs(work);
    await daemon.setup(tarball);
    const runta = daemon.client;
    // One networked runtime lives through the whole run: the first one on a daemon also starts the resolver and the
    // proxy and builds the table (and the last one out removes them), which is not the cost of every create.
    const rt = await runta.runtimes.create("net-probe", { image: BENCH_IMAGE, memoryMiB: 64 });
    log(`create+ready and rm, ${N} rounds each, nat and none interleaved`);
    const samples = { create_nat: /** @type {number[]} */ ([]), create_none: /** @type {number[]} */ ([]), rm_nat: /** @type {number[]} */ ([]), rm_none: /** @type {number[]} */ ([]) };
    for (let i = 0; i < N + 1; i++) {
      for (const mode of /** @type {const} */ (["nat", "none"])) {
        const c = await timed(() => runta.runtimes.create(`net-${mode}-${i}`, { image: BENCH_IMAGE, memoryMiB: 64, network: mode }));
        const r = await timed(() => c.value.delete());
        if (i === 0) continue; // warm-up round
        samples[`create_${mode}`].push(c.ms);
        samples[`rm_${mode}`].push(r.ms);
      }
    }
    for (const [k, v] of Object.entries(samples)) results[k] = summarize(v);

    log(`proxy latency: ${CONNS} fresh connections through the proxy and direct`);
    const egress = await rt.egress();
    // The runtime's namespace is named after its address's index in the daemon's range (engine/network/plan.ts).
    const names = networkNames(resolve(daemon.dataDir));
    const netns = `${names.ifPrefix}-${(ipToInt(egress.address) - names.range.base).toString(16)}`;
    if (!existsSync(`/run/netns/${netns}`)) throw new Error(`no namespace ${netns} for ${egress.address}`);
    const proxied = [];
    const direct = [];
    for (let i = 0; i < 4; i++) {
      proxied.push(...(await clientIn(netns, `http://${host.address}/`, CONNS / 4, "bench.test")).map((s) => s.ms));
      direct.push(...(await clientIn(netns, `http://${host.address}:8080/`, CONNS / 4, "bench.test")).map((s) => s.ms));
    }
    results.conn_proxied = summarize(proxied);
    results.conn_direct = summarize(direct);

    log(`throughput: one ${MIB} MiB download each way`);
    const [p] = await clientIn(netns, `http://${host.address}/big?mib=${MIB}`, 1, "bench.test");
    const [d] = await clientIn(netns, `http://${host.address}:8080/big?mib=${MIB}`, 1, "bench.test");
    results.throughput_proxied_mib_s = (p.bytes / 1048576 / (p.ms / 1000));
    results.throughput_direct_mib_s = (d.bytes / 1048576 / (d.ms / 1000));
    const events = await rt.egressEvents({ limit: 1000 });
    results.proxy_events = events.length;
    if (SCALE > 0) results.scale = await scale(host.address, hostsFile, work);
  } finally {
    leaks = await daemon.teardown();
    const names = networkNames(resolve(daemon.dataDir));
    for (const dir of ["/run/netns", "/sys/class/net"]) {
      for (const n of existsSync(dir) ? readdirSync(dir) : []) if (n.startsWith(`${names.ifPrefix}-`)) leaks.push(`${dir}/${n}`);
    }
    if ((await run("nft", ["list", "table", "inet", names.table], { allowFail: true })).code === 0) leaks.push(`nft table ${names.table}`);
    await host.close();
    rmSync(work, { recursive: true, force: true });
  }
  const r = /** @type {any} */ (results);
  process.stdout.write(
    [
      "runtime networking (busybox, through the SDK against a private daemon)",
      `  create+ready  nat:  ${fmt(r.create_nat)}`,
      `  create+ready  none: ${fmt(r.create_none)}`,
      `  rm            nat:  ${fmt(r.rm_nat)}`,
      `  rm            none: ${fmt(r.rm_none)}`,
      `  connection + GET through the egress proxy: ${fmt(r.conn_proxied)}`,
      `  connection + GET direct (NAT):             ${fmt(r.conn_direct)}`,
      `  added by the proxy (medians): ${(r.conn_proxied.median - r.conn_direct.median).toFixed(2)} ms per connection`,
      `  throughput, one ${MIB} MiB download: proxy ${r.throughput_proxied_mib_s.toFixed(0)} MiB/s, direct ${r.throughput_direct_mib_s.toFixed(0)} MiB/s`,
      ...(r.scale
        ? [
            `  scale: ${r.scale.n} runtime networks up in ${(r.scale.upMs / 1000).toFixed(1)} s (${(r.scale.upMs / r.scale.n).toFixed(1)} ms each), ` +
              `${r.scale.ok}/${r.scale.tried} sampled requests answered (proxy and direct), all removed in ${(r.scale.downMs / 1000).toFixed(1)} s`,
          ]
        : []),
      `  leak check: ${leaks.length ? leaks.join("; ") : "nothing left behind"}`,
      "",
    ].join("\n"),
  );
  if (leaks.length) process.exitCode = 1;
}

main().catch((err) => {
  process.stderr.write(`bench:network failed: ${err instanceof Error ? err.stack : err}\n`);
  process.exitCode = 1;
});
