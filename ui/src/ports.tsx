/**
 * A runtime's published ports (`/v1/runtimes/{rt}/ports`): each with the URL to open (http and https through the
 * daemon's ingress) or the host address to connect to (tcp), publish one more, stop publishing one. What `runta ports
 * ls/add/rm` do, in the runtime's page.
 */
import { useState } from "preact/hooks";
import type { PortProtocol, PublishedPort } from "../../src/api/ports-spec.js";
import { api, rtPath, type Runtime } from "./api.js";
import { Outcome, useAction } from "./outcome.js";

const PROTOCOLS: PortProtocol[] = ["http", "https", "tcp"];

export function PortsPanel({ rt, onChanged }: { rt: Runtime; onChanged: () => void }) {
  const [protocol, setProtocol] = useState<PortProtocol>("http");
  const { busy, message, act } = useAction(onChanged);

  const publish = (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const fields = new FormData(form);
    const text = (k: string) => String(fields.get(k) ?? "").trim();
    // Numbers go as typed (a word becomes NaN → null): the API's message says what a port must be.
    const body = { port: Number(text("port")), protocol, ...(protocol === "tcp" && text("host_port") ? { host_port: Number(text("host_port")) } : {}) };
    void act(async () => {
      const p = await api<PublishedPort>("POST", `${rtPath(rt.id)}/ports`, body);
      form.reset();
      return `Port ${p.port} published at ${p.url}.`;
    });
  };

  return (
    <section class="ports" aria-label="Published ports">
      <h3>Ports</h3>
      {rt.ports.length === 0 ? (
        <p class="empty">No published ports.</p>
      ) : (
        <div class="table-wrap">
          <table class="grid" aria-label="Published ports">
            <thead>
              <tr>
                <th class="num">PORT</th>
                <th>PROTO</th>
                <th>OPEN</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {rt.ports.map((p) => (
                <tr key={p.port} data-port={p.port}>
                  <td class="num">{p.port}</td>
                  <td>{p.protocol}</td>
                  <td class="mono">
                    {/* http and https go through the daemon's ingress: a link; tcp is a host address for other clients. */}
                    {p.protocol === "tcp" ? (
                      p.url
                    ) : (
                      <a href={p.url} target="_blank" rel="noopener noreferrer">
                        {p.url}
                      </a>
                    )}
                  </td>
                  <td class="row-actions">
                    <button
                      type="button"
                      class="danger"
                      disabled={busy}
                      onClick={() =>
                        act(async () => {
                          await api("DELETE", `${rtPath(rt.id)}/ports/${p.port}`);
                          return `Port ${p.port} is no longer published.`;
                        })
                      }
                    >
                      Remove
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {rt.ports.some((p) => p.protocol === "https") ? (
        <p class="hint">
          https URLs carry a certificate of the daemon's own CA: <code>runta ports ca</code> prints it to trust.
        </p>
      ) : null}
      <form class="inline" onSubmit={publish} aria-label="Publish port">
        <label>
          Port <input name="port" inputMode="numeric" required class="mono" placeholder="8080" autoComplete="off" />
        </label>
        <label>
          Protocol
          <select name="protocol" value={protocol} onChange={(e) => setProtocol(e.currentTarget.value as PortProtocol)}>
            {PROTOCOLS.map((p) => (
              <option value={p}>{p}</option>
            ))}
          </select>
        </label>
        {protocol === "tcp" ? (
          <label>
            Host port <input name="host_port" inputMode="numeric" class="mono" placeholder="any free" autoComplete="off" />
          </label>
        ) : null}
        <button type="submit" disabled={busy}>
          Publish
        </button>
      </form>
      <Outcome message={message} />
    </section>
  );
}
