/**
 * Daemon lifecycle in-process over the FakeEngine: data dir and token files, daemon.json, listen-address policy,
 * graceful shutdown (in-flight requests finish, websockets get 1001, the engine is closed) and logs without the token.
 */
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { procStart } from "../../src/engine/proc.js";
import WebSocket from "ws";
import type { CapturedExec } from "../../src/engine/exec-output.js";
import type { ExecSpec } from "../../src/engine/types.js";
import { Runta, UnavailableError } from "../../src/client/index.js";
import { daemonOptionsFromEnv, parseListen, runDaemon, type Daemon } from "../../src/server/daemon.js";
import type { Logger } from "../../src/log.js";
import { FakeEngine } from "../helpers/fake-engine.js";

/** A FakeEngine whose exec takes `delayMs`. */
class SlowEngine extends FakeEngine {
  delayMs = 0;
  override async execCaptured(ref: string, spec: ExecSpec): Promise<CapturedExec> {
    await new Promise((r) => setTimeout(r, this.delayMs));
    return super.execCaptured(ref, spec);
  }
}

function captureLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const w = (level: string) => (msg: string, f?: Record<string, unknown>) => lines.push(JSON.stringify({ level, msg, ...f }));
  return { lines, debug: w("debug"), info: w("info"), warn: w("warn"), error: w("error") };
}

const dirs: string[] = [];
const daemons: Daemon[] = [];
afterEach(async () => {
  for (const d of daemons.splice(0)) await d.close();
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function start(extra: Partial<Parameters<typeof runDaemon>[0]> = {}) {
  const dataDir = extra.dataDir ?? (await mkdtemp(join(tmpdir(), "runta-daemon-unit-")));
  dirs.push(dataDir);
  const engine = (extra.engine as SlowEngine | undefined) ?? new SlowEngine();
  const logger = captureLogger();
  const daemon = await runDaemon({ dataDir, listen: "127.0.0.1:0", handleSignals: false, logger, engine, ...extra });
  daemons.push(daemon);
  const token = (await readFile(join(dataDir, "token"), "utf8")).trim();
  return { daemon, dataDir, engine, logger, token, runta: new Runta({ endpoint: daemon.endpoint, token, maxRetries: 0 }) };
}

describe("files", () => {
  test("creates a 0700 data dir, a 0600 random token, and a 0600 daemon.json removed at exit", async () => {
    const { daemon, dataDir, token, logger } = await start();
    expect(token).toMatch(/^[0-9a-f]{64}$/);
    expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
    expect((await stat(join(dataDir, "token"))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dataDir, "daemon.json"))).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(join(dataDir, "daemon.json"), "utf8"))).toEqual({ pid: process.pid, start_time: procStart(process.pid), endpoint: daemon.endpoint });
    await daemon.close();
    await expect(stat(join(dataDir, "daemon.json"))).rejects.toMatchObject({ code: "ENOENT" });
    expect(logger.lines.join("\n")).not.toContain(token);
    expect(logger.lines.some((l) => l.includes("daemon listening"))).toBe(true);
  });

  test("keeps the token across restarts and tightens a loose token file to 0600", async () => {
    const first = await start();
    await first.daemon.close();
    await writeFile(join(first.dataDir, "token"), first.token + "\n", { mode: 0o644 });
    const again = await start({ dataDir: first.dataDir });
    expect(again.token).toBe(first.token);
    expect((await stat(join(first.dataDir, "token"))).mode & 0o777).toBe(0o600);
  });

  test("refuses to start while another live daemon owns the data dir", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "runta-daemon-unit-"));
    dirs.push(dataDir);
    await writeFile(join(dataDir, "daemon.json"), JSON.stringify({ pid: process.ppid, endpoint: "http://127.0.0.1:1" }));
    await expect(runDaemon({ dataDir, listen: "127.0.0.1:0", handleSignals: false, engine: new FakeEngine(), logger: captureLogger() })).rejects.toMatchObject({
      code: "already_exists",
      message: expect.stringContaining(`pid ${process.ppid}`),
    });
  });

  test("daemon.json naming a pid that now belongs to another process (a reboot) does not block a start", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "runta-daemon-unit-"));
    dirs.push(dataDir);
    await writeFile(join(dataDir, "daemon.json"), JSON.stringify({ pid: process.ppid, start_time: procStart(process.ppid)! + 1, endpoint: "http://127.0.0.1:1" }));
    const d = await runDaemon({ dataDir, listen: "127.0.0.1:0", handleSignals: false, engine: new FakeEngine(), logger: captureLogger() });
    await d.close();
  });

  test("a stale daemon.json from a crashed daemon does not block a start", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "runta-daemon-unit-"));
    dirs.push(dataDir);
    await writeFile(join(dataDir, "daemon.json"), JSON.stringify({ pid: 2 ** 22 + 12345, endpoint: "http://127.0.0.1:1" }));
    const { daemon } = await start({ dataDir });
    expect(daemon.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });
});

