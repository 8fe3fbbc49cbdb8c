/**
 * What a Docker user reaches for in the first hour (issue 18), through the built `bin/runta` against a real daemon and
 * real runc (isolated as in test/helpers/daemon.ts, on the tiny busybox image). Needs `npm run build` first.
 */
import { availableParallelism, totalmem } from "node:os";
import { beforeAll, describe, expect, test } from "vitest";
import { cliSuite } from "../helpers/cli-suite.js";

const { runta, inspect } = cliSuite();

describe("resources", () => {
  test("--memory takes docker's sizes, -m is its short form; resize too", async () => {
    const r = await runta(["run", "--name", "sized", "--image", "busybox", "-m", "96m", "--cpus", "0.5"]);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect((await inspect("sized")).resources.requests).toMatchObject({ vcpus: 0.5, memory_mib: 96 });
    const up = await runta(["resize", "-m", "0.125g", "sized"]);
    expect(up.stdout, String(up.stderr)).toBe("sized: memory 128 MiB, cpus 0.5\n");
  });

  test("more cores or memory than the host has is a usage error (exit 2) naming the flag, for run and resize", async () => {
    const cores = availableParallelism();
    const cpus = await runta(["run", "--name", "big", "--image", "busybox", "--cpus", String(cores + 1)]);
    expect(cpus.exitCode).toBe(2);
    expect(cpus.stderr).toBe(`runta: --cpus ${cores + 1} is more than this host's ${cores} cores — use at most --cpus ${cores}\n`);
    const hostMib = Math.floor(totalmem() / 2 ** 20);
    const typed = `${Math.ceil(hostMib / 1024) + 1}g`;
    const mem = await runta(["resize", "--memory", typed, "sized"]);
    expect(mem.exitCode).toBe(2);
    // What the user typed (100g), not the MiB it came to.
    expect(String(mem.stderr)).toMatch(new RegExp(`^runta: --memory ${typed} is more than this host's memory \\(\\d+ MiB\\) — use at most --memory \\d+[mg]\n$`));
    expect((await runta(["ps", "-a", "-q", "--filter", "name=big"])).stdout).toBe("");
  });
});

describe("-e NAME takes the caller's value (docker's rule), for run and exec", () => {
  test("run -e and exec -e", async () => {
    const env = { FROM_SHELL: "shell value", ALSO: "x y" };
    const r = await runta(["run", "--name", "envy", "--image", "busybox", "-m", "64", "-e", "FROM_SHELL"], { env });
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const out = await runta(["exec", "-e", "ALSO", "envy", "--", "sh", "-c", 'echo "$FROM_SHELL|$ALSO"'], { env });
    expect(out.stdout, String(out.stderr)).toBe("shell value|x y\n");
  });

  test("an unset NAME is a usage error naming it", async () => {
    for (const args of [["run", "--image", "busybox", "-e", "NOT_SET_HERE"], ["exec", "-e", "NOT_SET_HERE", "envy", "--", "true"]]) {
      const r = await runta(args, { NOT_SET_HERE: undefined });
      expect(r.exitCode, args[0]).toBe(2);
      expect(String(r.stderr), args[0]).toMatch(/^runta: -e .*NOT_SET_HERE.*\n$/);
    }
  });
});

