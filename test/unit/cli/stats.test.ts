import { describe, expect, test } from "vitest";
import { figures, inOut } from "../../../src/cli/commands/stats.js";
import { fakeRuntime } from "../../helpers/fake-client.js";

describe("stats", () => {
  test("CPU % is CPU time over wall time in percent of one CPU; memory % of the limit; no usage shows zeros", () => {
    const io = { net_rx_bytes: 1_500_000, net_tx_bytes: 2048, disk_read_bytes: 0, disk_write_bytes: 5 * 2 ** 20 };
    const usage = (cpuNs: number) => ({ memory_bytes: 32 * 2 ** 20, memory_limit_bytes: 128 * 2 ** 20, cpu_usage_ns: cpuNs, pids: 3, ...io });
    const a = fakeRuntime({ name: "a", usage: usage(1e9) });
    const idle = fakeRuntime({ name: "idle", usage: null });
    const later = [{ ...a, usage: usage(1e9 + 1.5e9) }, idle];
    expect(figures([a, idle], later, 1000)).toEqual([
      { id: a.id, name: "a", cpu_percent: 150, memory_bytes: 32 * 2 ** 20, memory_limit_bytes: 128 * 2 ** 20, memory_percent: 25, pids: 3, ...io },
      { id: idle.id, name: "idle", cpu_percent: 0, memory_bytes: 0, memory_limit_bytes: 0, memory_percent: 0, pids: 0, net_rx_bytes: null, net_tx_bytes: null, disk_read_bytes: null, disk_write_bytes: null },
    ]);
  });

  test("NET I/O and BLOCK I/O read in / out in docker's units; unknown (no network, no usage) is --", () => {
    expect(inOut(1_500_000, 2048)).toBe("1.50MB / 2.05kB");
    expect(inOut(0, 5 * 2 ** 20)).toBe("0B / 5.24MB");
    expect(inOut(null, null)).toBe("--");
    const sealed = fakeRuntime({ name: "sealed", usage: { memory_bytes: 1, memory_limit_bytes: 2, cpu_usage_ns: 0, pids: 1, net_rx_bytes: null, net_tx_bytes: null } });
    expect(figures([], [sealed], 1000)[0]).toMatchObject({ net_rx_bytes: null, net_tx_bytes: null, disk_read_bytes: null });
  });
});
