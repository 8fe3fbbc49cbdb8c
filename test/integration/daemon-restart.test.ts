/**
 * Runtimes are detached from the daemon: after a SIGKILL (a crash) or a SIGTERM (a clean stop) they keep running,
 * and the restarted daemon adopts them — status running, exec works, files are still there.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { expect, test } from "vitest";
import { daemonSuite } from "../helpers/daemon-suite.js";

const execFileAsync = promisify(execFile);
const d = daemonSuite().daemon;

async function runcStatus(id: string): Promise<string> {
  const { stdout } = await execFileAsync("runc", ["--root", d.runcRoot, "state", id]);
  return (JSON.parse(stdout) as { status: string }).status;
}

test("after SIGKILL the runtimes keep running and the restarted daemon adopts them", async () => {
  const runta = d.client();
  const a = await runta.runtimes.create("keep-a", { image: "busybox", memoryMiB: 64 });
  const b = await runta.runtimes.create("keep-b", { image: "busybox", memoryMiB: 64 });
  await a.exec("echo survived > /state");
  await b.pause();

  await d.kill();
  expect(existsSync(join(d.dataDir, "daemon.json"))).toBe(true); // a crash leaves it behind; the next start copes
  expect(await runcStatus(a.id)).toBe("running");
  expect(await runcStatus(b.id)).toBe("paused");

  await d.restart();
  const again = d.client();
  const a2 = await again.runtimes.get("keep-a");
  expect(a2.cachedInfo.status).toBe("running");
  expect(a2.id).toBe(a.id);
  expect((await a2.exec("cat /state")).stdoutText).toBe("survived\n");
  expect((await again.runtimes.get("keep-b")).cachedInfo.status).toBe("paused");
  expect((await again.runtimes.list()).map((r) => r.name).sort()).toEqual(["keep-a", "keep-b"]);
});

test("after SIGTERM the daemon exits 0, removes daemon.json, and the runtimes keep running", async () => {
  const runta = d.client();
  const a = await runta.runtimes.get("keep-a");
  expect(await d.stop("SIGTERM")).toBe(0);
  expect(existsSync(join(d.dataDir, "daemon.json"))).toBe(false);
  expect(await runcStatus(a.id)).toBe("running");
  expect(d.logs()).not.toContain(d.token);

  await d.restart();
  const a2 = await d.client().runtimes.get("keep-a");
  expect(a2.cachedInfo.status).toBe("running");
  expect((await a2.exec(["cat", "/state"])).stdoutText).toBe("survived\n");
});
