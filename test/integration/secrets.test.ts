/**
 * Secrets through the real daemon, runc and egress proxy (issue 15's "Done when"): a test host in a namespace this
 * file creates serves HTTPS with a certificate of a test CA that the daemon is given (RUNTA_EGRESS_CA_BUNDLE) and
 * echoes the headers it received. Runtimes send the stub; the host receives the value only where a rule says so.
 * Traffic goes only to the test hosts made here.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { expect, test } from "vitest";
import type { Runtime } from "../../src/client/index.js";
import { cgroupDirs } from "../../src/engine/cgroups.js";
import { runtimePaths } from "../../src/engine/rootfs.js";
import { daemonSuite } from "../helpers/daemon-suite.js";
import { startTestHost, type TestHost } from "../helpers/test-hosts.js";

let api: TestHost;
let other: TestHost;
/** A host whose certificate's CA the daemon is not given: injection must refuse to send the value there. */
let untrusted: TestHost;
/** Values no test writes anywhere but through the API (long and random, so a match is never a coincidence). */
const VALUE = `sk-live-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}Zq`;
const ROTATED = `sk-rotated-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}Qz`;

const suite = daemonSuite({
  defaultImage: true,
  before: async () => {
    [api, other, untrusted] = await Promise.all([startTestHost({ names: ["api.test"] }), startTestHost({ names: ["other.test"] }), startTestHost({ names: ["untrusted.test"] })]);
    const hostsDir = suite.scratch;
    await writeFile(join(hostsDir, "hosts"), `${api.address} api.test\n${other.address} other.test\n${untrusted.address} untrusted.test\n`);
    await writeFile(join(hostsDir, "ca.pem"), (await readFile(api.caFile, "utf8")) + (await readFile(other.caFile, "utf8")));
  },
  env: () => ({ RUNTA_NETWORK_HOSTS: join(suite.scratch, "hosts"), RUNTA_EGRESS_CA_BUNDLE: join(suite.scratch, "ca.pem") }),
  after: () => Promise.all([api?.close(), other?.close(), untrusted?.close()]),
});
const d = suite.daemon;

/** The headers the test host received for `url`, sent by curl inside the runtime with `Authorization: Bearer $API_KEY`. */
async function curlHeaders(rt: Runtime, url: string, extra = ""): Promise<Record<string, string>> {
  const res = await rt.exec(`curl -sS --fail ${extra} -H "Authorization: Bearer $API_KEY" ${url}`, { timeoutSecs: 30 });
  expect(res.exit_code, res.stderrText).toBe(0);
  return JSON.parse(res.stdoutText) as Record<string, string>;
}

/** The same with python3's urllib (its default context: the system trust store). */
async function pythonHeaders(rt: Runtime, url: string): Promise<Record<string, string>> {
  const py = `import os, sys, urllib.request as u
r = u.Request(sys.argv[1], headers={"Authorization": "Bearer " + os.environ["API_KEY"]})
print(u.urlopen(r, timeout=20).read().decode())`;
  const res = await rt.exec(["python3", "-c", py, url], { timeoutSecs: 30 });
  expect(res.exit_code, res.stderrText).toBe(0);
  return JSON.parse(res.stdoutText) as Record<string, string>;
}

/** Files under `dir` (host side) whose bytes contain `needle`; special files and other mounts are skipped. */
async function filesContaining(dir: string, needle: Buffer): Promise<string[]> {
  const found: string[] = [];
  const walk = async (path: string, dev: number) => {
    for (const ent of await readdir(path, { withFileTypes: true })) {
      const p = join(path, ent.name);
      if (ent.isDirectory()) {
        if (statSync(p).dev === dev) await walk(p, dev);
      } else if (ent.isFile() && (await readFile(p).catch(() => Buffer.alloc(0))).includes(needle)) found.push(p);
    }
  };
  await walk(dir, statSync(dir).dev);
  return found;
}

/** Every process of a runtime's cgroup (and its children), from the host. */
function runtimePids(id: string): number[] {
  const pids = new Set<number>();
  const walk = (dir: string) => {
    for (const p of readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n").filter(Boolean)) pids.add(Number(p));
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) walk(join(dir, e.name));
  };
  for (const dir of cgroupDirs(`${d.cgroupParent}/${id}`)) walk(dir);
  return [...pids];
}

