/**
 * Keystroke echo round trip: with a terminal in the runtime, `cat` in canonical mode does not print until a newline,
 * so whatever comes back right after a keystroke is the remote line discipline's echo having travelled the whole path
 * (client → transport → runc's console copy → pty → back). Time from write to that byte's return is the figure.
 */
import { createRequire } from "node:module";

/** The command every system runs under its pty: a marker once it is up, then `cat`. */
export const ECHO_ARGV = ["sh", "-c", "echo READY; exec cat"];

/**
 * @typedef {object} EchoSession
 * @property {(data: string) => void} write
 * @property {(cb: (chunk: string) => void) => void} onData registers the one output listener
 * @property {() => void} close
 * @property {(cb: (reason: string) => void) => void} [onEnd] registers a listener for the session ending early
 */

/**
 * Waits for the READY marker, then times `n` keystrokes one after another.
 * @param {EchoSession} session
 * @param {number} n
 * @param {number} [timeoutMs] per step
 * @returns {Promise<number[]>} milliseconds per keystroke
 */
export async function echoLoop(session, n, timeoutMs = 15_000) {
  let buf = "";
  /** @type {(() => void) | null} */
  let wake = null;
  /** Why the session ended before we were done, if it did. @type {string | null} */
  let ended = null;
  session.onData((chunk) => {
    buf += chunk;
    wake?.();
  });
  session.onEnd?.((reason) => {
    ended = reason;
    wake?.();
  });
  /** @param {(b: string) => boolean} pred @param {string} what */
  const until = (pred, what) =>
    new Promise((resolve, reject) => {
      if (pred(buf)) return resolve(undefined);
      const timer = setTimeout(() => {
        wake = null;
        reject(new Error(`no ${what} within ${timeoutMs} ms (got ${JSON.stringify(buf.slice(-200))})`));
      }, timeoutMs);
      wake = () => {
        if (pred(buf)) {
          clearTimeout(timer);
          wake = null;
          resolve(undefined);
        } else if (ended !== null) {
          clearTimeout(timer);
          wake = null;
          reject(new Error(`session ended before the ${what}: ${ended} (output ${JSON.stringify(buf.slice(-200))})`));
        }
      };
    });
  try {
    await until((b) => b.includes("READY"), "READY marker");
    // Let the tail of the marker line (CR LF) arrive before timing starts.
    await new Promise((r) => setTimeout(r, 50));
    /** @type {number[]} */
    const samples = [];
    for (let i = 0; i < n; i++) {
      const key = String.fromCharCode(97 + (i % 26));
      buf = "";
      const t0 = performance.now();
      session.write(key);
      await until((b) => b.includes(key), `echo of ${JSON.stringify(key)}`);
      samples.push(performance.now() - t0);
    }
    return samples;
  } finally {
    session.close();
  }
}

/**
 * Runs `file args` under a local pseudo-terminal (node-pty) in raw mode, as a person typing into the CLI would,
 * and times `n` keystroke echoes.
 * @param {{file:string, args:string[], env?:NodeJS.ProcessEnv}} cmd
 * @param {number} n
 */
export async function ptyEcho(cmd, n) {
  const require = createRequire(import.meta.url);
  /** @type {typeof import("node-pty")} */
  const pty = require("node-pty");
  // The local terminal goes raw first, exactly like an interactive `exec -it`: otherwise its own line discipline
  // would echo (and hold) the keystroke and the figure would not include the runtime at all.
  const p = pty.spawn("/bin/sh", ["-c", 'stty raw -echo && exec "$@"', "sh", cmd.file, ...cmd.args], {
    name: "xterm",
    cols: 80,
    rows: 24,
    env: /** @type {Record<string,string>} */ (cmd.env ?? process.env),
  });
  let exited = false;
  /** @type {((reason: string) => void) | null} */
  let endListener = null;
  p.onExit(({ exitCode, signal }) => {
    exited = true;
    endListener?.(`exit code ${exitCode}${signal ? `, signal ${signal}` : ""}`);
  });
  try {
    return await echoLoop(
      {
        write: (d) => p.write(d),
        onData: (cb) => void p.onData(cb),
        onEnd: (cb) => {
          endListener = cb;
        },
        close: () => {
          // EOF to cat (twice: once to flush the typed line, once to end it), then make sure nothing lingers.
          p.write("\x04\x04");
          setTimeout(() => {
            if (!exited) p.kill("SIGKILL");
          }, 2000).unref();
        },
      },
      n,
    );
  } catch (e) {
    if (!exited) p.kill("SIGKILL");
    throw e;
  }
}
