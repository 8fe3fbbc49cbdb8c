/**
 * A runtime's checkpoints (`GET /v1/checkpoints`, those whose source is this runtime): create one, restore one as a
 * new runtime, delete one after confirmation. What `runta checkpoint create/ls/restore/rm` do, in the runtime's page.
 */
import { useRef, useState } from "preact/hooks";
import type { Checkpoint } from "../../src/api/files.js";
import { api, rtPath, type Runtime } from "./api.js";
import { ConfirmDelete } from "./confirm.js";
import { age, bytes } from "./format.js";
import { Outcome, useAction } from "./outcome.js";
import { usePoll } from "./poll.js";

export function CheckpointsPanel({ id }: { id: string }) {
  // The list route has no source filter: the panel keeps the checkpoints taken from this runtime.
  const { data, error, reload } = usePoll(async () => (await api<Checkpoint[]>("GET", "/v1/checkpoints")).filter((c) => c.source_runtime_id === id), [id]);
  const [creating, setCreating] = useState<string | null>(null);
  const [restoring, setRestoring] = useState<Checkpoint | null>(null);
  const [deleting, setDeleting] = useState<Checkpoint | null>(null);
  const { message, act } = useAction(reload);
  const confirmRef = useRef<HTMLDialogElement>(null);

  const create = (e: Event) => {
    e.preventDefault();
    const form = e.currentTarget as HTMLFormElement;
    const name = String(new FormData(form).get("name") ?? "").trim();
    setCreating(name);
    // The POST answers once the checkpoint is ready; the poll shows it as "creating" meanwhile.
    void act(async () => {
      const cp = await api<Checkpoint>("POST", `${rtPath(id)}/checkpoints`, { name });
      form.reset();
      return { error: false, text: `Checkpoint ${cp.display_name} is ${cp.state}.` };
    }).finally(() => setCreating(null));
  };

  const rows = data ?? [];
  return (
    <section class="checkpoints" aria-label="Checkpoints">
      <h3>Checkpoints</h3>
      <form class="inline" onSubmit={create} aria-label="Create checkpoint">
        <label>
          Name <input name="name" required class="mono" autoComplete="off" />
        </label>
        <button type="submit" disabled={creating !== null}>
          {creating !== null ? "Creating…" : "Create checkpoint"}
        </button>
      </form>
      <Outcome message={message} />
      {error ? <p class="error">{error.message}</p> : null}
      {data && rows.length === 0 && creating === null ? (
        <p class="empty">No checkpoints of this runtime.</p>
      ) : (
        <div class="table-wrap">
          <table class="grid" aria-label="Checkpoints of this runtime">
            <thead>
              <tr>
                <th>NAME</th>
                <th>STATE</th>
                <th class="num">SIZE</th>
                <th class="num">CREATED</th>
                <th>IN USE BY</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {creating !== null && !rows.some((c) => c.display_name === creating) ? (
                <tr data-name={creating} data-state="creating">
                  <td class="mono">{creating}</td>
                  <td>creating</td>
                  <td class="num">—</td>
                  <td class="num">—</td>
                  <td>—</td>
                  <td />
                </tr>
              ) : null}
              {rows.map((c) => (
                <tr key={c.id} data-name={c.display_name} data-state={c.state} title={c.error ?? ""}>
                  <td class="mono">{c.display_name}</td>
                  <td class={c.state === "error" ? "error" : ""}>{c.state}</td>
                  <td class="num">{c.state === "ready" ? bytes(c.size_bytes) : "—"}</td>
                  <td class="num" title={c.created_at}>
                    {age(c.created_at, Date.now())}
                  </td>
                  <td>{c.in_use_by.join(" ") || "—"}</td>
                  <td class="row-actions">
                    <button type="button" disabled={c.state !== "ready"} onClick={() => setRestoring(c)}>
                      Restore…
                    </button>
                    <button
                      type="button"
                      class="danger"
                      disabled={c.state === "creating"}
                      onClick={() => {
                        setDeleting(c);
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
      {restoring ? (
        <RestoreForm
          cp={restoring}
          onCancel={() => setRestoring(null)}
          onRestore={(name) =>
            act(async () => {
              const rt = await api<Runtime>("POST", `/v1/checkpoints/${encodeURIComponent(restoring.id)}/restore`, { name });
              setRestoring(null);
              return { error: false, text: `Restored ${restoring.display_name} as new runtime`, link: { href: `#/rt/${rt.id}`, name: rt.name } };
            })
          }
        />
      ) : null}
      <ConfirmDelete
        dialogRef={confirmRef}
        label="Confirm checkpoint delete"
        onClose={() => setDeleting(null)}
        onDelete={() => {
          const cp = deleting;
          if (cp)
            void act(async () => {
              await api("DELETE", `/v1/checkpoints/${encodeURIComponent(cp.id)}`);
              return { error: false, text: `Checkpoint ${cp.display_name} deleted.` };
            });
        }}
      >
        Delete checkpoint <strong>{deleting?.display_name}</strong>? Its frozen filesystem is removed; runtimes cannot be restored from it any more.
      </ConfirmDelete>
    </section>
  );
}

/** The name of the runtime a restore creates (the API's create rules apply; its message is shown when refused). */
function RestoreForm({ cp, onCancel, onRestore }: { cp: Checkpoint; onCancel: () => void; onRestore: (name: string) => Promise<void> }) {
  const [busy, setBusy] = useState(false);
  return (
    <form
      class="inline"
      aria-label="Restore checkpoint"
      onSubmit={(e) => {
        e.preventDefault();
        const name = String(new FormData(e.currentTarget).get("name") ?? "").trim();
        setBusy(true);
        void onRestore(name).finally(() => setBusy(false));
      }}
      onKeyDown={(e) => e.key === "Escape" && onCancel()}
    >
      <span>
        Restore <strong class="mono">{cp.display_name}</strong> as new runtime
      </span>
      <label>
        Name <input name="name" required class="mono" autoComplete="off" autoFocus />
      </label>
      <button type="submit" class="primary" disabled={busy}>
        {busy ? "Restoring…" : "Restore"}
      </button>
      <button type="button" onClick={onCancel}>
        Cancel
      </button>
    </form>
  );
}