test("curl and python send the stub; the ruled host receives the value, another host the stub, TLS to it untouched", async () => {
  const runta = d.client();
  const created = await runta.secrets.set("API_KEY", VALUE);
  expect(created).toMatchObject({ display_name: "API_KEY", used_by: [] });
  const rt = await runta.runtimes.create("agent", { memoryMiB: 256 });
  // Inside: the name holds the stub, for buffered, streamed and detached execs alike (one builder, spec.ts).
  expect((await rt.exec("printenv API_KEY")).stdoutText).toBe("runta-secret-stub\n");
  await runta.secrets.setRule("agent", { secret: "API_KEY", host: "api.test", header: "Authorization", template: "Bearer ${secret}" });

  expect((await curlHeaders(rt, "https://api.test/headers")).authorization).toBe(`Bearer ${VALUE}`);
  expect((await pythonHeaders(rt, "https://api.test/headers")).authorization).toBe(`Bearer ${VALUE}`);
  // git and pip read the system bundle too: the TLS handshake with the proxy's leaf succeeds (what follows fails, as
  // the test host is neither a git server nor a package index).
  const git = await rt.exec(`git -c http.extraHeader="Authorization: Bearer $API_KEY" ls-remote https://api.test/v1/repo.git`, { timeoutSecs: 30 });
  expect(git.stderrText).not.toMatch(/SSL|certificate/i);
  expect(git.stderrText).toMatch(/api\.test/);
  const pip = await rt.exec("pip download --no-deps --disable-pip-version-check --retries 0 --timeout 10 -d /tmp/pip --index-url https://api.test/v1/simple/ nothing-here", { timeoutSecs: 60 });
  expect(pip.stdoutText + pip.stderrText).not.toMatch(/SSL|certificate verify/i);
  expect(pip.stdoutText + pip.stderrText).toMatch(/nothing-here/);
  // The egress CA is where the issue says, and in the system bundle.
  expect((await rt.exec("grep -c 'BEGIN CERTIFICATE' /usr/local/share/ca-certificates/runta-egress.crt")).stdoutText).toBe("1\n");

  // No rule for other.test: spliced end to end, so the runtime sees the test host's own certificate (hence -k: the
  // runtime does not trust the test CA) and the host receives the stub.
  const verbose = await rt.exec(`curl -sS -k -v -H "Authorization: Bearer $API_KEY" https://other.test/headers`, { timeoutSecs: 30 });
  expect(JSON.parse(verbose.stdoutText).authorization).toBe("Bearer runta-secret-stub");
  expect(verbose.stderrText).toMatch(/issuer: CN ?= ?runta test CA/);
  // While api.test's certificate comes from the egress CA.
  expect((await rt.exec(`curl -sS -v -o /dev/null https://api.test/headers`)).stderrText).toMatch(/issuer: (O ?= ?runta; )?CN ?= ?runta egress CA/);

  // The proxy verifies the real host: one whose certificate chains to no CA it trusts never gets the value (502).
  await runta.secrets.setRule("agent", { secret: "API_KEY", host: "untrusted.test", header: "Authorization", template: "Bearer ${secret}" });
  const refused = await rt.exec(`curl -sS -H "Authorization: Bearer $API_KEY" -w '\\n%{http_code}' https://untrusted.test/headers`, { timeoutSecs: 30 });
  expect(refused.stdoutText).toMatch(/^runta: the egress proxy could not forward to untrusted\.test: .*(certificate|issuer)/m);
  expect(refused.stdoutText).toMatch(/\n502$/);
  await runta.secrets.removeRule("agent", "untrusted.test", "Authorization");

  const events = await rt.egressEvents();
  expect(events.filter((e) => e.host === "untrusted.test").map((e) => [/certificate|issuer/i.test(e.reason ?? ""), e.injected])).toEqual([[true, []]]);
  const injected = events.filter((e) => e.injected?.length);
  expect(injected.length).toBeGreaterThanOrEqual(2);
  expect(injected[0]).toMatchObject({ host: "api.test", protocol: "tls", verdict: "allowed", injected: [{ secret: "API_KEY", header: "Authorization" }] });
  expect(events.some((e) => e.host === "other.test" && !e.injected)).toBe(true);
});

