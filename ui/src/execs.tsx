/**
 * A runtime's recent execs (`GET /v1/runtimes/{rt}/execs`, what `runta top` lists): command, kind, exit code and
 * duration; a terminal session that lost its client can be attached to from here.
 */
import type { ExecInfo } from "../../src/api/execs.js";
import { api, rtPath } from "./api.js";
import { age } from "./format.js";
import { usePoll } from "./poll.js";

/** Execs shown, newest first. */
const SHOWN = 20;

function duration(e: ExecInfo, now: number): string {
  const ms = (e.ended_at ? Date.parse(e.ended_at) : now) - Date.parse(e.started_at);
  return ms < 1000 ? `${ms} ms` : ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.floor(ms / 60_000)} min`;
}

export function ExecHistory({ id, onAttach }: { id: string; onAttach: (execId: string) => void }) {
  const { data, error, at } = usePoll(() => api<ExecInfo[]>("GET", `${rtPath(id)}/execs`), [id]);
  if (!data) return error ? <p class="error">{error.message}</p> : null;
  const execs = [...data].sort((a, b) => b.started_at.localeCompare(a.started_at)).slice(0, SHOWN);
  return (
    <section class="execs" aria-label="Recent execs">
      <h3>Execs</h3>
      {execs.length === 0 ? (
        <p class="empty">No execs yet.</p>
      ) : (
        <div class="table-wrap">
          <table class="grid" aria-label="Execs">
            <thead>
              <tr>
                <th>COMMAND</th>
                <th>KIND</th>
                <th>STATUS</th>
                <th class="num">EXIT</th>
                <th class="num">DURATION</th>
                <th class="num">STARTED</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {execs.map((e) => (
                <tr key={e.id} data-exec={e.id}>
                  <td class="mono cmd" title={e.command.join(" ")}>
                    {e.command.join(" ")}
                  </td>
                  <td>{e.kind}</td>
                  <td>{e.status === "ended" ? (e.ended_by ?? "ended") : e.attached === false ? "detached" : "running"}</td>
                  <td class={`num ${e.exit_code ? "error" : ""}`}>{e.exit_code ?? (e.signal ? e.signal : "—")}</td>
                  <td class="num">{duration(e, at || Date.now())}</td>
                  <td class="num">{age(e.started_at, at || Date.now())}</td>
                  <td>
                    {e.status === "running" && e.tty && e.attached === false ? (
                      <button type="button" onClick={() => onAttach(e.id)}>
                        Attach
                      </button>
                    ) : null}
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
