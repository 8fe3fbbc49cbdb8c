import { spawn } from "node:child_process";
import { expect, test } from "vitest";
import { AliveCache, killGroup, pidAlive, procStart, procStatFields, processEnding, signalName, signalNumber } from "../../src/engine/proc.js";

test("process facts come from /proc: this process is alive with a start time, a missing pid is not", () => {
  expect(pidAlive(process.pid)).toBe(true);
  expect(procStart(process.pid)).toBeGreaterThan(0);
  expect(procStatFields(2 ** 22 + 1)).toBeNull();
  expect(pidAlive(2 ** 22 + 1)).toBe(false);
  expect(procStart(2 ** 22 + 1)).toBeNull();
});

test("signal names and numbers round-trip without the SIG prefix", () => {
  expect(signalName(9)).toBe("KILL");
  expect(signalName(15)).toBe("TERM");
  expect(signalName(999)).toBeNull();
  expect(signalNumber("SIGINT")).toBe(2);
  expect(signalNumber(null)).toBe(0);
});

test("killGroup signals a whole process group and ignores one that is gone", async () => {
  const child = spawn("sh", ["-c", "sleep 30 & sleep 30"], { detached: true, stdio: "ignore" });
  await new Promise((r) => setTimeout(r, 100));
  const exited = new Promise((r) => child.once("exit", (_code, sig) => r(sig)));
  killGroup(child.pid!, "SIGKILL");
  expect(await exited).toBe("SIGKILL");
  expect(() => killGroup(child.pid!, "SIGKILL")).not.toThrow();
});

test("AliveCache (bulk liveness): a live process stays alive, a reaped one is dead at once, another start time is not it", async () => {
  const cache = new AliveCache(60_000);
  const child = spawn("sleep", ["30"], { stdio: "ignore" });
  await new Promise((r) => child.once("spawn", r));
  const pid = child.pid!;
  const start = procStart(pid);
  expect(cache.alive(pid, start)).toBe(true);
  expect(cache.alive(pid, start)).toBe(true); // from the cache: the probe still finds the pid
  // The recorded start time is part of the identity: the same pid with another start time is another process.
  expect(cache.alive(pid, (start ?? 0) + 1)).toBe(false);
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGKILL");
  await exited; // node reaped it: the pid no longer exists, so the probe fails even within the verify window
  expect(cache.alive(pid, start)).toBe(false);
  expect(cache.alive(null, null)).toBe(false);
});

test("processEnding: a running process is not, a missing one and a zombie are", async () => {
  expect(processEnding(process.pid)).toBe(false);
  expect(processEnding(2 ** 22 + 1)).toBe(true);
  expect(processEnding(null)).toBe(true);
  // `sleep 0` ends at once and its parent (exec'd into `sleep 5`) never reaps it: a zombie.
  const parent = spawn("sh", ["-c", "sleep 0 & echo $!; exec sleep 30"], { stdio: ["ignore", "pipe", "ignore"] });
  const zombie = Number(await new Promise<string>((r) => parent.stdout!.once("data", (d) => r(String(d)))));
  for (const t0 = Date.now(); procStatFields(zombie)?.[0] !== "Z" && Date.now() - t0 < 15_000; ) await new Promise((r) => setTimeout(r, 20));
  expect(procStatFields(zombie)?.[0]).toBe("Z");
  expect(processEnding(zombie)).toBe(true);
  expect(processEnding(parent.pid!)).toBe(false);
  parent.kill("SIGKILL");
}, 30_000);