test("path patterns, plain HTTP only when the rule says so, rotation for the next request, restart keeps rules", async () => {
  const runta = d.client();
  const rt = await runta.runtimes.get("agent");
  await runta.secrets.setRule("agent", { secret: "API_KEY", host: "api.test", path: "/v1/*", header: "Authorization", template: "Bearer ${secret}" });
  expect((await curlHeaders(rt, "https://api.test/v1/chat/headers")).authorization).toBe(`Bearer ${VALUE}`);
  expect((await curlHeaders(rt, "https://api.test/headers")).authorization).toBe("Bearer runta-secret-stub");

  // Plain HTTP: not injected by default…
  expect((await curlHeaders(rt, "http://api.test/v1/headers")).authorization).toBe("Bearer runta-secret-stub");
  // …only with allow_http. An extra header (X-Api-Key) with a template of its own is added where the request has none.
  await runta.secrets.setRule("agent", { secret: "API_KEY", host: "api.test", header: "X-Api-Key", template: "key=${secret}", allow_http: true });
  const plain = await curlHeaders(rt, "http://api.test/v1/headers");
  expect(plain["x-api-key"]).toBe(`key=${VALUE}`);
  expect(plain.authorization).toBe("Bearer runta-secret-stub");

  // Rotation: the next request (a new connection or not) carries the new value.
  await runta.secrets.set("API_KEY", ROTATED);
  expect((await curlHeaders(rt, "https://api.test/v1/headers")).authorization).toBe(`Bearer ${ROTATED}`);

  await d.restart();
  const after = d.client();
  expect((await after.secrets.rules("agent")).map((r) => `${r.host} ${r.header} ${r.path}`).sort()).toEqual(["api.test Authorization /v1/*", "api.test X-Api-Key /*"]);
  const rt2 = await after.runtimes.get("agent");
  expect((await curlHeaders(rt2, "https://api.test/v1/headers")).authorization).toBe(`Bearer ${ROTATED}`);
  // A boot writes the CA again and keeps the rules.
  await rt2.stop();
  await rt2.start();
  expect((await pythonHeaders(rt2, "https://api.test/v1/x/headers")).authorization).toBe(`Bearer ${ROTATED}`);
});

test("the value is nowhere in the runtime (filesystem, environment, /proc), the daemon log, API responses or inspect; the store is out of reach", async () => {
  const runta = d.client();
  const rt = await runta.runtimes.get("agent");
  // A detached process and a shell that used the key are running while we look.
  const job = await runta.execs.start("agent", ["sh", "-c", 'curl -s -H "Authorization: Bearer $API_KEY" https://api.test/v1/hello > /tmp/answer; sleep 300']);
  // (Not a /headers path: the test host would echo the injected value back into the runtime.)
  expect((await rt.exec("for i in $(seq 50); do [ -s /tmp/answer ] && break; sleep 0.2; done; cat /tmp/answer")).stdoutText).toContain("hello api.test");
  for (const value of [VALUE, ROTATED]) {
    const needle = Buffer.from(value);
    expect(await filesContaining(runtimePaths(d.dataDir, rt.id).rootfs, needle)).toEqual([]);
    for (const pid of runtimePids(rt.id)) {
      for (const f of ["environ", "cmdline"]) {
        const bytes = await readFile(`/proc/${pid}/${f}`).catch(() => Buffer.alloc(0));
        expect(bytes.includes(needle), `/proc/${pid}/${f}`).toBe(false);
      }
    }
    expect(runtimePids(rt.id).length).toBeGreaterThan(2);
    expect((await rt.exec("env; cat /proc/1/environ")).stdoutText).not.toContain(value);
    expect(d.logs()).not.toContain(value);
    const answers = JSON.stringify([
      await runta.secrets.list(),
      await runta.secrets.get("API_KEY"),
      await runta.secrets.rules("agent"),
      await runta.runtimes.get("agent"),
      await rt.egressEvents({ limit: 1000 }),
      await runta.execs.list("agent"),
    ]);
    expect(answers).not.toContain(value);
    // Nor any 8-character piece of it.
    for (let i = 0; i + 8 <= value.length; i += 4) expect(answers).not.toContain(value.slice(i, i + 8));
  }
  await runta.execs.signal("agent", job.id, "KILL");
  // What the runtime might try: the daemon's data dir, key file and store are not in its filesystem, and the daemon's
  // process (the proxy's memory) is not among its processes.
  const tries = await rt.exec(
    `for p in ${d.dataDir}/secrets/key ${d.dataDir}/runta.db /var/lib/runta/secrets/key; do cat "$p" >/dev/null 2>&1 && echo "READ $p"; done; ` +
      `grep -l "dist/server/mai[n].js" /proc/[0-9]*/cmdline 2>/dev/null; ls /proc | grep -c '^[0-9]'`,
  );
  expect(tries.stdoutText).not.toMatch(/READ|cmdline/);
  // From the host: the key file is root's alone.
  expect(statSync(join(d.dataDir, "secrets", "key")).mode & 0o777).toBe(0o400);
  expect(statSync(join(d.dataDir, "secrets")).mode & 0o777).toBe(0o700);
  // The database holds no clear value.
  expect(readFileSync(join(d.dataDir, "runta.db")).includes(Buffer.from(ROTATED))).toBe(false);
});

