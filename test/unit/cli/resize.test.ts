import { describe, expect, test } from "vitest";
import { cli, worker } from "../../helpers/cli-harness.js";

describe("resize", () => {
  test("the seed line resizes memory and prints the values read back", async () => {
    const r = await cli(["resize", "--memory", "4096", "worker"], { client: { runtimes: [worker] } });
    expect(r.code).toBe(0);
    expect(r.out).toBe("worker: memory 4096 MiB, cpus 1\n");
    expect(r.client.calls.find((c) => c.method === "resize")!.args).toEqual(["worker", { memoryMiB: 4096, vcpus: undefined }]);
  });

  test("needs --memory or --cpus", async () => {
    const r = await cli(["resize", "worker"], { client: { runtimes: [worker] } });
    expect(r.code).toBe(2);
    expect(r.err).toContain("resize needs --memory");
  });

  test("--json prints the updated runtime", async () => {
    const r = await cli(["resize", "--cpus", "0.5", "--json", "worker"], { client: { runtimes: [worker] } });
    expect(JSON.parse(r.out).resources.requests).toEqual({ vcpus: 0.5, memory_mib: 1024 });
  });
});
