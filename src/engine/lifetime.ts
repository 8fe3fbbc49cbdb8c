/**
 * Lifetimes (`--lifetime`, seed 002's `timeout_seconds`): a runtime shuts down, its filesystem kept, `lifetimeSecs`
 * after it was last started. It is not an idle timeout: activity does not extend it. The deadline is computed from
 * the record (started_at + lifetime), so nothing is kept in memory: a boot starts a new lifetime because it sets a new
 * started_at, and a restarted daemon's first sweep finds the runtimes whose deadline passed while it was down.
 */
import type { Logger } from "../log.js";
import type { RuntimeRecord } from "../store/record.js";
import type { RuntimeStore } from "../store/store.js";
import { isLive } from "./status.js";

/** How often the deadlines are checked: a runtime stops within this much after its lifetime ends. */
const SWEEP_MS = 1000;

/** When a running, paused or suspended runtime's lifetime ends (ISO time), or null (no lifetime, or not running). */
export function shutdownAt(rec: Pick<RuntimeRecord, "lifetimeSecs" | "startedAt" | "status">): string | null {
  if (rec.lifetimeSecs === null || rec.startedAt === null || !isLive(rec.status)) return null;
  return new Date(Date.parse(rec.startedAt) + rec.lifetimeSecs * 1000).toISOString();
}

/**
 * Stops runtimes whose lifetime is over. `stop` is told the started_at it judged by, so a runtime booted again in
 * between (a new lifetime) is left alone.
 */
export class LifetimeSweeper {
  private readonly timer: NodeJS.Timeout;
  private sweeping = false;

  constructor(
    private readonly store: Pick<RuntimeStore, "withLifetime">,
    private readonly stop: (id: string, startedAt: string) => Promise<unknown>,
    private readonly logger: Logger,
  ) {
    this.timer = setInterval(() => void this.sweep(), SWEEP_MS);
    this.timer.unref();
  }

  /** One pass (also called by tests); a pass still running makes the next one a no-op. */
  async sweep(now = Date.now()): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      for (const rec of this.store.withLifetime()) {
        const at = shutdownAt(rec);
        if (at === null || Date.parse(at) > now) continue;
        this.logger.info("lifetime over: shutting the runtime down (filesystem kept)", { id: rec.id, name: rec.name, lifetime_secs: rec.lifetimeSecs });
        await this.stop(rec.id, rec.startedAt!).catch((err: unknown) =>
          this.logger.warn("could not shut down a runtime whose lifetime is over; trying again", { id: rec.id, error: (err as Error).message }),
        );
      }
    } finally {
      this.sweeping = false;
    }
  }

  close(): void {
    clearInterval(this.timer);
  }
}
