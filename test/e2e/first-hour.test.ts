/**
 * What a Docker user reaches for in the first hour (issue 18), through the built `bin/runta` against a real daemon and
 * real runc (isolated as in test/helpers/daemon.ts, on the tiny busybox image). Needs `npm run build` first.
 */
import { availableParallelism, totalmem } from "node:os";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { leaks, startTestDaemon, type TestDaemon } from "../helpers/daemon.js";
import { runtaBin } from "../helpers/cli.js";

let d: TestDaemon;
let home: string;
const runta = (args: string[], env: Record<string, string | undefined> = {}) =>
  runtaBin(args, { env: { ...d.env, HOME: home, XDG_CONFIG_HOME: undefined, ...env } });
const inspect = async (rt: string) => JSON.parse(String((await runta(["inspect", rt])).stdout))[0];

beforeAll(async () => {
  home = mkdtempSync(join(tmpdir(), "runta-e2e-first-hour-"));
  d = await startTestDaemon();
});

afterAll(async () => {
  try {
    await d?.cleanup();
    if (d) expect(await leaks(d)).toEqual([]);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

describe("resources", () => {
  test("--memory takes docker's sizes, -m is its short form; resize too", async () => {
    const r = await runta(["run", "--name", "sized", "--image", "busybox", "-m", "96m", "--cpus", "0.5"]);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect((await inspect("sized")).resources.requests).toEqual({ vcpus: 0.5, memory_mib: 96 });
    const up = await runta(["resize", "-m", "0.125g", "sized"]);
    expect(up.stdout, String(up.stderr)).toBe("sized: memory 128 MiB, cpus 0.5\n");
  });

  test("more cores or memory than the host has is a usage error (exit 2) naming the flag, for run and resize", async () => {
    const cores = availableParallelism();
    const cpus = await runta(["run", "--name", "big", "--image", "busybox", "--cpus", String(cores + 1)]);
    expect(cpus.exitCode).toBe(2);
    expect(cpus.stderr).toBe(`runta: --cpus ${cores + 1} is more than this host's ${cores} cores — use at most --cpus ${cores}\n`);
    const hostMib = Math.floor(totalmem() / 2 ** 20);
    const mem = await runta(["resize", "--memory", `${Math.ceil(hostMib / 1024) + 1}g`, "sized"]);
    expect(mem.exitCode).toBe(2);
    expect(String(mem.stderr)).toMatch(/^runta: --memory \d+m is more than this host's memory \(\d+ MiB\) — use at most --memory \d+m\n$/);
    expect((await runta(["ps", "-a", "-q", "--filter", "name=big"])).stdout).toBe("");
  });
});

describe("-e NAME takes the caller's value (docker's rule), for run and exec", () => {
  test("run -e and exec -e", async () => {
    const env = { FROM_SHELL: "shell value", ALSO: "x y" };
    const r = await runta(["run", "--name", "envy", "--image", "busybox", "-m", "64", "-e", "FROM_SHELL"], env);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const out = await runta(["exec", "-e", "ALSO", "envy", "--", "sh", "-c", 'echo "$FROM_SHELL|$ALSO"'], env);
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
