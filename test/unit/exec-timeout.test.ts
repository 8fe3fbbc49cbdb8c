import { expect, test } from "vitest";
import { execTimeoutSecs } from "../../src/engine/execs/timeout.js";

test("an exec's own timeout wins, else its runtime's, else none (the caller's default)", () => {
  expect(execTimeoutSecs({ execTimeoutSecs: 2 }, 10)).toBe(10);
  expect(execTimeoutSecs({ execTimeoutSecs: 2 }, 1)).toBe(1);
  expect(execTimeoutSecs({ execTimeoutSecs: 2 }, undefined)).toBe(2);
  expect(execTimeoutSecs({ execTimeoutSecs: null }, undefined)).toBeUndefined();
  expect(execTimeoutSecs({ execTimeoutSecs: null }, 5)).toBe(5);
});
