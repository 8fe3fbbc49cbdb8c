/**
 * Child processes for the benchmark, kept to the bare `child_process.spawn` so that the harness adds as little as
 * possible to what it measures (no shell, no output decoding unless asked).
 */
import { spawn } from "node:child_process";

/**
 * @typedef {object} RunOptions
 * @property {NodeJS.ProcessEnv} [env]
 * @property {string | Buffer} [input] written to stdin, then stdin is closed; without it stdin is /dev/null
 * @property {boolean} [keepStdout] keep stdout as a Buffer (otherwise only its byte count is kept)
 * @property {boolean} [allowFail] resolve instead of rejecting on a non-zero exit
 * @property {number} [timeoutMs] kill the process and reject after this long (default 120 s)
 */

/**
 * Runs a command to completion.
 * @param {string} file
 * @param {string[]} args
 * @param {RunOptions} [opts]
 * @returns {Promise<{code:number|null, signal:NodeJS.Signals|null, stdout:Buffer, stdoutBytes:number, stderr:string}>}
 */
export function run(file, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      env: opts.env ?? process.env,
      stdio: [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    /** @type {Buffer[]} */
    const out = [];
    let outBytes = 0;
    let err = "";
    child.stdout?.on("data", (chunk) => {
      outBytes += chunk.length;
      if (opts.keepStdout) out.push(chunk);
    });
    child.stderr?.on("data", (chunk) => {
      if (err.length < 64 * 1024) err += chunk.toString();
    });
    if (opts.input !== undefined && child.stdin) child.stdin.end(opts.input);
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 120_000);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new Error(`${file}: ${e.message}`));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const result = { code, signal, stdout: Buffer.concat(out), stdoutBytes: outBytes, stderr: err };
      if ((code !== 0 || signal) && !opts.allowFail) {
        const what = signal ? `killed by ${signal}` : `exit ${code}`;
        reject(new Error(`${file} ${args.join(" ")}: ${what}: ${err.trim().slice(0, 500)}`));
      } else resolve(result);
    });
  });
}

/**
 * Runs tasks with at most `limit` in flight, in order; rejects with the first error after all settled.
 * @template T, R
 * @param {T[]} items
 * @param {number} limit
 * @param {(item: T, index: number) => Promise<R>} fn
 * @returns {Promise<R[]>}
 */
export async function pool(items, limit, fn) {
  /** @type {R[]} */
  const results = new Array(items.length);
  /** @type {unknown} */
  let firstError;
  let next = 0;
  async function worker() {
    while (next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i], i);
      } catch (e) {
        firstError ??= e;
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (firstError) throw firstError;
  return results;
}

/** @param {number} ms */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `check` every `everyMs` until it returns a truthy value; rejects with `what` after `timeoutMs`.
 * @template T
 * @param {() => T | Promise<T>} check
 * @param {string} what
 * @param {{timeoutMs?: number, everyMs?: number}} [opts]
 * @returns {Promise<T>}
 */
export async function waitFor(check, what, opts = {}) {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(opts.everyMs ?? 2);
  }
}
