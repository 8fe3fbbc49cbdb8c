/**
 * The framed exec stream: the body of `POST /v1/runtimes/{rt}/execs` when the exec is not detached (what plain
 * `runta exec` reads). A plain HTTP response instead of a websocket: the CLI needs no `ws` module for it, output is
 * bytes end to end (no base64, no UTF-8 decoding), and the client going away (closing the response) is the daemon's
 * cue to kill the command.
 *
 * Every frame is a 5-byte header (1 byte kind, 4 bytes big-endian payload length) and its payload:
 *   1 stdout  raw bytes            2 stderr  raw bytes
 *   3 started JSON {exec_id, pid}  (first frame, once)
 *   4 exit    JSON {code, signal, oom_killed, ended_by}  (terminal)
 *   5 error   JSON {code, message}                       (terminal)
 * A stream that ends without a terminal frame was cut (daemon gone, connection lost).
 *
 * No zod here on purpose: the CLI loads this module on every `runta exec`.
 */

/** Content-Type of the framed exec stream. */
export const EXEC_STREAM_CONTENT_TYPE = "application/vnd.runta.exec-stream";

/** Frame kinds (the first header byte). */
export const FRAME = { stdout: 1, stderr: 2, started: 3, exit: 4, error: 5 } as const;
export type FrameKind = keyof typeof FRAME;

const KIND_BY_BYTE = new Map<number, FrameKind>(Object.entries(FRAME).map(([k, v]) => [v, k as FrameKind]));
const HEADER_BYTES = 5;
/** Largest payload a decoder accepts: the daemon never sends a frame larger than one pipe read (64 KiB). */
export const FRAME_MAX_PAYLOAD = 1024 * 1024;

/** How an exec ended, as its `exit` frame and its exec object say. */
export interface ExitFrame {
  code: number;
  signal: string | null;
  oom_killed: boolean;
  ended_by: string;
}

/** A decoded frame: output carries bytes, the others their JSON. */
export type Frame =
  | { kind: "stdout" | "stderr"; data: Buffer }
  | { kind: "started"; exec_id: string; pid: number | null }
  | ({ kind: "exit" } & ExitFrame)
  | { kind: "error"; code: string; message: string };

/** Encodes one frame. */
export function encodeFrame(kind: FrameKind, payload: Buffer | object): Buffer {
  const body = Buffer.isBuffer(payload) ? payload : Buffer.from(JSON.stringify(payload));
  const header = Buffer.allocUnsafe(HEADER_BYTES);
  header[0] = FRAME[kind];
  header.writeUInt32BE(body.length, 1);
  return Buffer.concat([header, body], HEADER_BYTES + body.length);
}

/** Thrown by {@link FrameDecoder} on bytes that are not the framed exec stream. */
export class FrameError extends Error {}

/** Splits a byte stream into frames, whatever the chunk boundaries. */
export class FrameDecoder {
  private pending: Buffer = Buffer.alloc(0);

  /** Adds bytes; returns the frames they complete. */
  push(chunk: Uint8Array): Frame[] {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.pending = this.pending.length ? Buffer.concat([this.pending, bytes]) : bytes;
    const frames: Frame[] = [];
    let at = 0;
    while (this.pending.length - at >= HEADER_BYTES) {
      const kind = KIND_BY_BYTE.get(this.pending[at]!);
      const size = this.pending.readUInt32BE(at + 1);
      if (!kind) throw new FrameError(`unknown frame kind ${this.pending[at]}`);
      if (size > FRAME_MAX_PAYLOAD) throw new FrameError(`frame of ${size} bytes is larger than ${FRAME_MAX_PAYLOAD}`);
      if (this.pending.length - at - HEADER_BYTES < size) break;
      const payload = this.pending.subarray(at + HEADER_BYTES, at + HEADER_BYTES + size);
      at += HEADER_BYTES + size;
      frames.push(decodePayload(kind, payload));
    }
    this.pending = at === this.pending.length ? Buffer.alloc(0) : this.pending.subarray(at);
    return frames;
  }

  /** Bytes of an incomplete frame still held (non-zero at the end of the stream means it was cut mid-frame). */
  get buffered(): number {
    return this.pending.length;
  }
}

function decodePayload(kind: FrameKind, payload: Buffer): Frame {
  // Output frames may be sliced views of a larger chunk: copy so a consumer may keep them.
  if (kind === "stdout" || kind === "stderr") return { kind, data: Buffer.from(payload) };
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(payload.toString("utf8")) as Record<string, unknown>;
  } catch {
    throw new FrameError(`the ${kind} frame is not JSON`);
  }
  return { ...json, kind } as Frame;
}
