import { describe, expect, test } from "vitest";
import { figures } from "../../../src/cli/commands/stats.js";
import { fakeRuntime } from "../../helpers/fake-client.js";

describe("stats", () => {
  test("CPU % is CPU time over wall time in percent of one CPU; memory % of the limit; no usage shows zeros", () => {
    const usage = (cpuNs: number) => ({ memory_bytes: 32 * 2 ** 20, memory_limit_bytes: 128 * 2 ** 20, cpu_usage_ns: cpuNs, pids: 3 });
    const a = fakeRuntime({ name: "a", usage: usage(1e9) });
    const idle = fakeRuntime({ name: "idle", usage: null });
    const later = [{ ...a, usage: usage(1e9 + 1.5e9) }, idle];
    expect(figures([a, idle], later, 1000)).toEqual([
      { id: a.id, name: "a", cpu_percent: 150, memory_bytes: 32 * 2 ** 20, memory_limit_bytes: 128 * 2 ** 20, memory_percent: 25, pids: 3 },
      { id: idle.id, name: "idle", cpu_percent: 0, memory_bytes: 0, memory_limit_bytes: 0, memory_percent: 0, pids: 0 },
    ]);
  });
});
