/**
 * Volumes (`/v1/volumes`): every volume with its size, use and the runtimes that mount it; create one (a name and a
 * size), delete one after confirmation (refused with the API's message while runtimes mount it). What `runta volume
 * create/ls/rm` do; mounting one is the create form's `Volumes` field (`run -v`).
 */
import { useRef, useState } from "preact/hooks";
import { LIMITS } from "../../src/api/limits.js";
import type { Volume } from "../../src/api/volumes.js";
import { api } from "./api.js";
import { ConfirmDelete } from "./confirm.js";
import { age, bytes } from "./format.js";
import { Outcome, useAction } from "./outcome.js";
import { usePoll } from "./poll.js";

export function VolumesView() {
  const { data, error, reload } = usePoll(() => api<Volume[]>("GET", "/v1/volumes"), []);
  const { busy, message, act } = useAction(reload);
  const [deleting, setDeleting] = useState<Volume | null>(null);
  const confirmRef = useRef<HTMLDialogElement>(null);

  const create = (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const fields = new FormData(form);
    const name = String(fields.get("name") ?? "").trim();
    const size = String(fields.get("size_mib") ?? "").trim();
    // The size goes as typed: a wrong one gets the API's own message.
    void act(async () => {
      const v = await api<Volume>("POST", "/v1/volumes", { name, ...(size ? { size_mib: Number(size) } : {}) });
      form.reset();
      return `Volume ${v.name} created (${bytes(v.size_bytes)}).`;
    });
  };

  const volumes = data ?? [];
  return (
    <section class="panel volumes" aria-label="Volumes">
      <div class="title">
        <h2>Volumes</h2>
      </div>
      <form class="inline" onSubmit={create} aria-label="Create volume">
        <label>
          Name <input name="name" required class="mono" autoComplete="off" placeholder="data" />
        </label>
        <label>
          Size (MiB) <input name="size_mib" inputMode="numeric" placeholder={String(LIMITS.volumeMibDefault)} />
        </label>
        <button type="submit" disabled={busy}>
          {busy ? "Working…" : "Create volume"}
        </button>
      </form>
      <Outcome message={message} />
      {error ? <p class="error">{error.message}</p> : null}
      {data && volumes.length === 0 ? (
        <p class="empty">No volumes. Create one here, then mount it from the New runtime form (like runta run -v NAME:/path).</p>
      ) : (
        <div class="table-wrap">
          <table class="grid" aria-label="Volumes">
            <thead>
              <tr>
                <th>NAME</th>
                <th class="num">USED</th>
                <th class="num">SIZE</th>
                <th>IN USE BY</th>
                <th class="num">CREATED</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {volumes.map((v) => (
                <tr key={v.id} data-name={v.name} title={v.id}>
                  <td class="mono">{v.name}</td>
                  {/* Bytes in use are known while some runtime has the volume's disk mounted. */}
                  <td class="num">{v.used_bytes === null ? "—" : bytes(v.used_bytes)}</td>
                  <td class="num">{bytes(v.size_bytes)}</td>
                  <td class="in-use">
                    {v.in_use_by.length
                      ? v.in_use_by.map((name) => (
                          <a href={`#/rt/${encodeURIComponent(name)}`} class="mono">
                            {name}
                          </a>
                        ))
                      : "—"}
                  </td>
                  <td class="num" title={v.created_at}>
                    {age(v.created_at, Date.now())}
                  </td>
                  <td class="row-actions">
                    <button
                      type="button"
                      class="danger"
                      disabled={busy}
                      onClick={() => {
                        setDeleting(v);
                        confirmRef.current?.showModal();
                      }}
                    >
                      Delete…
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <ConfirmDelete
        dialogRef={confirmRef}
        label="Confirm volume delete"
        onClose={() => setDeleting(null)}
        onDelete={() => {
          const v = deleting;
          if (v)
            void act(async () => {
              await api("DELETE", `/v1/volumes/${encodeURIComponent(v.id)}`);
              return `Volume ${v.name} deleted.`;
            });
        }}
      >
        Delete volume <strong>{deleting?.name}</strong>? Everything it holds is removed. This cannot be undone.
      </ConfirmDelete>
    </section>
  );
}
