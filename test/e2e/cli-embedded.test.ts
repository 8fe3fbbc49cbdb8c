/**
 * The embedded default: with nothing configured and no local daemon answering, the built CLI starts one in the
 * background and goes on; `runta daemon start|stop|status` manage it. The "local daemon" here lives in a temp data
 * dir on a free port (hidden RUNTA_DATA_DIR / RUNTA_LISTEN), with its own runc root and cgroup parent, so the
 * developer's real daemon (/var/lib/runta, port 7420) is never touched. Needs `npm run build` first.
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { busyboxImage, makeEngineEnv, type EngineEnv } from "../helpers/engine-env.js";
import { execa } from "execa";
import { RUNTA_BIN, runtaBin } from "../helpers/cli.js";

let world: EngineEnv;
let home: string;
let port: number;

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const p = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return p;
}

function envFor(listen: string, dataDir = world.dataDir) {
  return {
    HOME: home,
    XDG_CONFIG_HOME: undefined,
    RUNTA_ENDPOINT: undefined,
    RUNTA_TOKEN: undefined,
    RUNTA_DATA_DIR: dataDir,
    RUNTA_LISTEN: listen,
    RUNTA_RUNC_ROOT: world.runcRoot,
    RUNTA_CGROUP_PARENT: world.cgroupParent,
    RUNTA_IMAGES_DIR: world.imagesDir,
  };
}
const runta = (args: string[]) => runtaBin(args, { env: envFor(`127.0.0.1:${port}`) });

function daemonPid(dataDir = world.dataDir): number | undefined {
  for (const f of ["daemon.pid", "daemon.json"]) {
    try {
      const text = readFileSync(join(dataDir, f), "utf8");
      const pid = f.endsWith(".json") ? (JSON.parse(text) as { pid: number }).pid : Number.parseInt(text, 10);
      process.kill(pid, 0);
      return pid;
    } catch {
      // not there or not alive
    }
  }
  return undefined;
}

beforeAll(async () => {
  world = await makeEngineEnv();
  await busyboxImage(world.imagesDir);
  home = mkdtempSync(join(tmpdir(), "runta-e2e-embedded-home-"));
  port = await freePort();
});

afterAll(async () => {
  const pid = daemonPid();
  if (pid !== undefined) {
    process.kill(pid, "SIGTERM");
    for (let i = 0; i < 100 && daemonPid() !== undefined; i++) await new Promise((r) => setTimeout(r, 100));
  }
  const left = await world.leaks();
  await world.cleanup();
  rmSync(home, { recursive: true, force: true });
  expect(left).toEqual([]);
});

test("version with no daemon reports the server as unavailable and starts nothing", async () => {
  const r = await runta(["version"]);
  expect(r.exitCode).toBe(0);
  expect(String(r.stdout)).toMatch(/Server:\n  unavailable: .*127\.0\.0\.1:\d+/);
  expect(daemonPid()).toBeUndefined();
});

test("the first command starts the local daemon in the background and goes on", async () => {
  const r = await runta(["ps"]);
  expect(r.exitCode, String(r.stderr)).toBe(0);
  expect(r.stdout).toBe("RUNTIME ID\tNAME\tIMAGE\tSTATUS\tCPUS\tMEMORY\tDISK\tCREATED\n");
  const pid = daemonPid();
  expect(pid).toBeGreaterThan(0);
  expect(existsSync(join(world.dataDir, "daemon.log"))).toBe(true);
  expect(existsSync(join(world.dataDir, "token"))).toBe(true);
  expect(readFileSync(join(world.dataDir, "daemon.pid"), "utf8").trim()).toBe(String(pid));
});

test("later commands use it: run, exec, rm; status shows endpoint, pid and version", async () => {
  const run = await runta(["run", "--image", "busybox", "--memory", "64", "--name", "emb"]);
  expect(run.exitCode, String(run.stderr)).toBe(0);
  const exec = await runta(["exec", "emb", "--", "echo", "inside"]);
  expect(exec.stdout).toBe("inside\n");
  expect((await runta(["rm", "emb"])).stdout).toBe("emb\n");
  const st = await runta(["daemon", "status", "--json"]);
  expect(st.exitCode).toBe(0);
  expect(JSON.parse(String(st.stdout))).toMatchObject({ running: true, endpoint: `http://127.0.0.1:${port}`, pid: daemonPid(), version: expect.any(String) });
});

test("daemon stop ends it; status then says not running (exit 1); daemon start brings it back", async () => {
  const pid = daemonPid()!;
  const stop = await runta(["daemon", "stop"]);
  expect(stop.exitCode, String(stop.stderr)).toBe(0);
  expect(stop.stdout).toBe(`runta daemon stopped (pid ${pid})\n`);
  expect(daemonPid()).toBeUndefined();
  const st = await runta(["daemon", "status"]);
  expect(st.exitCode).toBe(1);
  expect(String(st.stdout)).toContain("status:   not running");
  expect(String(st.stderr)).toContain("start it with runta daemon start");

  const start = await runta(["daemon", "start"]);
  expect(start.exitCode, String(start.stderr)).toBe(0);
  expect(String(start.stdout)).toMatch(new RegExp(`^runta daemon started at http://127\\.0\\.0\\.1:${port} \\(pid \\d+, log .*daemon\\.log\\)\\n$`));
  expect((await runta(["daemon", "start"])).stdout).toBe(`runta daemon already running at http://127.0.0.1:${port}\n`);
  expect((await runta(["daemon", "stop"])).exitCode).toBe(0);
  expect((await runta(["daemon", "stop"])).stdout).toBe("runta daemon is not running\n");
});

test("a pid file naming a zombie, or daemon.json naming another process, is not taken for the daemon: one starts at once", async () => {
  // A zombie: bash forks a child that exits after bash has exec'd sleep, which never reaps it. kill(pid, 0) succeeds on it.
  const holder = execa("bash", ["-c", "sleep 0.2 & echo $!; exec sleep 60"], { reject: false });
  const zombie = await new Promise<number>((r) => holder.stdout!.once("data", (d: Buffer) => r(Number.parseInt(d.toString(), 10))));
  for (let i = 0; i < 100 && !/\) Z /.test(readFileSync(`/proc/${zombie}/stat`, "utf8")); i++) await new Promise((r) => setTimeout(r, 20));
  expect(readFileSync(`/proc/${zombie}/stat`, "utf8")).toMatch(/\) Z /);
  // After a reboot daemon.json's pid may be anyone: the start time it recorded (in the last boot's clock) tells.
  const stranger = execa("sleep", ["60"], { reject: false });
  try {
    writeFileSync(join(world.dataDir, "daemon.pid"), `${zombie}\n`);
    writeFileSync(join(world.dataDir, "daemon.json"), JSON.stringify({ pid: stranger.pid, start_time: 1, endpoint: `http://127.0.0.1:${port}` }));
    const t0 = Date.now();
    const r = await runta(["ps"]);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(daemonPid()).not.toBe(zombie);
    expect(daemonPid()).not.toBe(stranger.pid);
  } finally {
    holder.kill("SIGKILL");
    stranger.kill("SIGKILL");
  }
});

test("a daemon that hangs is reported in under 2 s with what to do", async () => {
  const pid = daemonPid()!;
  process.kill(pid, "SIGSTOP");
  try {
    const t0 = Date.now();
    const r = await runta(["ps"]);
    const ms = Date.now() - t0;
    expect(r.exitCode).toBe(1);
    expect(String(r.stderr)).toBe(
      `runta: the runta daemon (pid ${pid}) is running but does not answer at http://127.0.0.1:${port} (from the local daemon default) — see its log ${join(world.dataDir, "daemon.log")}; ` +
        `restart it: runta daemon stop (kill -9 ${pid} if that hangs), then runta daemon start\n`,
    );
    expect(ms).toBeLessThan(2000);
  } finally {
    process.kill(pid, "SIGCONT");
  }
  expect((await runta(["ps", "-q"])).exitCode).toBe(0);
  expect((await runta(["daemon", "stop"])).exitCode).toBe(0);
});

test("a daemon that cannot start is reported in one line with the reason and its log path", async () => {
  // Something that is not a runta daemon holds the port: ping fails, the spawned daemon hits EADDRINUSE.
  const squatter: Server = createServer((s) => s.destroy());
  await new Promise<void>((r) => squatter.listen(0, "127.0.0.1", r));
  const busy = (squatter.address() as { port: number }).port;
  const dataDir = mkdtempSync(join(tmpdir(), "runta-e2e-embedded-busy-"));
  try {
    const r = await runtaBin(["ps"], { env: envFor(`127.0.0.1:${busy}`, dataDir) });
    expect(r.exitCode).toBe(1);
    const err = String(r.stderr);
    expect(err.trim().split("\n")).toHaveLength(1);
    expect(err).toContain("the runta daemon did not start (");
    expect(err).toContain("already in use");
    expect(err).toContain(`see its log: ${join(dataDir, "daemon.log")}`);
    expect(daemonPid(dataDir)).toBeUndefined();
  } finally {
    await new Promise((r) => squatter.close(r));
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test("daemon run serves in the foreground until SIGTERM, then exits 0", async () => {
  const fg = await freePort();
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...envFor(`127.0.0.1:${fg}`) })) if (v !== undefined) env[k] = v;
  const child = execa(process.execPath, [RUNTA_BIN, "daemon", "run", "--data-dir", world.dataDir, "--listen", `127.0.0.1:${fg}`], {
    env,
    extendEnv: false,
    reject: false,
  });
  try {
    await new Promise<void>((resolve, reject) => {
      let err = "";
      child.stderr!.on("data", (c: Buffer) => {
        err += c.toString();
        if (err.includes(`runta daemon listening on http://127.0.0.1:${fg}`)) resolve();
      });
      child.once("exit", () => reject(new Error(`daemon run exited early:\n${err}`)));
    });
    // Nothing configured: the CLI finds the foreground daemon at the local default and reads its token file.
    const ps = await runtaBin(["ps", "-a", "-q"], { env: envFor(`127.0.0.1:${fg}`) });
    expect(ps.exitCode, String(ps.stderr)).toBe(0);
    expect(ps.stdout).toBe("");
  } finally {
    child.kill("SIGTERM");
  }
  expect((await child).exitCode).toBe(0);
});

test("daemon run with a non-loopback or malformed --listen is a usage error (exit 2) naming the fix", async () => {
  const wide = await runtaBin(["daemon", "run", "--data-dir", world.dataDir, "--listen", "0.0.0.0:0"], { env: envFor("127.0.0.1:1") });
  expect(wide.exitCode).toBe(2);
  expect(wide.stderr).toContain("pass --allow-remote");
  const bad = await runtaBin(["daemon", "run", "--data-dir", world.dataDir, "--listen", "nonsense"], { env: envFor("127.0.0.1:1") });
  expect(bad.exitCode).toBe(2);
  expect(bad.stderr).toMatch(/^runta: .*listen/m);
});
