/**
 * Small statistics helpers for the benchmark: every figure the report prints is computed here, so the
 * table, the JSON and the target checks agree on what "median" and "p99" mean.
 */

/**
 * The q-quantile (0..1) of sorted samples, by linear interpolation between the closest ranks
 * (the same definition as numpy's default), so p50 of an even-sized sample is the mean of the middle two.
 * @param {number[]} sorted ascending samples
 * @param {number} q
 */
export function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * Summary of a list of durations in milliseconds; `errors` counts failed attempts that produced no sample.
 * @param {number[]} samples
 * @param {number} [errors]
 * @returns {{n:number, errors:number, median:number, p10:number, p90:number, p99:number, min:number, max:number}}
 */
export function summarize(samples, errors = 0) {
  const s = [...samples].sort((a, b) => a - b);
  return {
    n: s.length,
    errors,
    median: quantile(s, 0.5),
    p10: quantile(s, 0.1),
    p90: quantile(s, 0.9),
    p99: quantile(s, 0.99),
    min: s.length ? s[0] : NaN,
    max: s.length ? s[s.length - 1] : NaN,
  };
}

/**
 * Times one async call in milliseconds with the monotonic clock.
 * @template T
 * @param {() => Promise<T>} fn
 * @returns {Promise<{ms:number, value:T}>}
 */
export async function timed(fn) {
  const t0 = performance.now();
  const value = await fn();
  return { ms: performance.now() - t0, value };
}

/**
 * Collects samples per (metric, system) pair, plus the failures, so a phase can keep going past an error and
 * the report still says how many attempts failed.
 */
export class Recorder {
  constructor() {
    /** @type {Map<string, Map<string, {samples:number[], errors:number, lastError?:string}>>} */
    this.data = new Map();
  }

  /** @param {string} metric @param {string} system */
  slot(metric, system) {
    let bySystem = this.data.get(metric);
    if (!bySystem) this.data.set(metric, (bySystem = new Map()));
    let slot = bySystem.get(system);
    if (!slot) bySystem.set(system, (slot = { samples: [], errors: 0 }));
    return slot;
  }

  /** @param {string} metric @param {string} system @param {number} ms */
  add(metric, system, ms) {
    this.slot(metric, system).samples.push(ms);
  }

  /** @param {string} metric @param {string} system @param {unknown} err */
  fail(metric, system, err) {
    const slot = this.slot(metric, system);
    slot.errors += 1;
    slot.lastError = err instanceof Error ? err.message : String(err);
  }

  /**
   * Runs and times `fn`, recording either the duration or the failure; returns the value or undefined on failure.
   * @template T
   * @param {string} metric @param {string} system @param {() => Promise<T>} fn
   * @returns {Promise<T | undefined>}
   */
  async measure(metric, system, fn) {
    try {
      const { ms, value } = await timed(fn);
      this.add(metric, system, ms);
      return value;
    } catch (err) {
      this.fail(metric, system, err);
      return undefined;
    }
  }

  /** @param {string} metric @param {string} system */
  summary(metric, system) {
    const slot = this.data.get(metric)?.get(system);
    if (!slot) return undefined;
    return { ...summarize(slot.samples, slot.errors), ...(slot.lastError ? { lastError: slot.lastError } : {}) };
  }

  /** Every summary as plain JSON: `{ metric: { system: summary } }`. */
  toJSON() {
    /** @type {Record<string, Record<string, ReturnType<typeof summarize> & {lastError?: string}>>} */
    const out = {};
    for (const [metric, bySystem] of this.data) {
      out[metric] = {};
      for (const system of bySystem.keys()) out[metric][system] = /** @type {any} */ (this.summary(metric, system));
    }
    return out;
  }
}
