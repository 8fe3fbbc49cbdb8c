#!/usr/bin/env node
/**
 * `npm run bench:network`: what runtime networking costs (issue 12). Against a private daemon (the same as
 * `npm run bench`), interleaved so the machine's noise hits both sides alike:
 *   - create+ready and rm of a busybox runtime with networking ("nat") and without ("none");
 *   - the egress proxy's added latency per connection: a fresh TCP connection + HTTP GET from inside a runtime's
 *     namespace to a local test host, through the proxy (port 80) and directly through NAT (port 8080);
 *   - throughput of one large download, through the proxy and direct.
 *   - secret injection (issue 15): the latency TLS interception adds per HTTPS request, p50: requests to a host with a
 *     secret rule (TLS terminated, header rewritten, re-encrypted) vs a host without one (spliced), on fresh
 *     connections and on one kept-alive connection.
 *   - scale (BENCH_NET_SCALE > 0): that many runtime networks at once (namespaces, veths and rules made by the
 *     engine's network room, without containers), then a request from a sample of them through the proxy and direct.
 * Traffic goes only to a test host in a namespace this script creates (10.250.x.y). Knobs: BENCH_NET_N create
 * rounds (10), BENCH_NET_CONNS connections per side (200), BENCH_NET_MIB download size (256), BENCH_NET_SCALE (0).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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

/** The test host's server: `/` answers a line, `/big?mib=N` streams N MiB; on 80 (proxied) and 8080 (direct), and over TLS on 443. */
const SERVER = `
const http = require("node:http"), https = require("node:https"), fs = require("node:fs"); const [addr, dir] = process.argv.slice(1); const chunk = Buffer.alloc(1 << 20);
const h = (req, res) => { const m = /mib=(\\d+)/.exec(req.url); if (!m) return res.end("ok\\n");
  let left = Number(m[1]); res.writeHead(200, { "content-length": left << 20 });
  const more = () => { while (left > 0) { left--; if (!res.write(chunk)) return res.once("drain", more); } res.end(); }; more(); };
https.createServer({ key: fs.readFileSync(dir + "/key.pem"), cert: fs.readFileSync(dir + "/cert.pem") }, h).listen(443, addr);
http.createServer(h).listen(8080, addr); http.createServer(h).listen(80, addr, () => console.log("ready"));`;

/** HTTPS requests from inside the runtime's namespace (SNI and Host = argv[2]); fresh connections or one kept alive. */
const TLS_CLIENT = `
const https = require("node:https"), fs = require("node:fs"); const [addr, host, n, keep, ca] = process.argv.slice(1);
const agent = keep === "1" ? new https.Agent({ keepAlive: true, maxSockets: 1 }) : false;
const get = () => new Promise((res, rej) => { const t0 = performance.now();
  https.get({ host: addr, port: 443, path: "/", servername: host, headers: { host, authorization: "Bearer runta-secret-stub" }, ca: fs.readFileSync(ca), agent },
    (r) => { r.resume(); r.on("end", () => (r.statusCode === 200 ? res(performance.now() - t0) : rej(new Error("status " + r.statusCode)))); }).on("error", rej); });
(async () => { const out = []; for (let i = 0; i < Number(n); i++) out.push(await get()); console.log(JSON.stringify(out)); process.exit(0); })();`;

/** The client run inside the runtime's namespace: N sequential fresh connections, or one download; prints JSON. */
const CLIENT = `
const http = require("node:http"); const [url, n] = [process.argv[1], Number(process.argv[2])];
const get = () => new Promise((res, rej) => { const t0 = performance.now(); let bytes = 0;
  http.get(url, { agent: false, headers: { host: process.argv[3] } }, (r) => { r.on("data", (c) => (bytes += c.length)); r.on("end", () => res({ ms: performance.now() - t0, bytes })); }).on("error", rej); });
(async () => { const out = []; for (let i = 0; i < n; i++) out.push(await get()); console.log(JSON.stringify(out)); })();`;

