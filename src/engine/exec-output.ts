/**
 * A buffered exec's output as the daemon holds it: the chunks read from the command's pipe, up to its cap, never
 * joined (issue 21, item 1). The answer is encoded from them a slice at a time ({@link encodedPieces}) and each chunk
 * is let go once encoded, so an exec costs the daemon its output once (what its admission reserved) plus one slice,
 * not a joined copy, a string and its escapes.
 */
import { Buffer, isUtf8 } from "node:buffer";
import { StringDecoder } from "node:string_decoder";
import type { ExecResult } from "../api/index.js";

/** The most bytes encoded at once: a slice of \x01 escapes to 6× this much JSON. */
export const ENCODE_SLICE_BYTES = 64 * 1024;

/** Keeps the first `cap` bytes of a stream (the rest is drained and dropped) as the chunks they arrived in. */
export class CapturedOutput {
  private chunks: Buffer[] = [];
  private kept = 0;
  private held = 0;
  private readonly utf8 = new Utf8Check();
  truncated = false;

  constructor(private readonly cap: number) {}

  /** Output captured from `bytes` (a message runta writes in place of the command's output). */
  static of(bytes: Buffer): CapturedOutput {
    const out = new CapturedOutput(bytes.length);
    out.push(bytes);
    return out;
  }

  push(chunk: Buffer): void {
    const room = this.cap - this.kept;
    if (chunk.length > room) this.truncated = true;
    if (room <= 0) return;
    let kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    // A small view of a large read (an agent frame's payload, a cap's last bytes) would keep the whole read alive
    // behind the budget's back: keep a copy of just these bytes instead.
    if (kept.buffer.byteLength > 2 * kept.length + 8192) kept = Buffer.from(kept);
    this.chunks.push(kept);
    this.utf8.push(kept);
    this.kept += kept.length;
    this.held += kept.length;
  }

  /** Bytes captured. */
  get length(): number {
    return this.kept;
  }

  /** Bytes still held (not yet taken by {@link take}). */
  get heldBytes(): number {
    return this.held;
  }

  /** Whether the captured bytes are valid UTF-8 (a cap that cut a character makes them invalid). */
  get validUtf8(): boolean {
    return this.utf8.valid();
  }

  /** A copy of the captured bytes as one buffer: for small reads (runc's error text), not for the answer. */
  toBuffer(): Buffer {
    return Buffer.concat(this.chunks, this.held);
  }

  /** The captured bytes in slices of at most ENCODE_SLICE_BYTES, each chunk let go once its last slice is taken. */
  *take(): Generator<Buffer> {
    while (this.chunks.length > 0) {
      const chunk = this.chunks.shift()!;
      for (let at = 0; at < chunk.length; at += ENCODE_SLICE_BYTES) {
        const slice = chunk.subarray(at, at + ENCODE_SLICE_BYTES);
        this.held -= slice.length;
        yield slice;
      }
    }
  }
}

/**
 * The output as the contents of a JSON string (escaped, without the quotes), a slice at a time, consuming `out`:
 * UTF-8 text with invalid sequences replaced (as Buffer#toString does), or base64 of the exact bytes.
 */
export function* encodedPieces(out: CapturedOutput, encoding: "utf8" | "base64"): Generator<string> {
  if (encoding === "base64") {
    // base64 of a concatenation is the concatenation of base64s only at multiples of 3 bytes: carry the rest.
    let carry = Buffer.alloc(0);
    for (const slice of out.take()) {
      const bytes = carry.length ? Buffer.concat([carry, slice]) : slice;
      const whole = bytes.length - (bytes.length % 3);
      carry = Buffer.from(bytes.subarray(whole));
      if (whole > 0) yield bytes.subarray(0, whole).toString("base64");
    }
    if (carry.length) yield carry.toString("base64");
    return;
  }
  // The decoder keeps a character cut between two slices for the next one, so a surrogate pair is never split.
  const decoder = new StringDecoder("utf8");
  for (const slice of out.take()) {
    const text = decoder.write(slice);
    if (text) yield JSON.stringify(text).slice(1, -1);
  }
  const rest = decoder.end();
  if (rest) yield JSON.stringify(rest).slice(1, -1);
}

/** A finished buffered exec whose output is still held: the route streams it, then gives back its reservation. */
export interface CapturedExec {
  /** Every field of the answer but the output itself. */
  result: Omit<ExecResult, "stdout" | "stderr">;
  stdout: CapturedOutput;
  stderr: CapturedOutput;
  /** Gives back the output's share of the daemon's exec output budget; idempotent. Call once the answer is sent. */
  release(): void;
}

/** The whole result with its output as strings, the reservation given back: for in-process callers, not the API. */
export function wholeResult(captured: CapturedExec): ExecResult {
  try {
    const enc = captured.result.output_encoding;
    const text = (out: CapturedOutput) => out.toBuffer().toString(enc);
    return { ...captured.result, stdout: text(captured.stdout), stderr: text(captured.stderr) };
  } finally {
    captured.release();
  }
}

/**
 * UTF-8 validity of a byte stream checked chunk by chunk: a character cut between chunks is carried (at most 3
 * bytes) and checked with the start of the next, so the verdict is isUtf8 of the whole without joining it.
 */
class Utf8Check {
  private ok = true;
  private carry: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): void {
    if (!this.ok) return;
    let from = 0;
    if (this.carry.length > 0) {
      const need = sequenceLength(this.carry[0]!) - this.carry.length;
      const taken = chunk.subarray(0, need);
      this.carry = Buffer.concat([this.carry, taken]);
      from = taken.length;
      if (taken.length < need) return;
      if (!isUtf8(this.carry)) return void (this.ok = false);
      this.carry = Buffer.alloc(0);
    }
    const cut = incompleteTail(chunk, from);
    if (!isUtf8(chunk.subarray(from, cut))) return void (this.ok = false);
    this.carry = Buffer.from(chunk.subarray(cut));
  }

  valid(): boolean {
    return this.ok && this.carry.length === 0;
  }
}

/** How many bytes the sequence led by `lead` has (1 for ASCII and for bytes that cannot lead one). */
function sequenceLength(lead: number): number {
  if (lead >= 0xf0) return 4;
  if (lead >= 0xe0) return 3;
  if (lead >= 0xc0) return 2;
  return 1;
}

/** Where a character cut off by the end of `chunk` begins (chunk.length when the last one is whole). */
function incompleteTail(chunk: Buffer, from: number): number {
  for (let i = chunk.length - 1; i >= Math.max(from, chunk.length - 4); i--) {
    const b = chunk[i]!;
    if ((b & 0xc0) === 0x80) continue;
    return i + sequenceLength(b) > chunk.length ? i : chunk.length;
  }
  return chunk.length;
}
