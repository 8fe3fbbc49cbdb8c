import { EventEmitter } from "node:events";
import { PassThrough } from "node:stream";
import { describe, expect, test } from "vitest";
import { bridgeExec, exitCodeOf, streamEnv, terminalSize, type BridgeIO } from "../../src/cli/tty/bridge.js";
import { UnavailableError } from "../../src/client/errors.js";
import { FakeHandle } from "../helpers/fake-exec-stream.js";

/** Local stdio: stdin/stdout as a TTY or a pipe, with raw-mode calls recorded. */
function fakeIO(tty: boolean) {
  const stdin = Object.assign(new PassThrough(), {
    isTTY: tty,
    rawCalls: [] as boolean[],
    unrefCalls: 0,
    setRawMode(mode: boolean) {
      this.rawCalls.push(mode);
      return this;
    },
    unref() {
      this.unrefCalls++;
    },
  });
  const stdout = Object.assign(new PassThrough(), { isTTY: tty, rows: 30, columns: 100 });
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on("data", (c: Buffer) => out.push(c));
  stderr.on("data", (c: Buffer) => err.push(c));
  const io: BridgeIO = { stdin, stdout, stderr };
  return { io, stdin, stdout, out: () => Buffer.concat(out), err: () => Buffer.concat(err).toString() };
}

const tick = () => new Promise((r) => setImmediate(r));

describe("bridgeExec in tty mode", () => {
  test("sets raw mode once, restores it once, and returns the remote exit code", async () => {
    const h = new FakeHandle();
    const { io, stdin, out } = fakeIO(true);
    const signals = new EventEmitter();
    const p = bridgeExec(h, io, { tty: true, interactive: true, signals });
    h.emit("stdout", Buffer.from("$ "));
    stdin.write(Buffer.from([0x03, 0x04, 0x1a, 0x1b, 0x5b, 0x41])); // Ctrl-C, Ctrl-D, Ctrl-Z, Up arrow
    await tick();
    h.exit(3);
    expect(await p).toBe(3);
    expect(stdin.rawCalls).toEqual([true, false]);
    expect(Buffer.concat(h.written)).toEqual(Buffer.from([0x03, 0x04, 0x1a, 0x1b, 0x5b, 0x41]));
    expect(out().toString()).toBe("$ ");
    signals.emit("exit");
    expect(stdin.rawCalls).toEqual([true, false]);
  });

  test("sends the current size at once and on every resize", async () => {
    const h = new FakeHandle();
    const { io, stdout } = fakeIO(true);
    const p = bridgeExec(h, io, { tty: true, interactive: true, signals: new EventEmitter() });
    stdout.rows = 50;
    stdout.columns = 120;
    stdout.emit("resize");
    h.exit(0);
    await p;
    stdout.emit("resize");
    expect(h.resizes).toEqual([
      [30, 100],
      [50, 120],
    ]);
  });

  test("restores the terminal once and passes the stream's typed error on when the daemon goes away", async () => {
    const h = new FakeHandle();
    const { io, stdin, err } = fakeIO(true);
    const signals = new EventEmitter();
    const p = bridgeExec(h, io, { tty: true, interactive: true, signals });
    h.die("connection to the runta daemon at http://127.0.0.1:1 closed before the command exited");
    const e = await p.then(() => undefined, (x: unknown) => x);
    expect(e).toBeInstanceOf(UnavailableError);
    expect((e as UnavailableError).message).toBe("connection to the runta daemon at http://127.0.0.1:1 closed before the command exited");
    expect(stdin.rawCalls).toEqual([true, false]);
    // The remote's last line is ended; the message itself is main's to write (test/unit/cli/exec.test.ts).
    expect(err()).toBe("\r\n");
    expect(signals.listenerCount("SIGINT") + signals.listenerCount("exit") + signals.listenerCount("SIGTERM")).toBe(0);
    expect(stdin.listenerCount("data")).toBe(0);
    expect(h.listenerCount("stdout") + h.listenerCount("stderr") + h.listenerCount("error")).toBe(0);
    expect(stdin.unrefCalls).toBe(1);
  });

  test("restores the terminal if the process exits while the session is open", async () => {
    const h = new FakeHandle();
    const { io, stdin } = fakeIO(true);
    const signals = new EventEmitter();
    void bridgeExec(h, io, { tty: true, interactive: true, signals });
    signals.emit("exit");
    expect(stdin.rawCalls).toEqual([true, false]);
    h.exit(0);
    await tick();
    expect(stdin.rawCalls).toEqual([true, false]);
  });

  test("-t without -i leaves the terminal cooked so a local Ctrl-C still works (and is forwarded)", async () => {
    const h = new FakeHandle();
    const { io, stdin } = fakeIO(true);
    const signals = new EventEmitter();
    const p = bridgeExec(h, io, { tty: true, interactive: false, signals });
    signals.emit("SIGINT");
    h.exit(130);
    expect(await p).toBe(130);
    expect(stdin.rawCalls).toEqual([]);
    expect(h.signals).toEqual(["INT"]);
  });

  test("a detached terminal session says the exact attach command; without one (--grace 0) it says it was hung up", async () => {
    for (const reattach of ["runta attach worker", undefined]) {
      const h = Object.assign(new FakeHandle(), { execId: "3f2a9c41d0e7" });
      const { io, err } = fakeIO(false);
      const signals = new EventEmitter();
      const p = bridgeExec(h, io, { tty: true, interactive: false, signals, reattach });
      signals.emit("SIGINT");
      signals.emit("SIGINT");
      expect(await p).toBe(130);
      expect(err()).toBe(
        reattach
          ? "runta: detached; exec 3f2a9c41d0e7 keeps running for its grace period: runta attach worker 3f2a9c41d0e7\n"
          : "runta: detached; the remote command was hung up\n",
      );
    }
  });

  test("the detach message starts on a line of its own: after output ending mid-line, and after a cooked terminal's ^C echo", async () => {
    const cases: Array<[boolean, string, string]> = [
      [false, "progress 42%", "progress 42%\n"],
      [false, "done\r\n", "done\r\n"],
      [true, "done\r\n", "done\r\n\n"],
    ];
    for (const [tty, output, before] of cases) {
      const h = Object.assign(new FakeHandle(), { execId: "3f2a9c41d0e7" });
      const { io, out, err } = fakeIO(tty);
      const signals = new EventEmitter();
      const p = bridgeExec(h, io, { tty: true, interactive: false, signals, reattach: "runta attach worker" });
      h.emit("stdout", Buffer.from(output));
      signals.emit("SIGINT");
      signals.emit("SIGINT");
      expect(await p).toBe(130);
      // What the screen shows: the output, then the message from the start of a line.
      expect(out().toString() + err(), JSON.stringify([tty, output])).toBe(`${before}runta: detached; exec 3f2a9c41d0e7 keeps running for its grace period: runta attach worker 3f2a9c41d0e7\n`);
    }
  });

  test("never enables raw mode when stdin is not a terminal", async () => {
    const h = new FakeHandle();
    const { io, stdin } = fakeIO(false);
    const p = bridgeExec(h, io, { tty: true, interactive: true, signals: new EventEmitter() });
    h.exit(0);
    expect(await p).toBe(0);
    expect(stdin.rawCalls).toEqual([]);
  });
});

