/**
 * A client that gave up does not leave its operation queued behind a runtime's lifecycle lock: with a boot stuck in
 * `runc run` (a fake runc first on the daemon's PATH holds it until the test releases it), a `stop` whose client went
 * away meanwhile is not run when the boot finally ends; a `stop` whose client still waits is. (Pause was the stuck
 * operation until pause stopped calling runc: the daemon freezes the cgroup itself.)
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { daemonSuite } from "../helpers/daemon-suite.js";

const fakeDir = mkdtempSync(join(tmpdir(), "fake-runc-"));

const d = daemonSuite({
  before: () => {
    // Passes every call to the real runc, but holds a `runc run` while the "hang" file exists, until "release" appears.
    writeFileSync(
      join(fakeDir, "runc"),
      `#!/bin/sh\nfor a; do if [ "$a" = run ] && [ -e ${fakeDir}/hang ]; then while [ ! -e ${fakeDir}/release ]; do sleep 0.05; done; fi; done\nexec /usr/sbin/runc "$@"\n`,
    );
    chmodSync(join(fakeDir, "runc"), 0o755);
  },
  env: { PATH: `${fakeDir}:${process.env.PATH}` },
  after: () => rmSync(fakeDir, { recursive: true, force: true }),
}).daemon;

// Before the daemon's cleanup (hooks after run in reverse order): a boot still held would hold the cleanup too.
afterAll(() => writeFileSync(join(fakeDir, "release"), ""));

/** POST to a lifecycle route; `abortAfterMs` gives up on it (closes the connection) that long after sending. */
function post(path: string, abortAfterMs?: number): Promise<number | "gave up"> {
  const ac = new AbortController();
  if (abortAfterMs !== undefined) setTimeout(() => ac.abort(), abortAfterMs);
  return fetch(`${d.endpoint}${path}`, { method: "POST", headers: { Authorization: `Bearer ${d.token}` }, signal: ac.signal }).then(
    (r) => r.status,
    () => "gave up" as const,
  );
}

test("an operation whose client gave up while it waited for the lock is not run", async () => {
  const runta = d.client();
  const rt = await runta.runtimes.create("queued", { image: "busybox", memoryMiB: 64 });
  await runta.runtimes.stop(rt.id, { graceSecs: 0 });
  writeFileSync(join(fakeDir, "hang"), "");
  const boot = post(`/v1/runtimes/${rt.id}/start`);
  await new Promise((r) => setTimeout(r, 300));
  expect(await post(`/v1/runtimes/${rt.id}/stop`, 300)).toBe("gave up");
  writeFileSync(join(fakeDir, "release"), "");
  expect(await boot).toBe(200);
  // The boot is done; had the abandoned stop run after it, the runtime would be shut down again.
  await new Promise((r) => setTimeout(r, 500));
  expect((await runta.runtimes.get(rt.id)).record.status).toBe("running");

  // A caller still waiting is served in its turn (its runtime made while runc runs freely).
  const target = await runta.runtimes.create("queued2", { image: "busybox", memoryMiB: 64 });
  await runta.runtimes.stop(target.id, { graceSecs: 0 });
  rmSync(join(fakeDir, "release"));
  const boot2 = post(`/v1/runtimes/${target.id}/start`);
  await new Promise((r) => setTimeout(r, 300));
  const stop2 = post(`/v1/runtimes/${target.id}/stop`);
  writeFileSync(join(fakeDir, "release"), "");
  expect(await boot2).toBe(200);
  expect(await stop2).toBe(200);
  expect((await runta.runtimes.get(target.id)).record.status).toBe("shutdown");
  rmSync(join(fakeDir, "hang"));
});
