/**
 * A runtime's network and egress policy (`GET`/`PUT /v1/runtimes/{rt}/egress`) and its audit trail
 * (`…/egress/events`): what `runta egress describe/set/events` show, in the runtime's page.
 */
import { useState } from "preact/hooks";
import type { EgressEvent, EgressMode, RuntimeEgress } from "../../src/api/egress.js";
import { api, rtPath } from "./api.js";
import { bytes } from "./format.js";
import { usePoll } from "./poll.js";

const MODES: EgressMode[] = ["open", "allowlist", "denylist"];
/** Events shown: the most recent ones (the API's default page). */
const EVENTS_SHOWN = 50;

export function EgressPanel({ id }: { id: string }) {
  const { data, error, reload } = usePoll(
    async () => {
      const [egress, events] = await Promise.all([
        api<RuntimeEgress>("GET", `${rtPath(id)}/egress`),
        api<EgressEvent[]>("GET", `${rtPath(id)}/egress/events?limit=${EVENTS_SHOWN}`),
      ]);
      return { egress, events };
    },
    [id],
  );
  if (!data) return error ? <p class="error">{error.message}</p> : null;
  const { egress, events } = data;
  return (
    <section class="egress" aria-label="Network and egress">
      <h3>Network</h3>
      <p>
        {egress.network === "none" ? "Loopback only (network none): nothing to set." : <>Address <span class="mono">{egress.address ?? "—"}</span>, egress {egress.policy.mode}</>}
      </p>
      {egress.network === "none" ? null : <PolicyForm egress={egress} onSaved={reload} />}
      <h3>Egress events</h3>
      {events.length === 0 ? (
        <p class="empty">No connections yet.</p>
      ) : (
        <div class="table-wrap">
          <table class="grid events" aria-label="Egress events">
            <thead>
              <tr>
                <th>TIME</th>
                <th>PROTO</th>
                <th>HOST</th>
                <th>IP:PORT</th>
                <th>VERDICT</th>
                <th>RULE</th>
                <th class="num">OUT / IN</th>
              </tr>
            </thead>
            <tbody>
              {[...events].reverse().map((e) => (
                <tr key={e.seq} title={e.reason ?? ""}>
                  <td class="mono">{e.time.slice(11, 19)}</td>
                  <td>{e.protocol}</td>
                  <td>{e.host ?? "—"}</td>
                  <td class="mono">{e.ip ? `${e.ip}:${e.port}` : `:${e.port}`}</td>
                  <td class={e.verdict === "denied" ? "error" : ""}>{e.verdict}</td>
                  <td class="mono">{e.rule}</td>
                  <td class="num">
                    {bytes(e.bytes_out)} / {bytes(e.bytes_in)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

/** The policy editor: a mode and its entries (one per line); each save replaces the whole policy, as the API does. */
function PolicyForm({ egress, onSaved }: { egress: RuntimeEgress; onSaved: () => void }) {
  const [mode, setMode] = useState<EgressMode>(egress.policy.mode);
  const [entries, setEntries] = useState((egress.policy.mode === "denylist" ? egress.policy.deny : egress.policy.allow).join("\n"));
  const [message, setMessage] = useState<{ error: boolean; text: string } | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    const list = entries.split("\n").map((l) => l.trim()).filter(Boolean);
    const body = mode === "allowlist" ? { mode, allow: list } : mode === "denylist" ? { mode, deny: list } : { mode };
    try {
      await api("PUT", `${rtPath(egress.runtime_id)}/egress`, body);
      setMessage({ error: false, text: "Saved." });
      onSaved();
    } catch (err) {
      setMessage({ error: true, text: (err as Error).message });
    }
  };
  return (
    <form class="policy" onSubmit={submit} aria-label="Egress policy">
      <label>
        Mode
        <select name="mode" value={mode} onChange={(e) => setMode(e.currentTarget.value as EgressMode)}>
          {MODES.map((m) => (
            <option value={m}>{m}</option>
          ))}
        </select>
      </label>
      {mode === "open" ? null : (
        <label>
          {mode === "allowlist" ? "Allow" : "Deny"} (host, *.domain or CIDR, one per line)
          <textarea name="entries" rows={3} value={entries} onInput={(e) => setEntries(e.currentTarget.value)} class="mono" />
        </label>
      )}
      <div class="actions">
        <button type="submit">Save policy</button>
        {message ? (
          <span class={message.error ? "error" : "ok"} role={message.error ? "alert" : "status"}>
            {message.text}
          </span>
        ) : null}
      </div>
    </form>
  );
}
