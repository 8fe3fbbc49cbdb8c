/**
 * The network room against real namespaces, veths and nftables (no runc): each "runtime" is a namespace made by
 * RuntimeNetworks, commands run in it with `ip netns exec`. Destinations are two local test hosts only.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, expect, test } from "vitest";
import { FORWARDING_MARKERS_DIR } from "../../src/engine/network/forwarding.js";
import { formatCidr } from "../../src/engine/network/ipv4.js";
import { RuntimeNetworks } from "../../src/engine/network/network.js";
import { networkNames } from "../../src/engine/network/plan.js";
import { startTestHost, type TestHost } from "../helpers/test-hosts.js";

const run = promisify(execFile);
let dataDir: string;
let nets: RuntimeNetworks;
let hostA: TestHost;
let hostB: TestHost;

/** Runs `cmd` inside a namespace; resolves with exit code and output (never rejects). */
async function inNs(netns: string, cmd: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run("ip", ["netns", "exec", netns, ...cmd], { timeout: 20_000 });
    return { code: 0, out: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : 1, out: (e.stdout ?? "") + (e.stderr ?? "") };
  }
}

const curl = (ns: string, ...args: string[]) => inNs(ns, ["curl", "-sS", "-k", "-m", "5", ...args]);
const nsOf = (nets: RuntimeNetworks, id: string) => nets.describe(id).netnsPath!.split("/").pop()!;

beforeAll(async () => {
  [hostA, hostB] = await Promise.all([startTestHost(), startTestHost()]);
  dataDir = await mkdtemp(join(tmpdir(), "runta-net-room-"));
  // allowed.test and denied.test share one address, as deb.debian.org and registry.npmjs.org do here.
  await writeFile(join(dataDir, "hosts"), `${hostA.address} allowed.test denied.test\n${hostB.address} other.test\n`);
  nets = await RuntimeNetworks.open({ dataDir, hostsFile: join(dataDir, "hosts") });
});

afterAll(async () => {
  // A failed test leaves its runtime: remove every one, so the last removal takes the table and forwarding with it.
  for (const rec of nets?.store.all() ?? []) await nets.remove(rec.runtimeId);
  await nets?.close();
  await Promise.all([hostA?.close(), hostB?.close()]);
  await rm(dataDir, { recursive: true, force: true });
});

test("open policy: DNS through the daemon, HTTP and HTTPS by name through the proxy, CIDRs by NAT, events", async () => {
  const rt = await nets.create("rt-open", "nat");
  const ns = nsOf(nets, "rt-open");
  expect(rt.address).toMatch(/^10\.\d+\.\d+\.2$/);
  expect((await curl(ns, "http://allowed.test/")).out).toBe(`hello allowed.test from ${hostA.address}\n`);
  expect((await curl(ns, "https://denied.test/")).out).toBe(`hello denied.test from ${hostA.address} over tls\n`);
  // A port that is neither 80 nor 443 goes through NAT directly.
  expect((await curl(ns, `http://${hostB.address}:8080/`)).out).toBe(`hello ${hostB.address}:8080 from ${hostB.address}\n`);
  const events = nets.events("rt-open");
  expect(events.map((e) => [e.protocol, e.host, e.port, e.verdict, e.rule])).toEqual([
    ["http", "allowed.test", 80, "allowed", "mode:open"],
    ["tls", "denied.test", 443, "allowed", "mode:open"],
  ]);
  expect(events[0]!.bytes_in).toBeGreaterThan(0);
  expect(events[0]!.ip).toBe(hostA.address);
  await nets.remove("rt-open");
});

