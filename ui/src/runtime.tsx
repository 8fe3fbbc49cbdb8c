/**
 * One runtime: its record with live usage (memory, disk), lifecycle buttons, resize and idle timeout, delete with
 * confirmation, a terminal, its execs, published ports, checkpoints and egress policy.
 */
import { useRef, useState } from "preact/hooks";
import { api, rtPath, type Runtime } from "./api.js";
import { age, bytes, disk, idleLine, labelPairs, mib } from "./format.js";
import { usePoll } from "./poll.js";
import { go } from "./route.js";
import { StatusBadge } from "./status.js";
import { CheckpointsPanel } from "./checkpoints.js";
import { ConfirmDelete } from "./confirm.js";
import { EgressPanel } from "./egress.js";
import { ExecHistory } from "./execs.js";
import { PortsPanel } from "./ports.js";
import { IdleForm, ResizeForm } from "./settings.js";
import { TerminalView, type TerminalTarget } from "./terminal.js";

/** The lifecycle verbs the API offers, and when each makes sense. */
const VERBS: { verb: string; label: string; when: Runtime["status"][] }[] = [
  { verb: "start", label: "Boot", when: ["shutdown", "crashed", "error"] },
  { verb: "pause", label: "Pause", when: ["running"] },
  { verb: "resume", label: "Resume", when: ["paused", "suspended"] },
  { verb: "stop", label: "Shutdown", when: ["running", "paused", "suspended", "crashed"] },
];

export function RuntimeView({ id }: { id: string }) {
  const { data: rt, error, reload } = usePoll(() => api<Runtime>("GET", rtPath(id)), [id]);
  const [busy, setBusy] = useState<string | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const [shell, setShell] = useState<TerminalTarget | null>(null);
  const confirmRef = useRef<HTMLDialogElement>(null);

  const act = async (label: string, fn: () => Promise<unknown>) => {
    setBusy(label);
    setActionError(null);
    try {
      await fn();
      reload();
    } catch (err) {
      setActionError((err as Error).message);
    } finally {
      setBusy(null);
    }
  };

  if (!rt) {
    return <section class="panel">{error ? <p class="error">{error.message}</p> : <p>Loading…</p>}</section>;
  }
  const usage = rt.usage;
  return (
    <section class="panel runtime">
      <div class="title">
        <a href="#/" class="back" title="Back to all runtimes (Esc)">
          ← Runtimes
        </a>
        <h2>{rt.name}</h2>
        <StatusBadge rt={rt} />
      </div>
      <div class="actions" role="toolbar" aria-label="Lifecycle">
        {VERBS.map(({ verb, label, when }) => (
          <button type="button" disabled={busy !== null || !when.includes(rt.status)} onClick={() => act(label, () => api("POST", `${rtPath(rt.id)}/${verb}`))}>
            {busy === label ? `${label}…` : label}
          </button>
        ))}
        <button type="button" class="danger" disabled={busy !== null} onClick={() => confirmRef.current?.showModal()}>
          Delete…
        </button>
      </div>
      {actionError ? (
        <p class="error" role="alert">
          {actionError}
        </p>
      ) : null}
      {error ? <p class="error banner">{error.message}</p> : null}

      <div class="columns">
        <dl class="record">
          <dt>ID</dt>
          <dd class="mono">{rt.id}</dd>
          <dt>Image</dt>
          <dd>{rt.image}</dd>
          <dt>vCPUs</dt>
          <dd>{rt.resources.requests.vcpus}</dd>
          <dt>Memory</dt>
          <dd>
            {usage ? `${bytes(usage.memory_bytes)} used of ` : ""}
            {mib(rt.resources.requests.memory_mib)}
            {usage ? <Meter used={usage.memory_bytes} limit={usage.memory_limit_bytes} /> : null}
          </dd>
          <dt>Disk</dt>
          <dd class="disk">
            {disk(rt)}
            {usage?.disk_used_bytes !== undefined && usage.disk_size_bytes ? <Meter used={usage.disk_used_bytes} limit={usage.disk_size_bytes} /> : null}
          </dd>
          {usage ? (
            <>
              <dt>CPU time</dt>
              <dd>{(usage.cpu_usage_ns / 1e9).toFixed(2)} s</dd>
              <dt>Processes</dt>
              <dd>{usage.pids}</dd>
            </>
          ) : null}
          <dt>Labels</dt>
          <dd>{labelPairs(rt.labels).map((l) => <span class="label">{l}</span>) || "—"}</dd>
          <dt>Env</dt>
          <dd class="mono">{rt.env_names.join(" ") || "—"}</dd>
          <dt>Idle</dt>
          <dd class="idle">{idleLine(rt, Date.now())}</dd>
          <dt>Created</dt>
          <dd title={rt.created_at}>{age(rt.created_at, Date.now())} ago</dd>
          <dt>Started</dt>
          <dd title={rt.started_at ?? ""}>{rt.started_at ? `${age(rt.started_at, Date.now())} ago` : "—"}</dd>
          {rt.last_error ? (
            <>
              <dt>Last error</dt>
              <dd class="error">{rt.last_error}</dd>
            </>
          ) : null}
          <dt>Revision</dt>
          <dd>{rt.revision}</dd>
        </dl>
        <div class="settings">
          <ResizeForm rt={rt} busy={busy !== null} onResize={(body) => act("Resize", () => api("PATCH", rtPath(rt.id), body))} />
          <IdleForm rt={rt} busy={busy !== null} onSet={(body) => act("Idle timeout", () => api("PATCH", rtPath(rt.id), body))} />
        </div>
      </div>

      <div class="shell">
        {shell === null ? (
          <ShellLauncher disabled={rt.status !== "running"} onOpen={(command) => setShell({ command })} />
        ) : (
          <TerminalView runtime={rt.id} target={shell} onClose={() => setShell(null)} />
        )}
      </div>

      <ExecHistory id={rt.id} onAttach={(execId) => setShell({ attach: execId })} />

      <PortsPanel rt={rt} onChanged={reload} />

      <CheckpointsPanel id={rt.id} />

      <EgressPanel id={rt.id} />

      <ConfirmDelete
        dialogRef={confirmRef}
        label="Confirm delete"
        onDelete={() =>
          void act("Delete", async () => {
            await api("DELETE", rtPath(rt.id));
            go("/");
          })
        }
      >
        Delete <strong>{rt.name}</strong>? Its processes are stopped and its filesystem is removed. This cannot be undone.
      </ConfirmDelete>
    </section>
  );
}

function Meter({ used, limit }: { used: number; limit: number }) {
  const pct = limit > 0 ? Math.min(100, (used / limit) * 100) : 0;
  return <meter min={0} max={100} value={pct} high={85} optimum={0} title={`${pct.toFixed(0)}%`} />;
}

function ShellLauncher({ disabled, onOpen }: { disabled: boolean; onOpen: (command: string) => void }) {
  const [command, setCommand] = useState("sh");
  return (
    <form
      class="launcher"
      onSubmit={(e) => {
        e.preventDefault();
        if (command.trim()) onOpen(command.trim());
      }}
    >
      <label>
        Command <input name="command" value={command} onInput={(e) => setCommand(e.currentTarget.value)} class="mono" />
      </label>
      <button type="submit" class="primary" disabled={disabled} title={disabled ? "The runtime must be running" : "Open a terminal (exec -it)"}>
        Open terminal
      </button>
    </form>
  );
}