describe("bridgeExec in -i mode", () => {
  test("streams stdin, sends EOF as close_stdin, keeps stdout and stderr apart, binary-safe", async () => {
    const h = new FakeHandle();
    const { io, stdin, out, err } = fakeIO(false);
    const p = bridgeExec(h, io, { tty: false, interactive: true, signals: new EventEmitter() });
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    stdin.end(bytes);
    await tick();
    await tick();
    expect(Buffer.concat(h.written)).toEqual(bytes);
    expect(h.stdinClosed).toBe(1);
    h.emit("stdout", bytes);
    h.emit("stderr", Buffer.from("warn\n"));
    h.exit(0);
    expect(await p).toBe(0);
    expect(out()).toEqual(bytes);
    expect(err()).toBe("warn\n");
    expect(h.resizes).toEqual([]);
  });

  test("forwards SIGINT and SIGTERM as signal frames; a second Ctrl-C within a second detaches", async () => {
    const h = new FakeHandle();
    const { io } = fakeIO(false);
    const signals = new EventEmitter();
    const p = bridgeExec(h, io, { tty: false, interactive: true, signals });
    signals.emit("SIGTERM");
    signals.emit("SIGINT");
    expect(h.signals).toEqual(["TERM", "INT"]);
    signals.emit("SIGINT");
    expect(await p).toBe(130);
    expect(h.closed).toBe(1);
    expect(h.signals).toEqual(["TERM", "INT"]);
    expect(signals.listenerCount("SIGINT")).toBe(0);
  });

  test("leaves stdin alone without -i", async () => {
    const h = new FakeHandle();
    const { io, stdin } = fakeIO(false);
    const p = bridgeExec(h, io, { tty: false, interactive: false, signals: new EventEmitter() });
    stdin.end("ignored");
    await tick();
    h.exit(0);
    await p;
    expect(h.written).toEqual([]);
    expect(h.stdinClosed).toBe(0);
  });

  test("maps a remote death by signal to 128+n", async () => {
    const h = new FakeHandle();
    const { io } = fakeIO(false);
    const p = bridgeExec(h, io, { tty: false, interactive: false });
    h.exit(137, "KILL");
    expect(await p).toBe(137);
  });
});

describe("helpers", () => {
  test("exitCodeOf falls back to the signal number, then to 125", () => {
    expect(exitCodeOf({ code: 0 })).toBe(0);
    expect(exitCodeOf({ code: -1, signal: "SIGTERM" })).toBe(143);
    expect(exitCodeOf({ code: -1 })).toBe(125);
  });

  test("streamEnv passes TERM through for tty sessions only, defaulting to xterm-256color", () => {
    expect(streamEnv({ A: "1" }, true, { TERM: "screen" })).toEqual({ A: "1", TERM: "screen" });
    expect(streamEnv(undefined, true, {})).toEqual({ TERM: "xterm-256color" });
    expect(streamEnv({ TERM: "vt100" }, true, { TERM: "screen" })).toEqual({ TERM: "vt100" });
    expect(streamEnv({ A: "1" }, false, { TERM: "screen" })).toEqual({ A: "1" });
  });

  test("terminalSize reads rows and columns only from a terminal", () => {
    expect(terminalSize(fakeIO(true).io.stdout)).toEqual({ rows: 30, cols: 100 });
    expect(terminalSize(fakeIO(false).io.stdout)).toEqual({});
  });
});
