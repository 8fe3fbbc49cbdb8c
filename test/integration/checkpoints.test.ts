/**
 * Checkpoints through the real daemon, runc and the SDK: a file written, a checkpoint, a fork that sees it while the
 * source changes independently (deletions included), 5 forks at once, forks of forks, a checkpoint outliving its
 * source, removal refused while runtimes stand on it, live checkpoints refused plainly where CRIU cannot work, and a
 * daemon killed in the middle of a checkpoint (the checkpoint ends `error`, the source runs again).
 */
import { execFile } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, expect, test } from "vitest";
import type { Runta } from "../../src/client/index.js";
import { daemonSuite } from "../helpers/daemon-suite.js";

const execFileAsync = promisify(execFile);
const d = daemonSuite().daemon;
let runta: Runta;

beforeAll(async () => {
  runta = d.client();
});

async function sh(rt: string, line: string): Promise<string> {
  const r = await runta.runtimes.exec(rt, ["sh", "-c", line]);
  return (r.stdout + r.stderr).trim();
}

async function runcStatus(id: string): Promise<string> {
  const { stdout } = await execFileAsync("runc", ["--root", d.runcRoot, "state", id]);
  return (JSON.parse(stdout) as { status: string }).status;
}

test("a fork sees the checkpointed files while source and fork change independently", async () => {
  const src = await runta.runtimes.create("golden", { image: "busybox", memoryMiB: 64 });
  await sh("golden", "echo prepared > /prepared && rm /bin/vi && mkdir -p /opt/dir && echo x > /opt/dir/f && rm -r /opt/dir && mkdir /opt/dir && echo y > /opt/dir/g");
  const cp = await src.checkpoint("golden-v1");
  expect(cp).toMatchObject({ display_name: "golden-v1", state: "ready", kind: "full", source_runtime: "golden", image: "busybox", parent: null, in_use_by: [] });
  expect(cp.size_bytes).toBeGreaterThan(0);
  // The source was running before and runs again.
  expect((await runta.runtimes.get("golden")).info.status).toBe("running");
  expect(await runcStatus(src.id)).toBe("running");

  const fork = await runta.checkpoints.restore("golden-v1", "fork-1", { memoryMiB: 64 });
  expect(fork.info).toMatchObject({ status: "running", image: "busybox", checkpoint: "golden-v1" });
  expect(await sh("fork-1", "cat /prepared; ls /bin/vi 2>&1 >/dev/null | wc -l; ls /opt/dir")).toBe("prepared\n1\ng");
  await sh("golden", "echo changed > /prepared && echo only-source > /s");
  await sh("fork-1", "echo only-fork > /f");
  expect(await sh("fork-1", "cat /prepared; ls /s 2>/dev/null | wc -l")).toBe("prepared\n0");
  expect(await sh("golden", "cat /prepared; ls /f 2>/dev/null | wc -l")).toBe("changed\n0");
  expect((await runta.checkpoints.get("golden-v1")).in_use_by).toEqual(["fork-1"]);
}, 120_000);

test("5 forks from one checkpoint at once, each on its own writable layer", async () => {
  const started = Date.now();
  const forks = await Promise.all([1, 2, 3, 4, 5].map((i) => runta.checkpoints.restore("golden-v1", `par-${i}`, { memoryMiB: 64 })));
  const elapsed = Date.now() - started;
  expect(forks.map((f) => f.info.status)).toEqual(Array(5).fill("running"));
  await Promise.all(forks.map((f, i) => f.exec(`echo ${i} > /mine`)));
  for (const [i, f] of forks.entries()) expect((await f.exec("cat /prepared /mine")).stdout).toBe(`prepared\n${i}\n`);
  expect(elapsed).toBeLessThan(30_000);
  for (const f of forks) await f.delete();
}, 120_000);

