/**
 * A buffered exec whose client goes away (Ctrl-C on `runta exec`) is killed with its process group, through the
 * real daemon and runc, instead of running unattended until its timeout.
 */
import { beforeAll, expect, test } from "vitest";
import { daemonSuite } from "../helpers/daemon-suite.js";
import type { Runtime } from "../../src/client/index.js";

const d = daemonSuite().daemon;
let rt: Runtime;

beforeAll(async () => {
  rt = await d.client().runtimes.create("abort-a", { image: "busybox", memoryMiB: 64 });
});

const sleepers = async () => (await rt.exec(["sh", "-c", "ps -o args | grep -c '^sleep 31[3]'"])).stdoutText.trim();

test("a client that disconnects mid-exec takes the command and its background children with it", async () => {
  const abort = new AbortController();
  const pending = fetch(`${d.endpoint}/v1/runtimes/abort-a/exec`, {
    method: "POST",
    headers: { Authorization: `Bearer ${d.token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ command: "sleep 313 & sleep 313", timeout_secs: 600 }),
    signal: abort.signal,
  });
  const deadline = Date.now() + 10_000;
  while ((await sleepers()) !== "2") {
    if (Date.now() > deadline) throw new Error("the exec did not start");
    await new Promise((r) => setTimeout(r, 50));
  }
  abort.abort();
  await expect(pending).rejects.toThrow();
  const gone = Date.now() + 5_000;
  while ((await sleepers()) !== "0") {
    if (Date.now() > gone) throw new Error("the aborted exec's processes are still running");
    await new Promise((r) => setTimeout(r, 50));
  }
  // The runtime itself is unharmed.
  expect((await rt.exec(["echo", "ok"])).stdoutText).toBe("ok\n");
});

test("Ctrl-C on the built `runta exec` ends it with 130 and the daemon kills the command", async () => {
  const { execa } = await import("execa");
  const { RUNTA_BIN } = await import("../helpers/cli.js");
  const cli = execa(process.execPath, [RUNTA_BIN, "exec", "abort-a", "--", "sh", "-c", "sleep 313 & sleep 313"], {
    env: { ...d.env, NO_COLOR: "1" },
    reject: false,
  });
  const deadline = Date.now() + 10_000;
  while ((await sleepers()) !== "2") {
    if (Date.now() > deadline) throw new Error("the exec did not start");
    await new Promise((r) => setTimeout(r, 50));
  }
  cli.kill("SIGINT");
  const r = await cli;
  expect(r.signal ?? r.exitCode).toSatisfy((v: unknown) => v === "SIGINT" || v === 130);
  expect(r.stderr).toContain("runta: interrupted — the command in abort-a is killed with its children");
  const gone = Date.now() + 5_000;
  while ((await sleepers()) !== "0") {
    if (Date.now() > gone) throw new Error("the interrupted exec's processes are still running");
    await new Promise((r) => setTimeout(r, 50));
  }
});