test("bad input and refusals: clear errors, nothing half-made", async () => {
  const runta = d.client();
  const fails = async (p: Promise<unknown>) => p.then(() => ({ code: "none", message: "" }), (e: { code: string; message: string }) => e);
  expect(await fails(runta.secrets.setRule("agent", { secret: "API_KEY", host: "api.test", header: "Authorization", template: "Bearer" }))).toMatchObject({ code: "invalid_argument", message: expect.stringMatching(/exactly once/) });
  expect(await fails(runta.secrets.setRule("agent", { secret: "API_KEY", host: "api.test", header: "Authorization", template: "${secret}${secret}" }))).toMatchObject({ message: expect.stringMatching(/2 times/) });
  expect(await fails(runta.secrets.setRule("agent", { secret: "API_KEY", host: "api.test", header: "Bad Header", template: "${secret}" }))).toMatchObject({ message: expect.stringMatching(/not a valid header name/) });
  expect(await fails(runta.secrets.setRule("agent", { secret: "API_KEY", host: "*.test", header: "A", template: "${secret}" }))).toMatchObject({ message: expect.stringMatching(/one hostname/) });
  expect(await fails(runta.secrets.setRule("agent", { secret: "NOPE", host: "api.test", header: "A", template: "${secret}" }))).toMatchObject({ code: "not_found", message: expect.stringMatching(/secret "NOPE" not found/) });
  expect(await fails(runta.secrets.setRule("ghost", { secret: "API_KEY", host: "api.test", header: "A", template: "${secret}" }))).toMatchObject({ code: "not_found" });
  expect(await fails(runta.secrets.set("EMPTY", ""))).toMatchObject({ code: "invalid_argument", message: expect.stringMatching(/empty/) });
  const big = "x".repeat(16 * 1024 + 1);
  const tooBig = await fails(runta.secrets.set("BIG", big));
  expect(tooBig).toMatchObject({ code: "invalid_argument", message: expect.stringMatching(/16385 bytes; at most 16384/) });
  expect(tooBig.message).not.toContain("xxxxxxxx");
  expect(await fails(runta.secrets.set("1BAD", "v"))).toMatchObject({ code: "invalid_argument" });
  expect((await runta.secrets.list()).map((s) => s.display_name)).toEqual(["API_KEY"]);

  // In use: refused, naming the rules; gone with the runtime.
  const inUse = await fails(runta.secrets.remove("API_KEY"));
  expect(inUse).toMatchObject({ code: "failed_precondition", message: expect.stringMatching(/used by 2 rule\(s\): agent api\.test Authorization; agent api\.test X-Api-Key/) });
  expect(await fails(runta.secrets.removeRule("agent", "api.test", "Nope"))).toMatchObject({ code: "not_found" });
  await runta.secrets.removeRule("agent", "api.test", "x-api-key");
  expect((await runta.secrets.get("API_KEY")).used_by).toEqual([expect.objectContaining({ runtime: "agent", host: "api.test", header: "Authorization" })]);

  // A checkpoint does not carry rules: the restored runtime has none (and still sees the stub).
  await runta.checkpoints.create("agent", "agent-cp");
  const fork = await runta.checkpoints.restore("agent-cp", "fork");
  expect(await runta.secrets.rules("fork")).toEqual([]);
  expect((await fork.exec("printenv API_KEY")).stdoutText).toBe("runta-secret-stub\n");
  expect((await curlHeaders(fork, "https://api.test/v1/headers", "-k")).authorization).toBe("Bearer runta-secret-stub");
  await fork.delete();
  await runta.checkpoints.remove("agent-cp");

  await (await runta.runtimes.get("agent")).delete();
  const removed = await runta.secrets.remove("API_KEY");
  expect(removed.display_name).toBe("API_KEY");
  expect(await runta.secrets.list()).toEqual([]);
});