/** A test CA and a certificate for bench.test and plain.test it issued, in `dir` (ca.pem, cert.pem, key.pem). */
async function issueCertificate(/** @type {string} */ dir) {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await run("openssl", ["req", "-x509", ...ec, "-days", "1", "-subj", "/CN=runta bench CA", "-keyout", join(dir, "ca.key"), "-out", join(dir, "ca.pem"), "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"]);
  await run("openssl", ["req", ...ec, "-subj", "/CN=bench.test", "-keyout", join(dir, "key.pem"), "-out", join(dir, "req.csr")]);
  writeFileSync(join(dir, "ext.cnf"), "subjectAltName=DNS:bench.test,DNS:plain.test\nextendedKeyUsage=serverAuth\n");
  await run("openssl", ["x509", "-req", "-in", join(dir, "req.csr"), "-CA", join(dir, "ca.pem"), "-CAkey", join(dir, "ca.key"), "-CAcreateserial", "-days", "1", "-out", join(dir, "cert.pem"), "-extfile", join(dir, "ext.cnf")]);
}

async function startTestHost(/** @type {string} */ certDir) {
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
  const server = spawn("ip", ["netns", "exec", ns, process.execPath, "-e", SERVER, address, certDir], { stdio: ["ignore", "pipe", "inherit"] });
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
  await issueCertificate(work);
  const host = await startTestHost(work);
  const hostsFile = join(work, "hosts");
  writeFileSync(hostsFile, `${host.address} bench.test plain.test\n`);
  process.env.RUNTA_NETWORK_HOSTS = hostsFile;
  process.env.RUNTA_EGRESS_CA_BUNDLE = join(work, "ca.pem");
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

    log(`secret injection: ${CONNS} HTTPS requests to a host with a rule (intercepted) and one without (spliced)`);
    await runta.secrets.set("BENCH_KEY", "bench-value");
    await runta.secrets.setRule("net-probe", { secret: "BENCH_KEY", host: "bench.test", header: "Authorization", template: "Bearer ${secret}" });
    // The client trusts the egress CA (what a runtime's trust store holds) and the test CA (what the spliced host shows).
    const trust = join(work, "client-ca.pem");
    writeFileSync(trust, readFileSync(join(daemon.dataDir, "egress-ca", "ca.crt"), "utf8") + readFileSync(join(work, "ca.pem"), "utf8"));
    const tlsIn = async (/** @type {string} */ name, /** @type {number} */ n, /** @type {boolean} */ keep) => {
      const { stdout } = await run("ip", ["netns", "exec", netns, process.execPath, "-e", TLS_CLIENT, host.address, name, String(n), keep ? "1" : "0", trust], { keepStdout: true });
      return /** @type {number[]} */ (JSON.parse(stdout.toString()));
    };
    const tls = { fresh_intercepted: /** @type {number[]} */ ([]), fresh_spliced: /** @type {number[]} */ ([]), kept_intercepted: /** @type {number[]} */ ([]), kept_spliced: /** @type {number[]} */ ([]) };
    for (let i = 0; i < 4; i++) {
      tls.fresh_intercepted.push(...(await tlsIn("bench.test", CONNS / 4, false)));
      tls.fresh_spliced.push(...(await tlsIn("plain.test", CONNS / 4, false)));
      // The first request of a kept-alive run pays the handshake: dropped.
      tls.kept_intercepted.push(...(await tlsIn("bench.test", CONNS / 4 + 1, true)).slice(1));
      tls.kept_spliced.push(...(await tlsIn("plain.test", CONNS / 4 + 1, true)).slice(1));
    }
    for (const [k, v] of Object.entries(tls)) results[`tls_${k}`] = summarize(v);
    results.injected_events = (await rt.egressEvents({ limit: 1000 })).filter((e) => e.injected?.length).length;
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
      "secret injection (HTTPS GET through the egress proxy; intercepted = a secret rule for the host)",
      `  fresh connection, intercepted: ${fmt(r.tls_fresh_intercepted)}`,
      `  fresh connection, spliced:     ${fmt(r.tls_fresh_spliced)}`,
      `  kept-alive, intercepted:       ${fmt(r.tls_kept_intercepted)}`,
      `  kept-alive, spliced:           ${fmt(r.tls_kept_spliced)}`,
      `  added by TLS interception (p50): ${(r.tls_fresh_intercepted.median - r.tls_fresh_spliced.median).toFixed(2)} ms per request on a fresh connection, ` +
        `${(r.tls_kept_intercepted.median - r.tls_kept_spliced.median).toFixed(2)} ms per request on a kept-alive one (${r.injected_events} injection events)`,
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