test("removal is refused while runtimes stand on a checkpoint; a checkpoint outlives its source; forks of forks stack", async () => {
  await expect(runta.checkpoints.remove("golden-v1")).rejects.toMatchObject({ code: "failed_precondition", message: expect.stringContaining("fork-1") });
  await expect(runta.runtimes.checkpoint("golden", "golden-v1")).rejects.toMatchObject({ code: "already_exists" });
  // A checkpoint of the fork stands on golden-v1 too.
  await runta.runtimes.checkpoint("fork-1", "fork-1-v1");
  expect((await runta.checkpoints.get("fork-1-v1")).parent).toBe("golden-v1");
  await runta.runtimes.delete("fork-1");
  await runta.runtimes.delete("golden");
  const grandchild = await runta.checkpoints.restore("fork-1-v1", "grandchild", { memoryMiB: 64 });
  expect(await sh("grandchild", "cat /prepared /f")).toBe("prepared\nonly-fork");
  await expect(runta.checkpoints.remove("golden-v1")).rejects.toMatchObject({ code: "failed_precondition", message: expect.stringMatching(/grandchild|fork-1-v1/) });
  await expect(runta.images.remove("busybox")).rejects.toMatchObject({ code: "failed_precondition" });
  await grandchild.delete();
  expect((await runta.checkpoints.remove("fork-1-v1")).display_name).toBe("fork-1-v1");
  await runta.checkpoints.remove("golden-v1");
  expect(await runta.checkpoints.list()).toEqual([]);
  expect(readdirSync(join(d.dataDir, "checkpoints"))).toEqual([]);
  await expect(runta.checkpoints.restore("golden-v1", "x")).rejects.toMatchObject({ code: "not_found" });
}, 120_000);

test("paused and shut-down runtimes are checkpointed as they are; live checkpoints say why they cannot be taken here", async () => {
  const rt = await runta.runtimes.create("states", { image: "busybox", memoryMiB: 64 });
  await rt.exec("echo paused > /state");
  await rt.pause();
  await rt.checkpoint("while-paused");
  expect(await runcStatus(rt.id)).toBe("paused");
  await rt.resume();
  await rt.stop();
  await rt.checkpoint("while-down");
  expect((await runta.runtimes.get("states")).info.status).toBe("shutdown");
  await rt.start();
  const err = await rt.checkpoint("live", { kind: "live" }).then(
    () => null,
    (e: { code: string; status: number; message: string }) => e,
  );
  // This host's CRIU cannot work (or is absent): the answer says so, and no checkpoint is left behind.
  expect(err).toMatchObject({ code: "unavailable", status: 501, message: expect.stringMatching(/live checkpoints .*(CRIU|criu).*--kind full/) });
  expect((await runta.checkpoints.list()).map((c) => c.display_name)).toEqual(["while-paused", "while-down"]);
  await rt.delete();
  for (const c of ["while-paused", "while-down"]) await runta.checkpoints.remove(c);
}, 120_000);

test("a daemon killed during a checkpoint: after restart the checkpoint is error (not half-ready) and the source runs", async () => {
  const rt = await runta.runtimes.create("big", { image: "busybox", memoryMiB: 64 });
  await rt.exec("dd if=/dev/urandom of=/big bs=1M count=600 2>/dev/null", { timeoutSecs: 120 });
  const pending = rt.checkpoint("interrupted").catch((e: Error) => e);
  // Kill the daemon once the copy is under way (the checkpoint's directory exists and the source is frozen).
  const dir = join(d.dataDir, "checkpoints");
  for (let i = 0; i < 400 && !(existsSync(dir) && readdirSync(dir).length && (await runcStatus(rt.id)) === "paused"); i++) await new Promise((r) => setTimeout(r, 25));
  expect(await runcStatus(rt.id)).toBe("paused");
  await d.kill();
  expect(await pending).toBeInstanceOf(Error);
  await d.restart();
  runta = d.client();
  const [cp] = await runta.checkpoints.list();
  expect(cp).toMatchObject({ display_name: "interrupted", state: "error", error: expect.stringContaining("daemon stopped") });
  expect(await runcStatus(rt.id)).toBe("running");
  expect((await runta.runtimes.get("big")).info.status).toBe("running");
  expect(existsSync(join(dir, cp!.id, "layer"))).toBe(false);
  await expect(runta.checkpoints.restore("interrupted", "nope")).rejects.toMatchObject({ code: "failed_precondition" });
  await runta.checkpoints.remove("interrupted");
  await runta.runtimes.delete("big");
}, 180_000);
