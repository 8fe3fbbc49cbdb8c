import { afterEach, expect, test } from "vitest";
import { LifetimeSweeper, shutdownAt } from "../../src/engine/lifetime.js";
import { silentLogger } from "../../src/log.js";
import type { RuntimeRecord } from "../../src/store/record.js";

const started = "2026-01-01T00:00:00.000Z";
type Rec = Pick<RuntimeRecord, "id" | "name" | "lifetimeSecs" | "startedAt" | "status">;
const rec = (over: Partial<Rec> = {}): Rec => ({ id: "a", name: "a", lifetimeSecs: 10, startedAt: started, status: "running", ...over });

test("shutdown_at is started_at + lifetime while running or paused, null otherwise", () => {
  expect(shutdownAt(rec())).toBe("2026-01-01T00:00:10.000Z");
  expect(shutdownAt(rec({ status: "paused" }))).toBe("2026-01-01T00:00:10.000Z");
  expect(shutdownAt(rec({ status: "shutdown" }))).toBeNull();
  expect(shutdownAt(rec({ lifetimeSecs: null }))).toBeNull();
  expect(shutdownAt(rec({ startedAt: null }))).toBeNull();
});

let sweeper: LifetimeSweeper | undefined;
afterEach(() => sweeper?.close());

test("a sweep stops only the runtimes whose lifetime is over, telling stop the start it judged by; a failed stop is retried next pass", async () => {
  const recs = [rec({ id: "over" }), rec({ id: "later", lifetimeSecs: 60 }), rec({ id: "fails" })] as RuntimeRecord[];
  const stops: Array<[string, string]> = [];
  let failOnce = true;
  sweeper = new LifetimeSweeper({ withLifetime: () => recs }, async (id, startedAt) => {
    stops.push([id, startedAt]);
    if (id === "fails" && failOnce) {
      failOnce = false;
      throw new Error("busy");
    }
  }, silentLogger);
  const t = Date.parse(started);
  await sweeper.sweep(t + 9_999);
  expect(stops).toEqual([]);
  await sweeper.sweep(t + 10_000);
  expect(stops).toEqual([["over", started], ["fails", started]]);
  await sweeper.sweep(t + 10_500);
  expect(stops.filter(([id]) => id === "fails")).toHaveLength(2);
  expect(stops.some(([id]) => id === "later")).toBe(false);
});
