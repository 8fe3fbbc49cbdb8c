/**
 * The last bytes of a terminal session's output, kept so `runta attach` can repaint the screen before going live.
 * A ring of fixed size (LIMITS.execReplayBytes): memory per session is bounded whatever the command prints.
 */
export class ReplayBuffer {
  private readonly ring: Buffer;
  /** Bytes written so far, in all; the ring holds the last `min(total, capacity)` of them. */
  private total = 0;

  constructor(readonly capacity: number) {
    this.ring = Buffer.alloc(capacity);
  }

  /** Appends output; only the last `capacity` bytes are kept. */
  push(chunk: Buffer): void {
    if (this.capacity === 0 || chunk.length === 0) return;
    const tail = chunk.length > this.capacity ? chunk.subarray(chunk.length - this.capacity) : chunk;
    const skipped = chunk.length - tail.length;
    const at = (this.total + skipped) % this.capacity;
    const first = Math.min(tail.length, this.capacity - at);
    tail.copy(this.ring, at, 0, first);
    if (first < tail.length) tail.copy(this.ring, 0, first);
    this.total += chunk.length;
  }

  /** The kept bytes, oldest first (a copy). */
  contents(): Buffer {
    if (this.total <= this.capacity) return Buffer.from(this.ring.subarray(0, this.total));
    const at = this.total % this.capacity;
    return Buffer.concat([this.ring.subarray(at), this.ring.subarray(0, at)], this.capacity);
  }

  /** Whether output was dropped off the front (the replay starts mid-stream). */
  get wrapped(): boolean {
    return this.total > this.capacity;
  }
}
