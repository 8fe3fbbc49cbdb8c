import { spawn } from "node:child_process";
import { expect, test } from "vitest";
import { killGroup, pidAlive, procStart, procStatFields, signalName, signalNumber } from "../../src/engine/proc.js";

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
