/**
 * The fleet: every runtime in one dense table like `docker ps`, live, filtered by status, name/id and labels.
 * Rows are memoised on what they show, so a poll that changes one runtime re-renders one row, not 500.
 */
import { memo } from "preact/compat";
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from "preact/hooks";
import { listRuntimes, type Runtime } from "./api.js";
import { age, bytes, disk, labelPairs, mib, shortId } from "./format.js";
import { usePoll } from "./poll.js";
import { STATUSES, StatusBadge } from "./status.js";
import { UsageSampler } from "./usage.js";
import { matches, statusMatches } from "./filter.js";
import { go } from "./route.js";

export function Fleet() {
  const sampler = useMemo(() => new UsageSampler(), []);
  // Loads the fleet (with usage every few polls) and marks when the data arrived, for the render measure below.
  const { data: fleet, error, at } = usePoll(async () => {
    const sampled = sampler.wantUsage();
    const runtimes = await listRuntimes(sampled);
    const cpu = sampler.update(runtimes, sampled, Date.now());
    if (performance.getEntriesByName("fleet-render").length > 200) performance.clearMeasures("fleet-render");
    performance.clearMarks();
    performance.mark("fleet-data");
    return { runtimes, cpu };
  }, []);
  const data = fleet?.runtimes ?? null;
  const [text, setText] = useState(() => sessionStorage.getItem("fleet.filter") ?? "");
  const [status, setStatus] = useState(() => sessionStorage.getItem("fleet.status") ?? "active");
  const [cursor, setCursor] = useState(0);
  const filterRef = useRef<HTMLInputElement>(null);
  useEffect(() => {
    sessionStorage.setItem("fleet.filter", text);
    sessionStorage.setItem("fleet.status", status);
  }, [text, status]);

  const rows = useMemo(() => {
    const words = text.split(/\s+/).filter(Boolean);
    return (data ?? []).filter((rt) => statusMatches(rt, status) && matches(rt, words));
  }, [data, text, status]);

  // How long a poll's result takes to reach the screen (the README's 500-runtime figures come from these marks).
  useLayoutEffect(() => {
    if (!data) return;
    performance.mark("fleet-rendered");
    performance.measure("fleet-render", "fleet-data", "fleet-rendered");
  }, [data]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement || e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key === "/") {
        e.preventDefault();
        filterRef.current?.focus();
      } else if (e.key === "j" || e.key === "ArrowDown") {
        e.preventDefault();
        setCursor((c) => Math.min(rows.length - 1, c + 1));
      } else if (e.key === "k" || e.key === "ArrowUp") {
        e.preventDefault();
        setCursor((c) => Math.max(0, c - 1));
      } else if (e.key === "Enter" && rows[cursor]) {
        go(`/rt/${rows[cursor]!.id}`);
      } else if (e.key === "n") {
        go("/new");
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [rows, cursor]);

  const now = at || Date.now();
  const total = data?.length ?? 0;
  return (
    <section class="fleet">
      <div class="toolbar">
        <input
          ref={filterRef}
          type="search"
          class="filter"
          placeholder="Filter: name, id prefix, label key=value   ( / )"
          aria-label="Filter runtimes by name, id or label"
          value={text}
          onInput={(e) => {
            setText(e.currentTarget.value);
            setCursor(0);
          }}
          onKeyDown={(e) => e.key === "Escape" && (setText(""), e.currentTarget.blur())}
        />
        <select aria-label="Status" value={status} onChange={(e) => (setStatus(e.currentTarget.value), setCursor(0))}>
          <option value="active">active</option>
          <option value="all">all</option>
          {STATUSES.map((s) => (
            <option value={s}>{s}</option>
          ))}
        </select>
        <span class="count" aria-live="polite">
          {data ? `${rows.length} of ${total}` : "loading…"}
        </span>
        <a class="button primary" href="#/new">
          New runtime
        </a>
      </div>
      {error ? <p class="error banner">{error.message}</p> : null}
      <div class="table-wrap">
        <table class="grid" aria-label="Runtimes">
          <thead>
            <tr>
              <th>NAME</th>
              <th class="narrow-hide">ID</th>
              <th>STATUS</th>
              <th class="narrow-hide">IMAGE</th>
              <th class="num narrow-hide">CPUS</th>
              <th class="num">CPU %</th>
              <th class="num">MEMORY</th>
              <th class="num narrow-hide">DISK</th>
              <th class="narrow-hide">LABELS</th>
              <th class="num">CREATED</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((rt, i) => (
              <Row key={rt.id} rt={rt} selected={i === cursor} created={age(rt.created_at, now)} cpu={fleet?.cpu.get(rt.id) ?? "—"} />
            ))}
          </tbody>
        </table>
        {data && rows.length === 0 ? (
          <p class="empty">{total === 0 ? "No runtimes yet. Create one here or with `runta run`." : "No runtime matches the filter."}</p>
        ) : null}
      </div>
    </section>
  );
}

const Row = memo(
  function Row({ rt, selected, created, cpu }: { rt: Runtime; selected: boolean; created: string; cpu: string }) {
    return (
      <tr class={selected ? "selected" : ""} data-name={rt.name} data-status={rt.status} onClick={() => go(`/rt/${rt.id}`)}>
        <td class="name">
          <a href={`#/rt/${rt.id}`}>{rt.name}</a>
        </td>
        <td class="mono narrow-hide">{shortId(rt.id)}</td>
        <td>
          <StatusBadge rt={rt} />
        </td>
        <td class="narrow-hide">{rt.image}</td>
        <td class="num narrow-hide">{rt.resources.requests.vcpus}</td>
        <td class="num">{cpu}</td>
        <td class="num">
          {rt.usage ? <span class="used">{bytes(rt.usage.memory_bytes)} / </span> : null}
          {mib(rt.resources.requests.memory_mib)}
        </td>
        <td class="num disk narrow-hide">{disk(rt)}</td>
        <td class="labels narrow-hide">
          {labelPairs(rt.labels).map((l) => (
            <span class="label">{l}</span>
          ))}
        </td>
        <td class="num">{created}</td>
      </tr>
    );
  },
  (a, b) =>
    a.rt.revision === b.rt.revision &&
    a.rt.updated_at === b.rt.updated_at &&
    a.rt.status === b.rt.status &&
    a.rt.usage?.memory_bytes === b.rt.usage?.memory_bytes &&
    a.rt.usage?.disk_used_bytes === b.rt.usage?.disk_used_bytes &&
    a.selected === b.selected &&
    a.created === b.created &&
    a.cpu === b.cpu,
);
