/**
 * A buffered exec's captured output (src/engine/exec-output.ts, issue 21 item 1): its UTF-8 verdict and its encoding
 * are those of the whole output, computed chunk by chunk, and the encoder lets each chunk go as it goes, never
 * joining the output into one buffer or one string.
 */
import { isUtf8 } from "node:buffer";
import { expect, test } from "vitest";
import { CapturedOutput, ENCODE_SLICE_BYTES, encodedPieces, wholeResult } from "../../src/engine/exec-output.js";

/** `bytes` cut into chunks at the given offsets, captured under `cap`. */
function captured(bytes: Buffer, cuts: number[], cap = bytes.length): CapturedOutput {
  const out = new CapturedOutput(cap);
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    out.push(bytes.subarray(at, cut));
    at = cut;
  }
  return out;
}

/** A deterministic generator, so a failure can be replayed. */
function rng(seed: number) {
  return () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
}

const samples: Buffer[] = [
  Buffer.from("plain ascii\n"),
  Buffer.from("é€😀 mixed widths ünïcödé 😀😀"),
  Buffer.from("\u0001\"\\\n\t control and escapes"),
  Buffer.from([0x61, 0xe2, 0x82, 0x41]), // a 3-byte sequence cut short by an ASCII byte
  Buffer.from([0xf0, 0x9f, 0x98]), // a 4-byte character cut by the end
  Buffer.from([0xc0, 0xaf, 0xed, 0xa0, 0x80, 0xff]), // overlong, a surrogate, an impossible byte
  Buffer.from("ok then 😀").subarray(0, 10), // a cap that cuts a character
];

test("the UTF-8 verdict and the text are the whole output's, wherever the chunks were cut", () => {
  const rand = rng(7);
  const random = Array.from({ length: 40 }, () => Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 40) }, () => Math.floor(rand() * 256))));
  const valid = Array.from({ length: 20 }, () => Buffer.from(Array.from({ length: 30 }, () => ["a", "é", "€", "😀", "\u0001"][Math.floor(rand() * 5)]).join("")));
  for (const bytes of [...samples, ...random, ...valid]) {
    // Every single cut, and a few random multi-cuts.
    const cutSets = [[], ...Array.from({ length: bytes.length - 1 }, (_, i) => [i + 1])];
    for (let k = 0; k < 5; k++) cutSets.push([...new Set(Array.from({ length: 4 }, () => Math.floor(rand() * bytes.length)))].sort((a, b) => a - b));
    for (const cuts of cutSets) {
      const label = `${bytes.toString("hex")} cut at ${cuts}`;
      expect(captured(bytes, cuts).validUtf8, label).toBe(isUtf8(bytes));
      expect([...encodedPieces(captured(bytes, cuts), "utf8")].join(""), label).toBe(JSON.stringify(bytes.toString("utf8")).slice(1, -1));
      expect([...encodedPieces(captured(bytes, cuts), "base64")].join(""), label).toBe(bytes.toString("base64"));
    }
  }
});

test("the cap keeps the first bytes and says it truncated; a cap inside a character makes the output invalid", () => {
  const out = captured(Buffer.from("abc😀def"), [2, 4], 5);
  expect(out.length).toBe(5);
  expect(out.truncated).toBe(true);
  expect(out.validUtf8).toBe(false);
  expect(out.toBuffer()).toEqual(Buffer.from("abc😀def").subarray(0, 5));
});

test("the encoder lets each chunk go as it encodes it: the output is never joined, nor escaped whole", () => {
  const chunks = 64;
  const total = chunks * ENCODE_SLICE_BYTES;
  const out = new CapturedOutput(total);
  // Bigger chunks than a slice too (an agent's read may be): they are encoded a slice at a time as well.
  for (let i = 0; i < chunks / 4; i++) out.push(Buffer.alloc(4 * ENCODE_SLICE_BYTES, 1));
  let taken = 0;
  let text = 0;
  for (const piece of encodedPieces(out, "utf8")) {
    taken++;
    // One slice of \x01 is 6 × its bytes of JSON: never more at once.
    expect(piece.length).toBe(6 * ENCODE_SLICE_BYTES);
    // While this piece is in hand, only what was encoded has left the capture.
    expect(out.heldBytes).toBe(total - taken * ENCODE_SLICE_BYTES);
    text += piece.length;
  }
  expect(taken).toBe(chunks);
  expect(text).toBe(6 * total);
  expect(out.heldBytes).toBe(0);
});

test("wholeResult joins the output for in-process callers and gives the reservation back", () => {
  let released = 0;
  const stdout = CapturedOutput.of(Buffer.from("hi\n"));
  const stderr = CapturedOutput.of(Buffer.from([0xff]));
  const result = {
    exec_id: "x", exit_code: 0, signal: null, duration_ms: 1, stdout_truncated: false, stderr_truncated: false,
    timed_out: false, oom_killed: false, output_encoding: "base64" as const, stdout_invalid_utf8: false, stderr_invalid_utf8: true,
  };
  const whole = wholeResult({ result, stdout, stderr, release: () => released++ });
  expect(whole).toMatchObject({ stdout: Buffer.from("hi\n").toString("base64"), stderr: "/w==", stderr_invalid_utf8: true });
  expect(released).toBe(1);
});

test("a small view of a large read is kept as a copy, so what the budget counts is what is held", () => {
  const read = Buffer.alloc(256 * 1024, 0x61);
  const out = new CapturedOutput(1 << 20);
  out.push(read.subarray(1000, 1100)); // an agent frame's payload inside one big socket read
  out.push(read.subarray(0, 200 * 1024)); // most of a read: kept as it is
  const [small, big] = [...out.take()];
  expect(small!.buffer.byteLength).toBeLessThan(read.buffer.byteLength);
  expect(small!.toString()).toBe("a".repeat(100));
  expect(big!.buffer).toBe(read.buffer);
});
