/**
 * A buffered exec's answer through the real daemon and a real command (issue 21, item 1): it is encoded from the
 * chunks read from the command's pipe, so multi-byte characters, escapes and invalid bytes fall across chunk and
 * slice boundaries; the text, the exact bytes (base64) and the invalid-UTF-8 flag must be those of the whole output.
 */
import { beforeAll, expect, test } from "vitest";
import { daemonSuite } from "../helpers/daemon-suite.js";

const d = daemonSuite().daemon;

beforeAll(async () => {
  await d.client().runtimes.create("out", { image: "busybox", memoryMiB: 64 });
});

/** POST /v1/runtimes/out/exec as raw JSON (the SDK always asks for base64). */
async function exec(script: string, encoding: "utf8" | "base64") {
  const res = await fetch(`${d.endpoint}/v1/runtimes/out/exec`, {
    method: "POST",
    headers: { Authorization: `Bearer ${d.token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ command: ["sh", "-c", script], output_encoding: encoding, max_output_bytes: 4 * 1024 * 1024 }),
  });
  expect(res.status).toBe(200);
  return (await res.json()).data;
}

// ~1 MiB: 1-, 2-, 3- and 4-byte characters, control bytes and backslashes, so every 64 KiB boundary cuts something.
const unit = "a\u0001é€😀\\\n";
const repeat = 60_000;
const script = (tail: string) => `i=0; while [ $i -lt 60 ]; do printf '${"a\\001é€😀\\\\\\n".repeat(1000)}'; i=$((i+1)); done; printf '${tail}'`;

test("valid UTF-8 output comes back as the same text and the same bytes, however the pipe cut it", async () => {
  const expected = unit.repeat(repeat);
  const text = await exec(script(""), "utf8");
  expect(text.stdout_invalid_utf8).toBe(false);
  expect(text.stdout.length).toBe(expected.length);
  expect(text.stdout === expected).toBe(true);
  const b64 = await exec(script(""), "base64");
  expect(Buffer.from(b64.stdout, "base64").equals(Buffer.from(expected))).toBe(true);
});

test("an invalid byte at the end is flagged, replaced in text, and kept exactly in base64", async () => {
  const expected = Buffer.concat([Buffer.from(unit.repeat(repeat)), Buffer.from([0xff])]);
  const text = await exec(script("\\377"), "utf8");
  expect(text.stdout_invalid_utf8).toBe(true);
  expect(text.stdout === expected.toString("utf8")).toBe(true);
  expect(text.stdout.endsWith("\ufffd")).toBe(true);
  const b64 = await exec(script("\\377"), "base64");
  expect(b64.stdout_invalid_utf8).toBe(true);
  expect(Buffer.from(b64.stdout, "base64").equals(expected)).toBe(true);
});
