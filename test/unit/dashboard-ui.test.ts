/** The dashboard's page logic that needs no browser: the fleet filter, usage sampling and formatting. */
import { describe, expect, test } from "vitest";
import type { Runtime } from "../../src/api/index.js";
import { matches, statusMatches } from "../../ui/src/filter.js";
import { age, bytes, disk, idleLine, parsePairs, parseVolumeLines } from "../../ui/src/format.js";
import { USAGE_EVERY, UsageSampler } from "../../ui/src/usage.js";
import { fakeRuntime } from "../helpers/fake-client.js";

const rt = (over: Partial<Runtime>) => fakeRuntime({ name: "Web-1", labels: { team: "ml", tier: "" }, ...over });
const usage = (cpuNs: number) => ({ memory_bytes: 1 << 20, memory_limit_bytes: 1 << 30, cpu_usage_ns: cpuNs, pids: 2 });

describe("fleet filter", () => {
  test("words match the name (any case) or an id prefix; key=value and key= match labels exactly", () => {
    const r = rt({ id: "0c18733d-9280-4c5e-8d2a-1f0d3b1f7a11" });
    expect(matches(r, [])).toBe(true);
    expect(matches(r, ["web"])).toBe(true);
    expect(matches(r, ["0C1873"])).toBe(true);
    expect(matches(r, ["team=ml"])).toBe(true);
    expect(matches(r, ["team=ML"])).toBe(false);
    expect(matches(r, ["team="])).toBe(true);
    expect(matches(r, ["owner="])).toBe(false);
    expect(matches(r, ["web", "team=nope"])).toBe(false);
  });

  test("status: active hides shut-down runtimes, all shows everything, one status only itself", () => {
    expect(statusMatches(rt({ status: "paused" }), "active")).toBe(true);
    expect(statusMatches(rt({ status: "suspended" }), "active")).toBe(true);
    expect(statusMatches(rt({ status: "shutdown" }), "active")).toBe(false);
    expect(statusMatches(rt({ status: "shutdown" }), "all")).toBe(true);
    expect(statusMatches(rt({ status: "paused" }), "running")).toBe(false);
  });
});

describe("usage sampling", () => {
  test(`asks for usage on one poll in ${USAGE_EVERY}`, () => {
    const s = new UsageSampler();
    const asks = Array.from({ length: 2 * USAGE_EVERY }, () => s.wantUsage());
    expect(asks.filter(Boolean)).toHaveLength(2);
    expect(asks[0]).toBe(true);
  });

  test("CPU % from two samples (100% = one core), usage carried between samples, none once stopped", () => {
    const s = new UsageSampler();
    const id = "11111111-1111-4111-8111-111111111111";
    expect(s.update([rt({ id, status: "running", usage: usage(0) })], true, 1000).get(id)).toBeUndefined();
    // 0.5 s of CPU over 2 s of wall time: a quarter of a core.
    expect(s.update([rt({ id, status: "running", usage: usage(500_000_000) })], true, 3000).get(id)).toBe("25.0%");
    const between = [rt({ id, status: "running" })];
    s.update(between, false, 4000);
    expect(between[0]!.usage?.cpu_usage_ns).toBe(500_000_000);
    const stopped = [rt({ id, status: "shutdown", usage: usage(1) })];
    expect(s.update(stopped, false, 5000).get(id)).toBeUndefined();
    expect(stopped[0]!.usage).toBeNull();
  });
});

describe("formatting", () => {
  test("bytes in binary units, whole numbers without .0", () => {
    expect(bytes(0)).toBe("0 B");
    expect(bytes(1536)).toBe("1.5 KiB");
    expect(bytes(1 << 30)).toBe("1 GiB");
    expect(bytes(300 * 1024 * 1024)).toBe("300 MiB");
  });

  test("disk as ps's DISK means it (the size given), used in front when usage was read, — without a size of its own", () => {
    const withDisk = (gib: number | null, used?: number) =>
      rt({ resources: { requests: { vcpus: 1, memory_mib: 512, disk_size_gib: gib } }, usage: used === undefined ? null : { ...usage(0), disk_used_bytes: used } });
    expect(disk(withDisk(10))).toBe("10 GiB");
    expect(disk(withDisk(10, 12 * 1024 * 1024))).toBe("12 MiB / 10 GiB");
    expect(disk(withDisk(2, 0))).toBe("0 B / 2 GiB");
    expect(disk(withDisk(null, 4096))).toBe("—");
  });

  test("the idle line says when it suspends, what keeps it awake, or that it is suspended", () => {
    const now = Date.parse("2026-01-01T12:00:00Z");
    const idle = { timeout_secs: 300, last_activity_at: "2026-01-01T11:59:00Z", last_activity: "exec" as const, active: { execs: 0, terminals: 0, ingress: 0, egress: 0 }, awake_because: null, suspends_at: "2026-01-01T12:04:00Z" };
    expect(idleLine({ status: "running", idle: null }, now)).toBe("—");
    expect(idleLine({ status: "running", idle }, now)).toBe("timeout 300 s · suspends in 4m if nothing happens, last activity 1m ago (exec)");
    expect(idleLine({ status: "running", idle: { ...idle, suspends_at: null, awake_because: "2 ingress connections" } }, now)).toBe("timeout 300 s · awake: 2 ingress connections");
    expect(idleLine({ status: "suspended", idle: { ...idle, suspends_at: null } }, now)).toBe("suspended while idle, last activity 1m ago (exec); the next exec or request wakes it (timeout 300 s)");
  });

  test("ages like docker ps", () => {
    const now = Date.parse("2026-01-01T12:00:00Z");
    expect(age("2026-01-01T11:59:30Z", now)).toBe("30s");
    expect(age("2026-01-01T11:55:00Z", now)).toBe("5m");
    expect(age("2026-01-01T09:00:00Z", now)).toBe("3h");
    expect(age("2025-12-30T12:00:00Z", now)).toBe("2d");
    expect(age(null, now)).toBe("—");
  });

  test("KEY=value lines, with the line number of a bad one", () => {
    expect(parsePairs("A=1\n\n B=x=y ", "env")).toEqual({ A: "1", B: "x=y" });
    expect(() => parsePairs("A=1\nnope", "env")).toThrow("env, line 2: write KEY=value (got 'nope')");
  });

  test("volume lines as run -v reads them (normalised path, :ro), with the line number and the CLI's own reason for a bad one", () => {
    expect(parseVolumeLines("data:/work/\n\n ref:/ref:ro \nlogs:/var/log:rw")).toEqual([
      { volume: "data", path: "/work", read_only: false },
      { volume: "ref", path: "/ref", read_only: true },
      { volume: "logs", path: "/var/log", read_only: false },
    ]);
    expect(() => parseVolumeLines("data:/work\ndata")).toThrow("volumes, line 2: write NAME:/path or NAME:/path:ro (got 'data')");
    expect(() => parseVolumeLines("/srv:/work")).toThrow(/^volumes, line 1: host directories cannot be mounted/);
    expect(() => parseVolumeLines("data:/proc/x")).toThrow('volumes, line 1: "/proc/x" is under /proc');
    expect(() => parseVolumeLines("-x:/work")).toThrow('volumes, line 1: "-x" is not a volume name');
  });
});
