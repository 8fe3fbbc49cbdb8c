/**
 * Runtimes on the network, through the real daemon and runc (DESIGN §11, issue 12's "Done when"). Traffic goes only
 * to loopback, to the test hosts this file creates in their own namespaces, and to the configured Debian mirror.
 */
import { execFile } from "node:child_process";
import { connect, createServer, type Server } from "node:net";
import { writeFile } from "node:fs/promises";
import { readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { expect, test } from "vitest";
import type { Runtime } from "../../src/client/index.js";
import { leaks, startTestDaemon } from "../helpers/daemon.js";
import { daemonSuite } from "../helpers/daemon-suite.js";
import { startTestHost, type TestHost } from "../helpers/test-hosts.js";
import { networkNames } from "../../src/engine/network/plan.js";

const run = promisify(execFile);
let hostA: TestHost;
let hostB: TestHost;

/** A python3 one-liner inside the runtime: GET over HTTP or HTTPS (unverified: the test hosts are self-signed). */
function fetchIn(rt: Runtime, url: string, opts: { connectTo?: string } = {}) {
  const py = `
import http.client, ssl, sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1]); addr = sys.argv[2] or u.hostname
try:
    if u.scheme == "https":
        ctx = ssl._create_unverified_context()
        c = http.client.HTTPSConnection(addr, 443, timeout=8, context=ctx)
        if addr != u.hostname:
            c._tunnel_host = None
            c.host = addr
            c._context = ctx
            sock = __import__("socket").create_connection((addr, 443), timeout=8)
            c.sock = ctx.wrap_socket(sock, server_hostname=u.hostname)
    else:
        c = http.client.HTTPConnection(addr, 80, timeout=8)
    c.request("GET", u.path or "/", headers={"Host": u.hostname})
    r = c.getresponse()
    print(r.status, r.read().decode().strip())
except Exception as e:
    print("ERR", type(e).__name__, e)
`;
  return rt.exec(["python3", "-c", py, url, opts.connectTo ?? ""], { timeoutSecs: 30 }).then((r) => r.stdoutText.trim());
}

const suite = daemonSuite({
  defaultImage: true,
  before: async () => {
    [hostA, hostB] = await Promise.all([startTestHost(), startTestHost()]);
    // allowed.test and denied.test share one address, as deb.debian.org and registry.npmjs.org do on this machine.
    await writeFile(join(suite.scratch, "hosts"), `${hostA.address} allowed.test denied.test\n${hostB.address} other.test\n`);
  },
  env: () => ({ RUNTA_NETWORK_HOSTS: join(suite.scratch, "hosts") }),
  after: () => Promise.all([hostA?.close(), hostB?.close()]),
});
const d = suite.daemon;

test("default policy: apt-get update from the configured Debian mirror succeeds; hostname -f and resolv.conf work", async () => {
  const rt = await d.client().runtimes.create("apt", { memoryMiB: 512 });
  const res = await rt.exec("apt-get update", { timeoutSecs: 180 });
  expect(res.exit_code, res.stdoutText + res.stderrText).toBe(0);
  expect(res.stdoutText).toMatch(/Reading package lists/);
  const net = await rt.egress();
  expect((await rt.exec("hostname -f")).stdoutText).toBe("apt\n");
  expect((await rt.exec("getent hosts apt")).stdoutText).toContain(net.address!);
  expect((await rt.exec("cat /etc/resolv.conf")).stdoutText).toMatch(/^nameserver 10\.\d+\.\d+\.1$/m);
  const events = await rt.egressEvents();
  expect(events.some((e) => e.verdict === "allowed" && e.port === 80 && e.rule === "mode:open" && e.bytes_in > 0)).toBe(true);
  await rt.delete();
});

test("an allowlist by hostname lets one test host through and refuses another on the same address, over HTTP and HTTPS", async () => {
  const rt = await d.client().runtimes.create("allow", { memoryMiB: 256, egress: { mode: "allowlist", allow: ["allowed.test"] } });
  expect(await fetchIn(rt, "http://allowed.test/")).toBe(`200 hello allowed.test from ${hostA.address}`);
  expect(await fetchIn(rt, "https://allowed.test/")).toBe(`200 hello allowed.test from ${hostA.address} over tls`);
  // The resolver does not even name what the allowlist refuses…
  expect(await fetchIn(rt, "http://denied.test/")).toMatch(/^ERR .*(gaierror|Name|resolution)/i);
  // …and connecting by address with the other name is refused by the proxy, fast, with a reason for HTTP.
  const t0 = Date.now();
  expect(await fetchIn(rt, "http://denied.test/", { connectTo: hostA.address })).toMatch(/^403 runta: egress to denied\.test refused: not allowed by the allowlist egress policy/);
  expect(await fetchIn(rt, "https://denied.test/", { connectTo: hostA.address })).toMatch(/^ERR (SSLError|ConnectionResetError)/);
  expect(Date.now() - t0).toBeLessThan(5000);
  // Other addresses and ports are refused at once.
  expect(await fetchIn(rt, `http://${hostB.address}/`)).toMatch(/^403 /);
  const events = await d.client().runtimes.egressEvents("allow");
  const denied = events.filter((e) => e.verdict === "denied").map((e) => `${e.protocol} ${e.host}`);
  expect(denied).toEqual(expect.arrayContaining(["dns denied.test", "http denied.test", "tls denied.test"]));
  expect(events.filter((e) => e.verdict === "allowed").map((e) => e.rule)).toEqual(["allowed.test", "allowed.test"]);
});

test("CIDR rules: an allowed /24 is reached on any port, another is refused; changes apply to the running runtime", async () => {
  const runta = d.client();
  const rt = await runta.runtimes.create("cidr", { memoryMiB: 256, egress: { mode: "allowlist", allow: [hostA.cidr] } });
  expect(await fetchIn(rt, `http://${hostA.address}/`)).toBe(`200 hello ${hostA.address} from ${hostA.address}`);
  expect(await fetchIn(rt, `http://${hostB.address}/`)).toMatch(/^403 /);
  // CIDR entries hold for every port (8080 is not proxied): the allowed host answers, the other is refused at once.
  const get8080 = (addr: string) => rt.exec(["python3", "-c", "import sys,urllib.request as u\ntry: print(u.urlopen(sys.argv[1], timeout=5).read().decode().strip())\nexcept Exception as e: print(type(e).__name__)", `http://${addr}:8080/`]).then((r) => r.stdoutText.trim());
  expect(await get8080(hostA.address)).toBe(`hello ${hostA.address}:8080 from ${hostA.address}`);
  expect(await get8080(hostB.address)).toBe("URLError");
  await rt.setEgress({ mode: "denylist", deny: [hostA.cidr] });
  expect(await get8080(hostA.address)).toBe("URLError");
  expect(await get8080(hostB.address)).toBe(`hello ${hostB.address}:8080 from ${hostB.address}`);
  expect(await fetchIn(rt, `http://${hostA.address}/`)).toMatch(/^403 .*rule 10\.250\./);
  expect(await fetchIn(rt, `http://${hostB.address}/`)).toBe(`200 hello ${hostB.address} from ${hostB.address}`);
  expect((await runta.runtimes.egress("cidr")).policy).toEqual({ mode: "denylist", allow: [], deny: [hostA.cidr] });
});

test("a runtime reaches neither host services (the daemon's API included) nor another runtime", async () => {
  const runta = d.client();
  const a = await runta.runtimes.get("allow");
  await a.setEgress({ mode: "open" });
  const b = await runta.runtimes.create("peer", { memoryMiB: 256 });
  await b.exec("nohup python3 -m http.server 8000 >/dev/null 2>&1 &");
  const listener: Server = createServer((s) => s.end("host service\n"));
  await new Promise<void>((r) => listener.listen(18779, "0.0.0.0", r));
  try {
    const gw = (await a.exec("cat /etc/resolv.conf")).stdoutText.match(/nameserver (\S+)/)![1]!;
    const hostAddr = (await run("ip", ["-4", "-o", "route", "get", hostA.address])).stdout.match(/src (\S+)/)![1]!;
    const apiPort = new URL(d.endpoint).port;
    const probe = `import socket,sys\nfor h,p in zip(sys.argv[1::2], sys.argv[2::2]):\n  try:\n    socket.create_connection((h,int(p)), timeout=3); print(h,p,"open")\n  except Exception as e: print(h,p,type(e).__name__)`;
    expect((await b.exec(["sh", "-c", "sleep 0.5; python3 -c 'import urllib.request;print(urllib.request.urlopen(\"http://127.0.0.1:8000/\").status)'"])).stdoutText).toBe("200\n");
    const peer = (await b.egress()).address!;
    // The host itself does reach its service on that address: what stops the runtime is the daemon's input chain.
    const fromHost = await new Promise<string>((res, rej) => {
      let got = "";
      connect(18779, hostAddr).on("data", (c) => (got += c)).on("end", () => res(got)).on("error", rej);
    });
    expect(fromHost).toBe("host service\n");
    const out = (await a.exec(["python3", "-c", probe, gw, "18779", hostAddr, "18779", gw, apiPort, peer, "8000"])).stdoutText;
    expect(out).not.toContain("open");
    expect(out.trim().split("\n")).toHaveLength(4);
  } finally {
    listener.close();
  }
  await b.delete();
});

test("policies and addresses survive shutdown/boot, pause/resume and a daemon restart (adopted, never duplicated)", async () => {
  const runta = d.client();
  const rt = await runta.runtimes.get("allow");
  await rt.setEgress({ mode: "allowlist", allow: ["allowed.test"] });
  const before = await rt.egress();
  await rt.stop();
  await rt.start();
  // A host reboot takes every namespace and link with it: boot makes them again, same address, same policy.
  await rt.stop();
  const ns = `${networkNames(resolve(d.dataDir)).ifPrefix}-${(Number(before.address!.split(".")[3]) + 256 * (Number(before.address!.split(".")[2]) & 15)).toString(16)}`;
  await run("ip", ["link", "del", ns]);
  await run("ip", ["netns", "del", ns]);
  await rt.start();
  expect(readdirSync("/run/netns")).toContain(ns);
  await rt.pause();
  await rt.resume();
  expect(await rt.egress()).toEqual(before);
  expect(await fetchIn(rt, "http://denied.test/", { connectTo: hostA.address })).toMatch(/^403 /);
  await d.restart();
  const again = await d.client().runtimes.get("allow");
  expect(await again.egress()).toEqual(before);
  expect(await fetchIn(again, "http://allowed.test/")).toBe(`200 hello allowed.test from ${hostA.address}`);
  expect(await fetchIn(again, "http://denied.test/", { connectTo: hostA.address })).toMatch(/^403 /);
  // Exactly one namespace and one link per networked runtime, whatever happened.
  const prefix = `${networkNames(resolve(d.dataDir)).ifPrefix}-`;
  const networked = (await Promise.all((await d.client().runtimes.list()).map((r) => r.egress()))).filter((e) => e.network === "nat");
  expect(readdirSync("/run/netns").filter((n) => n.startsWith(prefix)).sort()).toEqual(readdirSync("/sys/class/net").filter((n) => n.startsWith(prefix)).sort());
  expect(readdirSync("/run/netns").filter((n) => n.startsWith(prefix))).toHaveLength(networked.length);
});

test("--network none: loopback only, no address, no policy to set; a second daemon's network coexists with this one", async () => {
  const runta = d.client();
  const none = await runta.runtimes.create("sealed", { memoryMiB: 256, network: "none" });
  expect((await none.egress()).address).toBeNull();
  expect((await none.exec("hostname -f")).stdoutText).toBe("sealed\n");
  expect(await fetchIn(none, `http://${hostA.address}/`)).toMatch(/^ERR .*(unreachable|OSError)/i);
  await expect(none.setEgress({ mode: "open" })).rejects.toMatchObject({ code: "failed_precondition" });

  const other = await startTestDaemon();
  try {
    const rt = await other.client().runtimes.create("other", { image: "busybox", memoryMiB: 64 });
    expect((await rt.exec(`wget -qO- http://${hostB.address}/`)).stdoutText).toBe(`hello ${hostB.address} from ${hostB.address}\n`);
    expect(await fetchIn(await runta.runtimes.get("cidr"), `http://${hostB.address}/`)).toBe(`200 hello ${hostB.address} from ${hostB.address}`);
    expect((await rt.egress()).address).not.toBe((await runta.runtimes.egress("cidr")).address);
  } finally {
    await other.cleanup();
  }
  expect(await leaks(other)).toEqual([]);
});
