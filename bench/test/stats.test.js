import { describe, expect, test } from "vitest";
import { quantile, summarize, Recorder } from "../lib/stats.js";

describe("quantile", () => {
  test("interpolates between the closest ranks", () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([10, 20, 30, 40, 50], 0.9)).toBe(46);
    expect(quantile([7], 0.99)).toBe(7);
  });

  test("is NaN for no samples", () => {
    expect(quantile([], 0.5)).toBeNaN();
  });
});

describe("summarize", () => {
  test("sorts before picking percentiles and keeps the error count", () => {
    const s = summarize([5, 1, 4, 2, 3], 2);
    expect(s).toMatchObject({ n: 5, errors: 2, median: 3, min: 1, max: 5 });
    expect(s.p10).toBeCloseTo(1.4);
    expect(s.p90).toBeCloseTo(4.6);
  });
});

describe("Recorder", () => {
  test("records a failure without a sample and keeps its message", async () => {
    const rec = new Recorder();
    const ok = await rec.measure("exec", "floor", async () => 42);
    const bad = await rec.measure("exec", "floor", async () => {
      throw new Error("runc exec: exit 1");
    });
    expect(ok).toBe(42);
    expect(bad).toBeUndefined();
    expect(rec.summary("exec", "floor")).toMatchObject({ n: 1, errors: 1, lastError: "runc exec: exit 1" });
    expect(Object.keys(rec.toJSON())).toEqual(["exec"]);
  });
});
