/**
 * The exit code of a runtime's init (what `runta wait` prints), through the real daemon and runc: the init runs under
 * the reaper, which writes its status; 0 after a shutdown with a grace period, 137 without one or after a kill from
 * outside (crashed), also when it died while the daemon was down; a boot clears it. An init with no reaper (booted by
 * a daemon from before it) is 137 when the daemon killed it, else unknown, which `runta wait` says instead of a code.
 */
import { execFile } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, expect, test } from "vitest";
import type { Runta } from "../../src/client/index.js";
import { runtaBin } from "../helpers/cli.js";
import { daemonSuite } from "../helpers/daemon-suite.js";

const execFileAsync = promisify(execFile);
const d = daemonSuite().daemon;
let runta: Runta;

beforeAll(async () => {
  runta = d.client();
});

/** The init's host pid, as runc knows it. */
async function initPid(id: string): Promise<number> {
  const { stdout } = await execFileAsync("runc", ["--root", d.runcRoot, "state", id]);
  return (JSON.parse(stdout) as { pid: number }).pid;
}

test("0 after a graceful shutdown, 137 without a grace period; null while running", async () => {
  const rt = await runta.runtimes.create("exits", { image: "busybox", memoryMiB: 64 });
  expect(rt.info.exit_code).toBeNull();
  expect((await runta.runtimes.stop("exits")).exit_code).toBe(0);
  expect((await runta.runtimes.start("exits")).exit_code).toBeNull();
  expect((await runta.runtimes.stop("exits", { graceSecs: 0 })).exit_code).toBe(137);
  await runta.runtimes.delete("exits");
}, 120_000);

test("an init killed from outside is crashed with 137, while the daemon runs and while it is down; the reaper outlives a daemon restart", async () => {
  const rt = await runta.runtimes.create("victim", { image: "busybox", memoryMiB: 64 });
  process.kill(await initPid(rt.id), "SIGKILL");
  await expect.poll(async () => (await runta.runtimes.get("victim")).info.status, { timeout: 10_000 }).toBe("crashed");
  expect((await runta.runtimes.get("victim")).info.exit_code).toBe(137);
  // Shutting a crashed runtime down keeps the code its crash left.
  expect((await runta.runtimes.stop("victim")).exit_code).toBe(137);

  await runta.runtimes.start("victim");
  await d.stop();
  process.kill(await initPid(rt.id), "SIGKILL");
  await d.restart();
  runta = d.client();
  expect((await runta.runtimes.get("victim")).info).toMatchObject({ status: "crashed", exit_code: 137 });

  // Started by one daemon, shut down through the next: the reaper was there all along.
  await runta.runtimes.start("victim");
  await d.restart();
  runta = d.client();
  expect((await runta.runtimes.stop("victim")).exit_code).toBe(0);
  await runta.runtimes.delete("victim");
}, 180_000);

/**
 * What a runtime booted by a daemon from before the reaper looks like: its init's parent is not a reaper (here: the
 * reaper is killed, so the init is adopted by the host's init) and there is no status file.
 */
async function withoutReaper(id: string): Promise<void> {
  const init = await initPid(id);
  const reaper = Number(readFileSync(`/proc/${init}/stat`, "utf8").replace(/^.*\) /, "").split(" ")[1]);
  expect(readFileSync(`/proc/${reaper}/cmdline`, "utf8")).toContain("perl");
  process.kill(reaper, "SIGKILL");
  await expect.poll(() => Number(readFileSync(`/proc/${init}/stat`, "utf8").replace(/^.*\) /, "").split(" ")[1]), { timeout: 10_000 }).not.toBe(reaper);
  rmSync(join(d.dataDir, "runtimes", id, "init.status"));
}

test("an init without a reaper: 137 when the daemon killed it, unknown after a graceful end, and runta wait says so", async () => {
  const rt = await runta.runtimes.create("legacy", { image: "busybox", memoryMiB: 64 });
  await withoutReaper(rt.id);
  expect((await runta.runtimes.get("legacy")).info.status).toBe("running");
  expect((await runta.runtimes.stop("legacy", { graceSecs: 0 })).exit_code).toBe(137);
  expect(String((await runtaBin(["wait", "legacy"], { env: d.env })).stdout)).toBe("137\n");

  await runta.runtimes.start("legacy");
  await withoutReaper(rt.id);
  expect((await runta.runtimes.stop("legacy")).exit_code).toBeNull();
  const wait = await runtaBin(["wait", "legacy"], { env: d.env });
  expect(wait.exitCode).toBe(1);
  expect(String(wait.stdout)).toBe("");
  expect(String(wait.stderr)).toContain("legacy: shutdown, but the exit code of its init is unknown");
  expect(String(wait.stderr)).toContain("runta start legacy");

  // Booted again by this daemon, under the reaper: known again.
  await runta.runtimes.start("legacy");
  expect((await runta.runtimes.stop("legacy")).exit_code).toBe(0);
  expect(String((await runtaBin(["wait", "legacy"], { env: d.env })).stdout)).toBe("0\n");
  await runta.runtimes.delete("legacy");
}, 180_000);
