import { describe, expect, test } from "vitest";
import { echoLoop } from "../lib/tty.js";

/** A fake remote terminal: prints READY, then echoes every keystroke (or stops echoing after `echoes`). */
function fakeSession({ echoes = Infinity, endAfter = Infinity } = {}) {
  /** @type {(c: string) => void} */
  let out = () => {};
  /** @type {(r: string) => void} */
  let end = () => {};
  let seen = 0;
  const s = {
    written: /** @type {string[]} */ ([]),
    closed: false,
    write(/** @type {string} */ d) {
      s.written.push(d);
      seen++;
      if (seen > endAfter) setTimeout(() => end("exit code 137"), 1);
      else if (seen <= echoes) setTimeout(() => out(d), 1);
    },
    onData: (/** @type {(c: string) => void} */ cb) => {
      out = cb;
      setTimeout(() => cb("READY\r\n"), 1);
    },
    onEnd: (/** @type {(r: string) => void} */ cb) => {
      end = cb;
    },
    close() {
      s.closed = true;
    },
  };
  return s;
}

describe("echoLoop", () => {
  test("sends one keystroke at a time and returns one sample per echo, then closes", async () => {
    const s = fakeSession();
    const samples = await echoLoop(s, 5);
    expect(samples).toHaveLength(5);
    expect(s.written).toEqual(["a", "b", "c", "d", "e"]);
    expect(s.closed).toBe(true);
  });

  test("fails at once with the reason when the session ends before the echo", async () => {
    const s = fakeSession({ endAfter: 2 });
    await expect(echoLoop(s, 5)).rejects.toThrow(/ended before the echo of "c": exit code 137/);
    expect(s.closed).toBe(true);
  });

  test("gives up after its timeout when no echo comes", async () => {
    const s = fakeSession({ echoes: 1 });
    await expect(echoLoop(s, 3, 200)).rejects.toThrow(/no echo of "b" within 200 ms/);
  });
});
