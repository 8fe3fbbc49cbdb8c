/** Joins two sockets byte for byte, half-closes included (both made with allowHalfOpen), until both ends are done. */
import type { Duplex } from "node:stream";

/** Pipes `a` ⇄ `b`; an error or reset on either side destroys both; `onClose` runs once when both are closed. */
export function splice(a: Duplex, b: Duplex, onClose?: () => void): void {
  let open = 2;
  const closed = () => {
    if (--open === 0) onClose?.();
  };
  const fail = () => {
    a.destroy();
    b.destroy();
  };
  for (const s of [a, b]) {
    s.on("error", fail);
    s.once("close", closed);
  }
  // A side that closed without a clean end (reset, timeout) takes the other with it.
  a.once("close", () => (a.readableEnded ? undefined : b.destroy()));
  b.once("close", () => (b.readableEnded ? undefined : a.destroy()));
  a.pipe(b);
  b.pipe(a);
}
