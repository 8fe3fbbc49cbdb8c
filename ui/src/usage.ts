/**
 * Live usage for the fleet without making the daemon read every cgroup on every poll: usage (4 cgroup files per
 * runtime, ~0.2 ms each runtime on the test machine) is asked for on every USAGE_EVERY-th poll and carried over in
 * between, and CPU % is computed from two successive usage samples, as `docker stats` does (100% = one core busy).
 */
import type { Runtime } from "./api.js";

/** One poll in this many asks the daemon for usage (with POLL_MS 1.5 s: every 4.5 s). */
export const USAGE_EVERY = 3;

type Usage = NonNullable<Runtime["usage"]>;

/** Keeps the last usage sample per runtime and the CPU % between the last two. */
export class UsageSampler {
  private polls = 0;
  private readonly last = new Map<string, { usage: Usage; at: number }>();
  private readonly cpu = new Map<string, string>();

  /** Whether the next poll should ask for usage. */
  wantUsage(): boolean {
    return this.polls++ % USAGE_EVERY === 0;
  }

  /**
   * Takes a poll's runtimes (with usage when `sampled`), fills in the last known usage when not, and returns the
   * CPU % per runtime id. A runtime that no longer runs has no usage.
   */
  update(runtimes: Runtime[], sampled: boolean, at: number): Map<string, string> {
    for (const rt of runtimes) {
      const live = rt.status === "running" || rt.status === "paused";
      if (!live) {
        this.last.delete(rt.id);
        this.cpu.delete(rt.id);
        rt.usage = null;
        continue;
      }
      if (!sampled) {
        rt.usage = this.last.get(rt.id)?.usage ?? null;
        continue;
      }
      if (!rt.usage) continue;
      const prev = this.last.get(rt.id);
      if (prev && at > prev.at) {
        const pct = ((rt.usage.cpu_usage_ns - prev.usage.cpu_usage_ns) / ((at - prev.at) * 1e6)) * 100;
        this.cpu.set(rt.id, `${Math.max(0, pct).toFixed(1)}%`);
      }
      this.last.set(rt.id, { usage: rt.usage, at });
    }
    return this.cpu;
  }
}
