/**
 * The terminal end of `runta exec -i/-t`: wires local stdio, window size and signals to an exec stream and turns the
 * way it ended into the CLI's exit code, or passes on the stream's typed error (src/client/errors.ts) for main to
 * report. Every listener is named and removed in one cleanup, which also restores the terminal exactly once, whatever
 * ended the session (exit, error frame, daemon gone, network error, process exit).
 */
import type { ExecStreamHandle, StreamExit } from "../../client/contract.js";
import type { StreamSignal } from "../../api/index.js";
import { EXIT } from "../errors.js";

/** Terminal-ish streams the bridge drives. */
export interface BridgeIO {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?(mode: boolean): unknown };
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number; rows?: number; on(ev: "resize", cb: () => void): unknown };
  stderr: NodeJS.WritableStream;
}

/** A second Ctrl-C (SIGINT) within this window detaches instead of forwarding again. */
const DETACH_WINDOW_MS = 1000;

/** Signals of the CLI process that are forwarded to the remote command. */
const FORWARDED: ReadonlyArray<[NodeJS.Signals, StreamSignal]> = [
  ["SIGINT", "INT"],
  ["SIGTERM", "TERM"],
  ["SIGHUP", "HUP"],
  ["SIGQUIT", "QUIT"],
];

/**
 * The environment to send with a streamed exec: the caller's `-e` values plus, for tty sessions, the local TERM
 * (xterm-256color when unset) so that full-screen programs draw correctly. An explicit `-e TERM=…` wins.
 */
export function streamEnv(env: Record<string, string> | undefined, tty: boolean, localEnv: NodeJS.ProcessEnv = process.env): Record<string, string> | undefined {
  if (!tty || env?.TERM) return env;
  return { ...env, TERM: localEnv.TERM || "xterm-256color" };
}

/** The initial terminal size to pass in the `start` frame, when stdout is a terminal that knows its size. */
export function terminalSize(stdout: BridgeIO["stdout"]): { rows?: number; cols?: number } {
  return stdout.isTTY && stdout.rows && stdout.columns ? { rows: stdout.rows, cols: stdout.columns } : {};
}

/**
 * The CLI exit code for a remote exit: the remote code (already 128+n for a signal), or 128+n when only a signal is
 * known; an exit that carries neither is runta's failure to report it.
 */
export function exitCodeOf(exit: StreamExit): number {
  if (Number.isInteger(exit.code) && exit.code >= 0 && exit.code <= 255) return exit.code;
  const n = exit.signal ? SIGNAL_NUMBERS[exit.signal.replace(/^SIG/, "")] : undefined;
  return n ? 128 + n : EXIT.execFailure;
}

const SIGNAL_NUMBERS: Record<string, number> = { HUP: 1, INT: 2, QUIT: 3, KILL: 9, TERM: 15, TSTP: 20 };

/**
 * Runs a streamed exec against local stdio; resolves with the CLI exit code (the remote code, 130 after a detach) and
 * rejects with the stream's typed error (RuntaApiError: the daemon's error frame, or unavailable when the connection
 * is lost) once the terminal is restored. Raw mode only with `tty` and `interactive` and when stdin is a terminal. With
 * `interactive` stdin is streamed (EOF → close_stdin); without it stdin is left alone. `signals` (normally `process`)
 * delivers SIGINT/SIGTERM/SIGHUP/SIGQUIT to forward and `exit` as a last-resort terminal restore. `reattach` is the
 * command that takes a detached terminal session back (`runta attach worker`, the exec id follows); without it (no
 * terminal, or `--grace 0`) a detach hangs the command up.
 */
