/**
 * The engine's count and concurrency limits against real runc: runtimes per daemon, buffered execs per daemon and per
 * runtime. The engine is opened with small overrides of the LIMITS values so the test stays cheap.
 */
import { afterAll, beforeAll, expect, test } from "vitest";
import { RuntaError } from "../../src/api/index.js";
import type { RuncEngine } from "../../src/engine/runc-engine.js";
import { engineSuite } from "../helpers/engine-env.js";

const suite = engineSuite({
  limits: { runtimesMax: 2, execBufferedMaxConcurrent: 3, execBufferedMaxConcurrentPerRuntime: 2, execBufferedOutputBudgetBytes: 6 * 1024 * 1024 },
});
let engine: RuncEngine;
beforeAll(() => void ({ engine } = suite));

afterAll(async () => {
  for (const name of ["a", "b"]) await engine?.delete(name).catch(() => undefined);
});

async function refusal(p: Promise<unknown>): Promise<RuntaError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RuntaError);
  return err as RuntaError;
}

test("runtimes beyond the daemon's limit are resource_exhausted (429) and leave nothing behind; a delete frees a slot", async () => {
  await engine.create({ name: "a", image: "busybox", memoryMib: 32 });
  await engine.create({ name: "b", image: "busybox", memoryMib: 32 });
  const err = await refusal(engine.create({ name: "c", image: "busybox", memoryMib: 32 }));
  expect(err.code).toBe("resource_exhausted");
  expect(err.httpStatus).toBe(429);
  expect(err.message).toMatch(/2 runtimes, its limit; remove some first/);
  expect((await engine.list()).items.map((r) => r.name)).toEqual(["a", "b"]);
  await engine.delete("b");
  await engine.create({ name: "b", image: "busybox", memoryMib: 32 });
});

test("buffered execs beyond the per-runtime and per-daemon limits are refused at once; finished ones free their slots", async () => {
  const slow = (rt: string) => engine.exec(rt, { argv: ["sleep", "1"] });
  const running = [slow("a"), slow("a")];
  // Let both reach the runc stage (admission happens once the runtime is found running).
  await new Promise((r) => setTimeout(r, 200));
  const perRuntime = await refusal(engine.exec("a", { argv: ["true"] }));
  expect(perRuntime.code).toBe("resource_exhausted");
  expect(perRuntime.message).toMatch(/in runtime "a" \(at most 2 at once\)/);
  running.push(slow("b"));
  await new Promise((r) => setTimeout(r, 200));
  const perDaemon = await refusal(engine.exec("b", { argv: ["true"] }));
  expect(perDaemon.code).toBe("resource_exhausted");
  expect(perDaemon.message).toMatch(/on this daemon \(at most 3 at once\)/);
  expect((await Promise.all(running)).map((r) => r.exit_code)).toEqual([0, 0, 0]);
  // A failing exec releases its slot too.
  for (let i = 0; i < 3; i++) expect((await engine.exec("a", { argv: ["no-such-command"] })).exit_code).toBe(127);
  const after = await Promise.all([slow("a"), slow("a"), slow("b")]);
  expect(after.map((r) => r.exit_code)).toEqual([0, 0, 0]);
});

test("a buffered exec whose output reservation does not fit the daemon's budget is refused with a retry hint (issue 21, item 1)", async () => {
  const MiB = 1024 * 1024;
  // 2 × 2 MiB reserved of the 6 MiB budget: another 2 MiB-cap exec does not fit, a 1 MiB-cap one does.
  const big = engine.exec("a", { argv: ["sleep", "1"], maxOutputBytes: 2 * MiB });
  await new Promise((r) => setTimeout(r, 200));
  const err = await refusal(engine.exec("b", { argv: ["true"], maxOutputBytes: 2 * MiB }));
  expect(err.code).toBe("resource_exhausted");
  expect(err.httpStatus).toBe(429);
  expect(err.details).toMatchObject({ output_budget_bytes: 6 * MiB, reserved_bytes: 4 * MiB, requested_bytes: 4 * MiB, retry_after_secs: 1 });
  expect(err.message).toMatch(/hold 4 of the daemon's 6 MiB of exec output/);
  expect((await engine.exec("b", { argv: ["true"], maxOutputBytes: MiB })).exit_code).toBe(0);
  expect((await big).exit_code).toBe(0);
  expect((await engine.exec("b", { argv: ["true"], maxOutputBytes: 2 * MiB })).exit_code).toBe(0);
});

test("a finished exec's output stays counted in the budget until its answer is sent (release), not until it exits (issue 21, item 1)", async () => {
  const MiB = 1024 * 1024;
  // Two finished execs whose output is still held (their answers not sent yet) reserve 2 × 2 × 1.5 MiB of the 6 MiB.
  const held = await Promise.all(["a", "b"].map((rt) => engine.execCaptured(rt, { argv: ["sh", "-c", "head -c 1000 /dev/zero"], maxOutputBytes: 1.5 * MiB })));
  expect(held.map((c) => c.stdout.length)).toEqual([1000, 1000]);
  const err = await refusal(engine.exec("a", { argv: ["true"], maxOutputBytes: MiB }));
  expect(err.details).toMatchObject({ reserved_bytes: 6 * MiB, requested_bytes: 2 * MiB });
  held[0]!.release();
  held[0]!.release(); // idempotent: a second release gives nothing back twice
  expect((await engine.exec("a", { argv: ["true"], maxOutputBytes: MiB })).exit_code).toBe(0);
  const again = await refusal(engine.exec("a", { argv: ["true"], maxOutputBytes: 2 * MiB }));
  expect(again.details).toMatchObject({ reserved_bytes: 3 * MiB });
  held[1]!.release();
  expect((await engine.exec("a", { argv: ["true"], maxOutputBytes: 2 * MiB })).exit_code).toBe(0);
});
