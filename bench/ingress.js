#!/usr/bin/env node
/**
 * `npm run bench:ingress` (after `npm run build`, as root; `npm run bench` runs it too): what the ingress of published
 * ports adds to a request (issue 13). On a private daemon, one busybox runtime publishes port 8080 (http) and 8443
 * (https) with busybox's httpd behind both; from this process, interleaved so the machine's noise hits every side
 * alike, BENCH_INGRESS_N (300) GETs each:
 *   - direct: a fresh TCP connection to the runtime's address on the runtime network (what the ingress itself does);
 *   - ingress, fresh: a fresh connection to the ingress (127.0.0.1) with the published Host;
 *   - ingress, kept alive: one client connection reused (the ingress still opens a connection to the app per request);
 *   - ingress https, kept alive: the same over TLS (handshake once).
 * Prints p50 and p99 of each and the p50 added by the ingress. Traffic: loopback and the runtime's own address.
 */
import http from "node:http";
import https from "node:https";
import { mkdtempSync, rmSync } from "node:fs";
import { buildRootfs } from "./lib/rootfs.js";
import { BENCH_IMAGE, RuntaDaemon } from "./lib/runta.js";
import { summarize } from "./lib/stats.js";

const N = Number(process.env.BENCH_INGRESS_N ?? 300);
const log = (/** @type {string} */ m) => process.stderr.write(`[bench:ingress ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

/**
 * One GET; resolves with its duration in ms (status 200 required).
 * @param {{ host: string, port: number, hostHeader?: string, agent?: any, tls?: { servername: string, ca: string } }} t
 */
function get(t) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const opts = { host: t.host, port: t.port, path: "/", agent: t.agent ?? false, headers: t.hostHeader ? { Host: t.hostHeader } : {} };
    const req = t.tls ? https.get({ ...opts, servername: t.tls.servername, ca: t.tls.ca }) : http.get(opts);
    req.on("response", (res) => {
      res.resume();
      res.on("end", () => (res.statusCode === 200 ? resolve(performance.now() - t0) : reject(new Error(`status ${res.statusCode}`))));
    });
    req.on("error", reject);
  });
}

const work = mkdtempSync("/tmp/runta-bench-ingress-");
const daemon = new RuntaDaemon(work);
/** @type {string[]} */
let leaks = [];
/** @type {Record<string, number[]>} */
const samples = { direct: [], ingress_fresh: [], ingress_keepalive: [], ingress_https_keepalive: [] };
try {
  const { tarball } = await buildRootfs(work);
  await daemon.setup(tarball);
  const runta = daemon.client;
  const rt = await runta.runtimes.create("web", { image: BENCH_IMAGE, memoryMiB: 64, ports: [{ port: 8080 }, { port: 8443, protocol: "https" }] });
  await rt.exec("mkdir -p /www && echo ok > /www/index.html");
  for (const port of [8080, 8443]) await runta.execs.start(rt.id, ["httpd", "-f", "-p", String(port), "-h", "/www"]);
  const address = (await rt.egress()).address;
  const ports = rt.info.ports;
  const plain = new URL(ports[0].url);
  const secure = new URL(ports[1].url);
  const ca = (await runta.ingress()).ca_certificate;
  const keep = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const keepTls = new https.Agent({ keepAlive: true, maxSockets: 1 });
  /** @type {Record<string, () => Promise<number>>} */
  const sides = {
    direct: () => get({ host: address, port: 8080 }),
    ingress_fresh: () => get({ host: "127.0.0.1", port: Number(plain.port), hostHeader: plain.host }),
    ingress_keepalive: () => get({ host: "127.0.0.1", port: Number(plain.port), hostHeader: plain.host, agent: keep }),
    ingress_https_keepalive: () =>
      get({ host: "127.0.0.1", port: Number(secure.port), hostHeader: secure.host, agent: keepTls, tls: { servername: secure.hostname, ca } }),
  };
  // Warm-up: the first request waits for httpd to accept, and warms the leaf certificate and the JIT.
  for (const f of Object.values(sides)) for (let i = 0; i < 5; i++) await f();
  log(`${N} requests per side, interleaved`);
  for (let i = 0; i < N; i++) for (const [name, f] of Object.entries(sides)) samples[name].push(await f());
  keep.destroy();
  keepTls.destroy();
} finally {
  leaks = await daemon.teardown();
  rmSync(work, { recursive: true, force: true });
}
/** @type {Record<string, ReturnType<typeof summarize>>} */
const s = {};
for (const [name, list] of Object.entries(samples)) {
  s[name] = summarize(list);
  process.stdout.write(`${name.padEnd(24)} p50 ${s[name].median.toFixed(2).padStart(6)} ms  p99 ${s[name].p99.toFixed(2).padStart(6)} ms  (n ${s[name].n})\n`);
}
const added = (/** @type {string} */ name) => `${(s[name].median - s.direct.median).toFixed(2)} ms`;
process.stdout.write(`added by the ingress at p50: ${added("ingress_keepalive")} kept alive, ${added("ingress_fresh")} on fresh connections, ${added("ingress_https_keepalive")} over https kept alive\n`);
process.stdout.write(leaks.length ? `LEAKS:\n  ${leaks.join("\n  ")}\n` : "leak check: nothing left behind\n");
process.exit(leaks.length ? 1 : 0);