export async function bridgeExec(
  handle: ExecStreamHandle,
  io: BridgeIO,
  opts: { tty: boolean; interactive: boolean; signals?: NodeJS.EventEmitter; reattach?: string },
): Promise<number> {
  const { stdin, stdout, stderr } = io;
  const signals = opts.signals;
  // As docker: without -i the keyboard is not forwarded, so the local terminal keeps its Ctrl-C (forwarded as INT).
  const raw = opts.tty && opts.interactive && stdin.isTTY === true && typeof stdin.setRawMode === "function";
  let cleaned = false;
  let lastInt = 0;
  let detach: (() => void) | undefined;
  const detached = new Promise<void>((r) => (detach = r));

  /** The last byte of output shown, so a message of ours can start on a line of its own. */
  let lastByte = 0x0a;
  const shown = (stream: NodeJS.WritableStream) => (chunk: Buffer) => {
    if (chunk.length) lastByte = chunk[chunk.length - 1]!;
    stream.write(chunk);
  };
  const onStdout = shown(stdout);
  const onStderr = shown(stderr);
  const onInput = (chunk: Buffer | string) => handle.write(chunk);
  const onInputEnd = () => handle.closeStdin();
  const onInputError = () => handle.closeStdin();
  const onResize = () => {
    if (stdout.rows && stdout.columns) handle.resize(stdout.rows, stdout.columns);
  };
  const onSignal = new Map<NodeJS.Signals, () => void>(
    FORWARDED.map(([local, remote]) => [
      local,
      () => {
        if (local === "SIGINT") {
          const now = Date.now();
          if (now - lastInt < DETACH_WINDOW_MS) {
            detach?.();
            return;
          }
          lastInt = now;
        }
        handle.signal(remote);
      },
    ]),
  );
  const onProcessExit = () => cleanup();
  // The contract only promises `on`; SDK handles are EventEmitters, fakes may not be.
  const off = (ev: string, fn: (...args: never[]) => void) =>
    (handle as unknown as { removeListener?: (e: string, f: (...args: never[]) => void) => void }).removeListener?.(ev, fn);

  function cleanup(): void {
    if (cleaned) return;
    cleaned = true;
    off("stdout", onStdout);
    off("stderr", onStderr);
    if (opts.interactive) {
      stdin.removeListener("data", onInput);
      stdin.removeListener("end", onInputEnd);
      stdin.removeListener("error", onInputError);
      stdin.pause();
      // A paused TTY or pipe handle can still keep the event loop alive; let the CLI exit.
      (stdin as { unref?: () => void }).unref?.();
    }
    stdout.removeListener("resize", onResize);
    for (const [sig, fn] of onSignal) signals?.removeListener(sig, fn);
    signals?.removeListener("exit", onProcessExit);
    if (raw) stdin.setRawMode?.(false);
  }

  handle.on("stdout", onStdout);
  handle.on("stderr", onStderr);
  // Error events are also delivered by wait(); this listener only keeps an emitter from throwing on them.
  handle.on("error", noop);
  if (raw) stdin.setRawMode?.(true);
  signals?.on("exit", onProcessExit);
  for (const [sig, fn] of onSignal) signals?.on(sig, fn);
  if (opts.tty) {
    stdout.on("resize", onResize);
    // Covers callers that did not put the size in `start`; the kernel sends no SIGWINCH when the size is unchanged.
    onResize();
  }
  if (opts.interactive) {
    stdin.on("data", onInput);
    stdin.on("end", onInputEnd);
    stdin.on("error", onInputError);
    stdin.resume();
  }

  try {
    const outcome = await Promise.race([handle.wait(), detached.then(() => "detached" as const)]);
    cleanup();
    if (outcome === "detached") {
      handle.close();
      // A terminal session outlives its client for its grace period (the caller says how to reattach); a pipe does not.
      const id = handle.execId;
      // On a fresh line: after output that ended mid-line, and after the "^C^C" a cooked terminal echoed.
      const fresh = lastByte !== 0x0a || (stdin.isTTY === true && !raw) ? "\n" : "";
      stderr.write(fresh + (opts.tty && id && opts.reattach ? `runta: detached; exec ${id} keeps running for its grace period: ${opts.reattach} ${id}\n` : "runta: detached; the remote command was hung up\n"));
      return EXIT.interrupted;
    }
    return exitCodeOf(outcome);
  } catch (err) {
    // Restore the terminal first, and end the remote's last line, so main's message starts on a sane line of its own.
    cleanup();
    if (raw) stderr.write("\r\n");
    throw err;
  } finally {
    off("error", noop);
  }
}

function noop(): void {}
