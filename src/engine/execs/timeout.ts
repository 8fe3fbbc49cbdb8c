/**
 * Which timeout an exec runs under: its own when it sets one, else its runtime's default (`--exec-timeout`, seed 000's
 * `execTimeout`), else none here (a buffered exec then takes LIMITS.execTimeoutSecsDefault; streamed and detached ones
 * run unbounded). Both the exec's own and the runtime's are capped by LIMITS.execTimeoutSecsMax in the API schemas.
 */
import type { RuntimeRecord } from "../../store/record.js";

export function execTimeoutSecs(rec: Pick<RuntimeRecord, "execTimeoutSecs">, own: number | undefined): number | undefined {
  return own ?? rec.execTimeoutSecs ?? undefined;
}