test("an allowlist by hostname tells two names on one address apart, over HTTP and HTTPS, fast, with events", async () => {
  await nets.create("rt-allow", "nat", { mode: "allowlist", allow: ["allowed.test"], deny: [] });
  const ns = nsOf(nets, "rt-allow");
  expect((await curl(ns, "http://allowed.test/")).out).toBe(`hello allowed.test from ${hostA.address}\n`);
  expect((await curl(ns, "https://allowed.test/")).out).toBe(`hello allowed.test from ${hostA.address} over tls\n`);
  // The resolver refuses names the allowlist does not hold…
  expect((await curl(ns, "http://denied.test/")).out).toMatch(/Could not resolve host/);
  // …and a runtime that knows the address anyway is refused by the proxy, which reads the name.
  const started = Date.now();
  const denied = await curl(ns, "-i", "--resolve", `denied.test:80:${hostA.address}`, "http://denied.test/");
  expect(denied.out).toMatch(/^HTTP\/1\.1 403 Forbidden/);
  expect(denied.out).toMatch(/egress to denied\.test refused: not allowed by the allowlist egress policy/);
  const tlsDenied = await curl(ns, "--resolve", `denied.test:443:${hostA.address}`, "https://denied.test/");
  expect(tlsDenied.code).not.toBe(0);
  expect(Date.now() - started).toBeLessThan(3000);
  // Asking for an allowed name at a denied address still reaches only the allowed name's server.
  expect((await curl(ns, "--resolve", `allowed.test:80:${hostB.address}`, "http://allowed.test/")).out).toBe(`hello allowed.test from ${hostA.address}\n`);
  // Plain NAT to anything else is refused at once (allowlist without CIDRs).
  expect((await curl(ns, `http://${hostB.address}:8080/`)).out).toMatch(/Couldn't connect|Connection refused/i);
  const denials = nets.events("rt-allow").filter((e) => e.verdict === "denied");
  // curl asks twice (A and AAAA): one event per name within a few seconds.
  expect(denials.map((e) => [e.protocol, e.host])).toEqual([
    ["dns", "denied.test"],
    ["http", "denied.test"],
    ["tls", "denied.test"],
  ]);
  expect(denials[1]!.rule).toBe("mode:allowlist");
  await nets.remove("rt-allow");
});

test("CIDR rules: an allowlisted /24 is reached on any port, another is refused; a denylist the other way round; changes apply live", async () => {
  await nets.create("rt-cidr", "nat", { mode: "allowlist", allow: [hostA.cidr], deny: [] });
  const ns = nsOf(nets, "rt-cidr");
  expect((await curl(ns, `http://${hostA.address}/`)).out).toBe(`hello ${hostA.address} from ${hostA.address}\n`);
  expect((await curl(ns, `https://${hostA.address}/`)).out).toContain("over tls");
  expect((await curl(ns, `http://${hostA.address}:8080/`)).out).toBe(`hello ${hostA.address}:8080 from ${hostA.address}\n`);
  expect((await curl(ns, `http://${hostB.address}:8080/`)).out).toMatch(/Couldn't connect|Connection refused/i);
  expect((await curl(ns, "-i", `http://${hostB.address}/`)).out).toMatch(/403 Forbidden/);
  await nets.setPolicy("rt-cidr", { mode: "denylist", allow: [], deny: [hostA.cidr] });
  expect((await curl(ns, `http://${hostA.address}:8080/`)).out).toMatch(/Couldn't connect|Connection refused/i);
  expect((await curl(ns, `http://${hostB.address}:8080/`)).out).toContain("hello");
  expect((await curl(ns, "-i", `http://${hostA.address}/`)).out).toMatch(/403 Forbidden[\s\S]*rule 10\.250\./);
  expect((await curl(ns, `http://${hostB.address}/`)).out).toBe(`hello ${hostB.address} from ${hostB.address}\n`);
  await nets.remove("rt-cidr");
});

test("a policy change cuts the open proxied connections it no longer allows", async () => {
  await nets.create("rt-live", "nat");
  const ns = nsOf(nets, "rt-live");
  // Two requests on one keep-alive connection through the proxy, 1.5 s apart; prints the answers, then "closed".
  const client = `const s=require("net").connect(80,process.argv[1]);let got="";s.on("data",d=>got+=d);s.on("close",()=>{console.log((got.match(/hello/g)||[]).length+" closed");});
const req="GET / HTTP/1.1\\r\\nHost: allowed.test\\r\\n\\r\\n";s.write(req);setTimeout(()=>s.write(req),1500);setTimeout(()=>s.end(),3000);`;
  const twoRequests = () => inNs(ns, [process.execPath, "-e", client, hostA.address]);
  expect((await twoRequests()).out.trim()).toBe("2 closed");
  const cut = twoRequests();
  await new Promise((r) => setTimeout(r, 700));
  await nets.setPolicy("rt-live", { mode: "allowlist", allow: ["other.test"], deny: [] });
  expect((await cut).out.trim()).toBe("1 closed");
  await nets.remove("rt-live");
});

test("a range another route of the host covers is refused with the fix", async () => {
  const dir = await mkdtemp(join(tmpdir(), "runta-net-room-clash-"));
  const clash = await RuntimeNetworks.open({ dataDir: dir, cidr: hostA.cidr });
  try {
    await expect(clash.create("rt-x", "nat")).rejects.toMatchObject({ code: "unavailable", message: expect.stringMatching(/overlaps the host's route.*RUNTA_NETWORK_CIDR/) });
    expect(clash.describe("rt-x").mode).toBe("none");
  } finally {
    await clash.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test("a derived range the host already routes (another daemon's) gives way to the next one, which is kept across restarts", async () => {
  const dirs = await Promise.all([mkdtemp(join(tmpdir(), "runta-net-room-a-")), mkdtemp(join(tmpdir(), "runta-net-room-b-"))]);
  const identity = `range-test ${dirs[1]}`;
  const first = formatCidr(networkNames(identity).range);
  const second = formatCidr(networkNames(identity, undefined, 1).range);
  // Another daemon (its own table and interfaces) holds B's first derived range.
  const other = await RuntimeNetworks.open({ dataDir: dirs[0], cidr: first });
  let b: RuntimeNetworks | null = null;
  try {
    await other.create("rt-other", "nat");
    b = await RuntimeNetworks.open({ dataDir: dirs[1], identity });
    const rt = await b.create("rt-b", "nat");
    expect(formatCidr(b.names.range)).toBe(second);
    expect(rt.address?.startsWith(second.split(".").slice(0, 2).join("."))).toBe(true);
    await other.remove("rt-other");
    await b.close();
    // Restarted after the other daemon left: it keeps the range its runtime's address is in.
    b = await RuntimeNetworks.open({ dataDir: dirs[1], identity });
    expect(formatCidr(b.names.range)).toBe(second);
    expect(b.describe("rt-b").address).toBe(rt.address);
    await b.remove("rt-b");
  } finally {
    for (const n of [b, other]) {
      for (const rec of n?.store.all() ?? []) await n!.remove(rec.runtimeId);
      await n?.close();
    }
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  }
});

test("isolation: no other runtime, no host service, no spoofed source", async () => {
  await nets.create("rt-1", "nat");
  await nets.create("rt-2", "nat");
  const ns1 = nsOf(nets, "rt-1");
  const ns2 = nsOf(nets, "rt-2");
  const addr2 = nets.describe("rt-2").address!;
  // Something listening on every address of the host and in runtime 2.
  const { spawn } = await import("node:child_process");
  const hostServer = spawn(process.execPath, ["-e", "require('http').createServer((q,s)=>s.end('host')).listen(18777,'0.0.0.0',()=>console.log('up'))"], { stdio: ["ignore", "pipe", "ignore"] });
  const rtServer = spawn("ip", ["netns", "exec", ns2, process.execPath, "-e", "require('http').createServer((q,s)=>s.end('rt2')).listen(18778,'0.0.0.0',()=>console.log('up'))"], { stdio: ["ignore", "pipe", "ignore"] });
  try {
    await Promise.all([hostServer, rtServer].map((p) => new Promise((r) => p.stdout!.once("data", r))));
    expect((await inNs(ns2, ["curl", "-sS", "-m", "3", "http://127.0.0.1:18778/"])).out).toBe("rt2");
    expect((await curl(ns1, `http://${addr2}:18778/`)).code).not.toBe(0);
    expect((await curl(ns1, `http://${nets.names.gateway}:18777/`)).code).not.toBe(0);
    const hostAddr = (await run("ip", ["-4", "-o", "route", "get", hostA.address])).stdout.match(/src (\S+)/)![1]!;
    expect((await curl(ns1, `http://${hostAddr}:18777/`)).code).not.toBe(0);
    // The proxy will not dial the host for a runtime either.
    expect((await curl(ns1, "-i", "--resolve", `localhost:80:${hostA.address}`, "http://localhost/")).out).toMatch(/403[\s\S]*host:protected/);
    // A source address the runtime does not own is dropped.
    await inNs(ns1, ["ip", "addr", "add", "10.250.250.250/32", "dev", "eth0"]);
    expect((await curl(ns1, "--interface", "10.250.250.250", "-m", "2", `http://${hostB.address}:8080/`)).out).toMatch(/timed out/i);
    expect((await curl(ns1, "-m", "2", `http://${hostB.address}:8080/`)).out).toContain("hello");
  } finally {
    hostServer.kill();
    rtServer.kill();
  }
  await nets.remove("rt-1");
  await nets.remove("rt-2");
});

test("while runta holds ip_forward on, forwarding between other interfaces stays closed", async (ctx) => {
  await nets.create("rt-fwd", "nat");
  // Runta only restricts forwarding it turned on; a host that forwarded before (Docker, a router) is left alone.
  if (!existsSync(join(FORWARDING_MARKERS_DIR, nets.names.table))) ctx.skip();
  // Test host A reaching test host B goes through the host's forward path between two non-runta links.
  expect((await inNs(hostA.netns, ["curl", "-sS", "-m", "2", `http://${hostB.address}:8080/`])).out).toMatch(/timed out/i);
  // The runtime's own traffic is forwarded.
  expect((await curl(nsOf(nets, "rt-fwd"), `http://${hostB.address}:8080/`)).out).toContain("hello");
  await nets.remove("rt-fwd");
});

test("a second daemon's network coexists; the last runtime out removes namespace and link at once, table and forwarding after keepActiveMs or at close", async () => {
  const otherDir = await mkdtemp(join(tmpdir(), "runta-net-room-other-"));
  const other = await RuntimeNetworks.open({ dataDir: otherDir, keepActiveMs: 300 });
  const tables = async () => (await run("nft", ["list", "tables"])).stdout;
  try {
    await nets.create("rt-a", "nat");
    await other.create("rt-b", "nat");
    expect(other.names.table).not.toBe(nets.names.table);
    expect(await tables()).toContain(nets.names.table);
    expect(await tables()).toContain(other.names.table);
    const nsA = nsOf(nets, "rt-a");
    const nsB = nsOf(other, "rt-b");
    expect((await curl(nsA, "http://allowed.test/")).out).toContain("hello allowed.test");
    await other.remove("rt-b");
    expect(existsSync(`/run/netns/${nsB}`)).toBe(false);
    expect((await curl(nsA, "http://allowed.test/")).out).toContain("hello allowed.test");
    // The other daemon's parts go keepActiveMs after its last runtime: by themselves, with the daemon still open.
    for (let i = 0; i < 100 && (await tables()).includes(other.names.table); i++) await new Promise((r) => setTimeout(r, 50));
    expect(await tables()).not.toContain(other.names.table);
    expect(existsSync(join(FORWARDING_MARKERS_DIR, other.names.table))).toBe(false);
    // This one keeps them (the default 30 s) for a next create, which finds them there; close removes them at once.
    await nets.remove("rt-a");
    expect(existsSync(`/run/netns/${nsA}`)).toBe(false);
    expect(existsSync(`/sys/class/net/${nsA}`)).toBe(false);
    expect(await tables()).toContain(nets.names.table);
    await nets.create("rt-again", "nat");
    expect((await curl(nsOf(nets, "rt-again"), "http://allowed.test/")).out).toContain("hello allowed.test");
    await nets.remove("rt-again");
    await nets.close();
    expect(await tables()).not.toContain(nets.names.table);
    // Other daemons on this machine may hold ip_forward on for their runtimes; ours no longer do.
    for (const t of [nets.names.table, other.names.table]) expect(existsSync(join(FORWARDING_MARKERS_DIR, t))).toBe(false);
    nets = await RuntimeNetworks.open({ dataDir, hostsFile: join(dataDir, "hosts") });
  } finally {
    await other.close();
    await rm(otherDir, { recursive: true, force: true });
  }
});
