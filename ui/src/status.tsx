/** The status badge: every status its own colour; suspended is told apart from paused and says why. */
import type { RuntimeStatus } from "../../src/api/schemas.js";
import type { Runtime } from "./api.js";

/**
 * Every status, in the order the filter lists them. A record over the API's status type, so the compiler says when
 * the API gains one (importing the API's runtime list would bundle zod into the page).
 */
const STATUS_ORDER: Record<RuntimeStatus, number> = { running: 0, paused: 1, suspended: 2, creating: 3, shutdown: 4, error: 5, crashed: 6, deleting: 7 };
export const STATUSES = (Object.keys(STATUS_ORDER) as RuntimeStatus[]).sort((a, b) => STATUS_ORDER[a] - STATUS_ORDER[b]);

export function StatusBadge({ rt }: { rt: Pick<Runtime, "status" | "last_error"> }) {
  const why = rt.status === "suspended" || rt.status === "error" || rt.status === "crashed" ? rt.last_error : null;
  return (
    <span class={`status status-${rt.status}`} title={why ?? rt.status}>
      {rt.status}
      {why ? <span class="why"> ({why})</span> : null}
    </span>
  );
}