describe("listen address", () => {
  test("parses host:port, [v6]:port and a bare port; rejects junk", () => {
    expect(parseListen("127.0.0.1:7420")).toEqual({ host: "127.0.0.1", port: 7420 });
    expect(parseListen("[::1]:80")).toEqual({ host: "::1", port: 80 });
    expect(parseListen("9000")).toEqual({ host: "127.0.0.1", port: 9000 });
    for (const bad of ["", "host:", "a:b", "1.2.3.4:70000"]) expect(() => parseListen(bad)).toThrow(/host:port/);
  });

  test("a non-loopback address is refused unless allowRemote; a wildcard endpoint is advertised as 127.0.0.1", async () => {
    await expect(runDaemon({ dataDir: "/nonexistent-never-created", listen: "0.0.0.0:0", handleSignals: false, engine: new FakeEngine() })).rejects.toMatchObject({
      code: "invalid_argument",
      message: expect.stringContaining("--allow-remote"),
    });
    const { daemon, runta } = await start({ listen: "0.0.0.0:0", allowRemote: true });
    expect(daemon.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(await runta.ping()).toBe(true);
  });

  test("a port in use is a clear unavailable error", async () => {
    const { daemon } = await start();
    const port = new URL(daemon.endpoint).port;
    await expect(start({ listen: `127.0.0.1:${port}` })).rejects.toMatchObject({ code: "unavailable", message: expect.stringContaining("already in use") });
  });
});

describe("graceful shutdown", () => {
  test("in-flight requests finish, new ones are refused, the engine is closed", async () => {
    const { daemon, engine, runta } = await start();
    await runta.runtimes.create("w");
    engine.delayMs = 300;
    const inflight = runta.runtimes.exec("w", "echo late");
    await new Promise((r) => setTimeout(r, 50));
    const closing = daemon.close();
    const out = await inflight;
    expect(out.stdoutText).toContain("echo late");
    await closing;
    await daemon.done;
    expect(engine.closed).toBe(true);
    expect(await runta.runtimes.list().catch((e) => e)).toBeInstanceOf(UnavailableError);
  });

  test("requests still running after the grace period are cut", async () => {
    const { daemon, engine, runta } = await start({ shutdownGraceMs: 100 });
    await runta.runtimes.create("w");
    engine.delayMs = 5000;
    const inflight = runta.runtimes.exec("w", "sleep").catch((e) => e);
    await new Promise((r) => setTimeout(r, 50));
    const t0 = Date.now();
    await daemon.close();
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(await inflight).toBeInstanceOf(UnavailableError);
  });

  test("websocket sessions are closed with 1001", async () => {
    const { daemon, runta, token } = await start();
    await runta.runtimes.create("w");
    const url = daemon.endpoint.replace("http:", "ws:") + "/v1/runtimes/w/exec/stream";
    const ws = new WebSocket(url, { headers: { Authorization: `Bearer ${token}` } });
    await new Promise<void>((res, rej) => {
      ws.once("open", () => res());
      ws.once("error", rej);
    });
    ws.send(JSON.stringify({ type: "start", command: ["cat"] }));
    ws.send(JSON.stringify({ type: "stdin", data_base64: Buffer.from("ping").toString("base64") }));
    await new Promise<void>((res) => ws.once("message", () => res()));
    const closed = new Promise<number>((res) => ws.once("close", (code) => res(code)));
    await daemon.close();
    expect(await closed).toBe(1001);
  });
});

describe("daemonOptionsFromEnv: one reading of the environment for runta-daemon and runta daemon run", () => {
  test("every RUNTA_ setting of the daemon is read; an unset one stays undefined (the default applies)", () => {
    const opts = daemonOptionsFromEnv({
      RUNTA_RUNC_ROOT: "/run/r",
      RUNTA_CGROUP_PARENT: "rt",
      RUNTA_IMAGES_DIR: "/srv/images",
      RUNTA_NETWORK_CIDR: "10.99.0.0/20",
      RUNTA_NETWORK_HOSTS: "/etc/test-hosts",
      RUNTA_EGRESS_CA_BUNDLE: "/etc/ca.pem",
      RUNTA_INGRESS_LISTEN: "127.0.0.1:7481",
      RUNTA_INGRESS_DOMAIN: "apps.test",
      RUNTA_INGRESS_WAKE_TIMEOUT: "12",
      RUNTA_EXEC_AGENT: "off",
    });
    expect(opts).toEqual({
      runcRoot: "/run/r",
      cgroupParent: "rt",
      imagesDir: "/srv/images",
      execAgent: false,
      network: { cidr: "10.99.0.0/20", hostsFile: "/etc/test-hosts" },
      egressCaBundle: "/etc/ca.pem",
      ingress: { listen: "127.0.0.1:7481", domain: "apps.test", wakeTimeoutSecs: 12 },
    });
    const none = daemonOptionsFromEnv({});
    expect(none.execAgent).toBe(true);
    expect(none.network).toEqual({ cidr: undefined, hostsFile: undefined });
    expect(none.ingress.wakeTimeoutSecs).toBeUndefined();
  });

  test("a wake timeout that is not whole seconds is invalid_argument naming the variable", () => {
    expect(() => daemonOptionsFromEnv({ RUNTA_INGRESS_WAKE_TIMEOUT: "30s" })).toThrow(/RUNTA_INGRESS_WAKE_TIMEOUT must be a whole number of seconds \(got '30s'\)/);
  });
});
