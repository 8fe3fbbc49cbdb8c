import { describe, expect, test } from "vitest";
import { cli, worker } from "../../helpers/cli-harness.js";

describe("inspect", () => {
  test("prints a JSON array even for one runtime", async () => {
    const r = await cli(["inspect", "worker"], { client: { runtimes: [worker] } });
    expect(r.code).toBe(0);
    const parsed = JSON.parse(r.out);
    expect(Array.isArray(parsed)).toBe(true);
    expect(parsed[0]).toMatchObject({ id: worker.id, name: "worker" });
  });

  test("prints what it found, then one error line per missing runtime, exit 1", async () => {
    const r = await cli(["inspect", "worker", "ghost"], { client: { runtimes: [worker] } });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)).toHaveLength(1);
    expect(r.err).toBe('runta: runtime "ghost" not found — list them with runta ps -a\n');
  });
});