describe("hints that point the right way", () => {
  test("rmi names image rm, not rm; run with docker's positional image points at --image and exec -it", async () => {
    const rmi = await runta(["rmi", "busybox"]);
    expect(rmi.exitCode).toBe(2);
    expect(rmi.stderr).toBe("runta: unknown command 'rmi' — runta calls it image rm: see runta image rm --help\n");
    const run = await runta(["run", "busybox"]);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toBe("runta: run takes no arguments (got busybox) — choose the image with --image <image>; run a command with runta exec -it <runtime> -- <command>\n");
  });

  test("an unknown option when -- is there is not told to move the command after --", async () => {
    const r = await runta(["exec", "--bogus", "envy", "--", "true"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toBe("runta: unknown option '--bogus' — see runta exec --help\n");
  });

  test("ps -q in a pipe prints full ids (usable by xargs)", async () => {
    const ids = String((await runta(["ps", "-q"])).stdout).trim().split("\n");
    expect(ids.length).toBeGreaterThan(0);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe("new verbs", () => {
  beforeAll(async () => {
    for (const [name, team] of [["worker", "a"], ["worker2", "b"]] as const) {
      const r = await runta(["run", "--name", name, "--image", "busybox", "-m", "64m", "--label", `team=${team}`]);
      expect(r.exitCode, String(r.stderr)).toBe(0);
    }
  });

  test("ps -f name=^worker$ is exact; -f label=k=v and label=k filter; --labels adds the column", async () => {
    const names = async (...args: string[]) =>
      JSON.parse(String((await runta(["ps", "--json", ...args])).stdout)).runtimes.map((r: { name: string }) => r.name).sort();
    expect(await names("-f", "name=worker")).toEqual(["worker", "worker2"]);
    expect(await names("-f", "name=^worker$")).toEqual(["worker"]);
    expect(await names("-f", "name=2$")).toEqual(["worker2"]);
    expect(await names("-f", "label=team=b")).toEqual(["worker2"]);
    expect(await names("-f", "label=team")).toEqual(["worker", "worker2"]);
    expect(await names("-f", "label=team=a", "-f", "name=worker2")).toEqual([]);
    const table = String((await runta(["ps", "--labels", "-f", "name=^worker$"])).stdout).trim().split("\n");
    expect(table[0]).toMatch(/^RUNTIME ID\tNAME\t.*\tCREATED\tLABELS$/);
    expect(table[1]).toMatch(/\tworker\t.*\tteam=a$/);
  });

  test("stats --no-stream and --json: CPU %, memory used / limit, network and disk I/O, pids of the running runtimes", async () => {
    expect((await runta(["exec", "worker", "--", "sh", "-c", "dd if=/dev/zero of=/written bs=1M count=5 2>/dev/null && sync"])).exitCode).toBe(0);
    const r = await runta(["stats", "--no-stream", "worker"]);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const [header, row] = String(r.stdout).trim().split("\n");
    expect(header).toBe("RUNTIME ID\tNAME\tCPU %\tMEM USAGE / LIMIT\tMEM %\tNET I/O\tBLOCK I/O\tPIDS");
    const bytes = String.raw`[\d.]+[kMG]?B`;
    // Memory in binary units, I/O in decimal ones, as docker stats shows them. BLOCK I/O: the 5 MiB (5.24MB) and ext4's journal.
    expect(row).toMatch(new RegExp(String.raw`^[0-9a-f-]{36}\tworker\t\d+\.\d\d%\t[\d.]+(Ki|Mi)?B / 64\.0MiB\t\d+\.\d\d%\t${bytes} / ${bytes}\t${bytes} / [5-9]\.\d\dMB\t\d+$`));
    const j = JSON.parse(String((await runta(["stats", "--json"])).stdout));
    expect(Object.keys(j)).toEqual(["stats"]);
    const worker = j.stats.find((s: { name: string }) => s.name === "worker");
    expect(worker).toMatchObject({ memory_limit_bytes: 64 * 2 ** 20, pids: expect.any(Number), cpu_percent: expect.any(Number) });
    expect(worker.pids).toBeGreaterThan(0);
    expect(worker.memory_bytes).toBeGreaterThan(0);
    expect(worker.disk_write_bytes).toBeGreaterThanOrEqual(5 * 2 ** 20);
    expect(worker).toMatchObject({ net_rx_bytes: expect.any(Number), net_tx_bytes: expect.any(Number), disk_read_bytes: expect.any(Number) });
  });

  test("restart shuts down and boots again; shutdown -t takes a grace period (bounded, a usage error beyond)", async () => {
    const before = await inspect("worker");
    const r = await runta(["restart", "-t", "0", "worker"]);
    expect(r.stdout, String(r.stderr)).toBe("worker\n");
    const after = await inspect("worker");
    expect(after.status).toBe("running");
    expect(after.started_at).not.toBe(before.started_at);
    const bad = await runta(["shutdown", "-t", "99999", "worker"]);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toBe('runta: --time must be a whole number of seconds between 0 and 3600, got "99999"\n');
  });

  test("shutdown -t gives a process that ignores SIGTERM that long before SIGKILL; -t 0 does not wait", async () => {
    // setsid: out of the exec's process group, so the process outlives the exec; it ignores SIGTERM and keeps running.
    const stubborn = "setsid sh -c 'trap \"\" TERM; while :; do sleep 1; done' >/dev/null 2>&1 </dev/null &";
    for (const [grace, min, max] of [[3, 2800, 8000], [0, 0, 2500]] as const) {
      expect((await runta(["exec", "worker", "--", "sh", "-c", stubborn])).exitCode).toBe(0);
      const t0 = Date.now();
      const r = await runta(["shutdown", "-t", String(grace), "worker"]);
      const ms = Date.now() - t0;
      expect(r.stdout, String(r.stderr)).toBe("worker\n");
      expect(ms, `-t ${grace}`).toBeGreaterThanOrEqual(min);
      expect(ms, `-t ${grace}`).toBeLessThan(max);
      expect((await runta(["boot", "worker"])).exitCode).toBe(0);
    }
  });

  test("wait blocks until the runtime is shut down, then prints its init's exit code like docker wait (0 after a graceful shutdown) and exits with it", async () => {
    const waiting = runta(["wait", "worker2"]);
    let done = false;
    void waiting.then(() => (done = true));
    await new Promise((r) => setTimeout(r, 1500));
    expect(done).toBe(false);
    const t0 = Date.now();
    expect((await runta(["shutdown", "-t", "1", "worker2"])).exitCode).toBe(0);
    const w = await waiting;
    expect(w.exitCode, String(w.stderr)).toBe(0);
    expect(w.stdout).toBe("0\n");
    expect(Date.now() - t0).toBeLessThan(5000);
    expect((await runta(["wait", "worker2"])).stdout).toBe("0\n"); // already shut down: at once
    // Without a grace period the init is killed: 137, and wait exits with it.
    expect((await runta(["boot", "worker2"])).exitCode).toBe(0);
    expect((await runta(["shutdown", "-t", "0", "worker2"])).exitCode).toBe(0);
    const killed = await runta(["wait", "worker2"]);
    expect([killed.exitCode, killed.stdout]).toEqual([137, "137\n"]);
    expect((await inspect("worker2")).exit_code).toBe(137);
  });

  test("rename keeps the id and the running processes; the old name is free, a taken one is refused", async () => {
    const before = await inspect("worker");
    const r = await runta(["rename", "worker", "worker-renamed"]);
    expect(r.stdout, String(r.stderr)).toBe("worker-renamed\n");
    const after = await inspect("worker-renamed");
    expect(after).toMatchObject({ id: before.id, status: "running", started_at: before.started_at });
    expect((await runta(["exec", "worker-renamed", "--", "true"])).exitCode).toBe(0);
    expect((await runta(["inspect", "worker"])).exitCode).toBe(1);
    const taken = await runta(["rename", "worker-renamed", "worker2"]);
    expect(taken.exitCode).toBe(1);
    expect(String(taken.stderr)).toContain('a runtime named "worker2" already exists');
  });
});
