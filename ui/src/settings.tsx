/**
 * A runtime's settings forms, each a `PATCH /v1/runtimes/{rt}` as `runta update` sends it: live resize (vCPUs,
 * memory) and the idle timeout (`--idle-timeout SECS`, or none). Values go as typed; the API's message says what is wrong.
 */
import { LIMITS } from "../../src/api/limits.js";
import type { Runtime } from "./api.js";

export function ResizeForm({ rt, busy, onResize }: { rt: Runtime; busy: boolean; onResize: (body: unknown) => void }) {
  const submit = (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.currentTarget as HTMLFormElement);
    const requests: Record<string, number> = {};
    const vcpus = String(form.get("vcpus") ?? "").trim();
    const memory = String(form.get("memory_mib") ?? "").trim();
    if (vcpus) requests.vcpus = Number(vcpus);
    if (memory) requests.memory_mib = Number(memory);
    onResize({ resources: { requests } });
  };
  return (
    <form class="resize" onSubmit={submit} aria-label="Resize">
      <h3>Resize</h3>
      <label>
        vCPUs <input name="vcpus" inputMode="decimal" placeholder={String(rt.resources.requests.vcpus)} />
      </label>
      <label>
        Memory (MiB) <input name="memory_mib" inputMode="numeric" placeholder={String(rt.resources.requests.memory_mib)} />
      </label>
      <button type="submit" disabled={busy}>
        Apply
      </button>
    </form>
  );
}

/** The idle timeout: suspended after this many seconds without activity (`runta update --idle-timeout`); Never removes it. */
export function IdleForm({ rt, busy, onSet }: { rt: Runtime; busy: boolean; onSet: (body: { idle_timeout_secs: number | null }) => void }) {
  const submit = (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const secs = String(new FormData(form).get("idle_timeout_secs") ?? "").trim();
    // An empty field is not "never": that is the button's job, so a stray Enter removes nothing.
    if (secs) onSet({ idle_timeout_secs: Number(secs) });
    form.reset();
  };
  return (
    <form class="idle-timeout" onSubmit={submit} aria-label="Idle timeout">
      <h3>Idle timeout</h3>
      <label title={`${LIMITS.idleTimeoutSecsMin}–${LIMITS.idleTimeoutSecsMax} s without activity, then suspended; the next exec or request wakes it`}>
        Seconds <input name="idle_timeout_secs" inputMode="numeric" placeholder={rt.idle_timeout_secs === null ? "never" : String(rt.idle_timeout_secs)} />
      </label>
      <div class="actions">
        <button type="submit" disabled={busy}>
          Set
        </button>
        <button type="button" disabled={busy || rt.idle_timeout_secs === null} onClick={() => onSet({ idle_timeout_secs: null })}>
          Never
        </button>
      </div>
    </form>
  );
}
