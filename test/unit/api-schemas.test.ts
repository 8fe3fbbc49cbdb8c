import { expect, test } from "vitest";
import { ExecRequestSchema, LIMITS } from "../../src/api/index.js";

test("buffered exec stdin is capped in bytes, not characters", () => {
  const ascii = "a".repeat(LIMITS.execStdinMaxBytes);
  expect(ExecRequestSchema.safeParse({ command: "cat", stdin: ascii }).success).toBe(true);
  // Half as many characters, but two bytes each in UTF-8: one byte over the cap.
  const wide = "é".repeat(LIMITS.execStdinMaxBytes / 2) + "a";
  const r = ExecRequestSchema.safeParse({ command: "cat", stdin: wide });
  expect(r.success).toBe(false);
  expect(r.error!.issues[0]).toMatchObject({ path: ["stdin"], message: `must be at most ${LIMITS.execStdinMaxBytes} bytes` });
});
