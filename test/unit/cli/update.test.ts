import { describe, expect, test } from "vitest";
import { cli, worker } from "../../helpers/cli-harness.js";

describe("update and run --description", () => {
  test("update --description replaces it and says so; \"\" clears it", async () => {
    const r = await cli(["update", "--description", "queue worker", "worker"], { client: { runtimes: [worker] } });
    expect(r.code).toBe(0);
    expect(r.out).toBe('worker: description "queue worker"\n');
    expect(r.client.calls.find((c) => c.method === "update")!.args).toEqual(["worker", { description: "queue worker" }]);
    const cleared = await cli(["update", "--description", "", "--json", "worker"], { client: { runtimes: [{ ...worker, description: "old" }] } });
    expect(cleared.code).toBe(0);
    expect(JSON.parse(cleared.out).description).toBe("");
  });

  test("update needs --description; control characters are a usage error naming the flag", async () => {
    const none = await cli(["update", "worker"], { client: { runtimes: [worker] } });
    expect(none.code).toBe(2);
    expect(none.err).toContain("update needs --description");
    const bad = await cli(["update", "--description", "a\x1b[31m", "worker"], { client: { runtimes: [worker] } });
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("--description: must not contain control characters");
    expect(bad.client.calls.some((c) => c.method === "update")).toBe(false);
  });

  test("run --exec-timeout sends whole seconds within the exec maximum", async () => {
    const r = await cli(["run", "--name", "jobs", "--exec-timeout", "600", "-d"], { client: { images: [{ name: "default" }] } });
    expect(r.code).toBe(0);
    expect(r.client.calls.find((c) => c.method === "create")!.args[1]).toMatchObject({ execTimeoutSecs: 600 });
    for (const bad of ["0", "1.5", "3601", "ten"]) {
      const refused = await cli(["run", "--exec-timeout", bad], { client: { images: [{ name: "default" }] } });
      expect(refused.code, bad).toBe(2);
      expect(refused.err, bad).toContain("--exec-timeout");
    }
  });

  test("run --lifetime sends whole seconds", async () => {
    const r = await cli(["run", "--name", "scratch", "--lifetime", "3600", "-d"], { client: { images: [{ name: "default" }] } });
    expect(r.code).toBe(0);
    expect(r.client.calls.find((c) => c.method === "create")!.args[1]).toMatchObject({ lifetimeSecs: 3600 });
    const bad = await cli(["run", "--lifetime", "0"], { client: { images: [{ name: "default" }] } });
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("--lifetime");
  });

  test("run --idempotency-key sends the key with the create", async () => {
    const r = await cli(["run", "--name", "once", "--idempotency-key", "deploy-42", "-d"], { client: { images: [{ name: "default" }] } });
    expect(r.code).toBe(0);
    expect(r.client.calls.find((c) => c.method === "create")!.args[1]).toMatchObject({ idempotencyKey: "deploy-42" });
  });

  test("run --description sends it with the create; newlines and tabs are allowed", async () => {
    const r = await cli(["run", "--name", "etl", "--description", "nightly ETL\n\towner: data", "-d"], { client: { images: [{ name: "default" }] } });
    expect(r.code).toBe(0);
    expect(r.client.calls.find((c) => c.method === "create")!.args[1]).toMatchObject({ description: "nightly ETL\n\towner: data" });
    const long = await cli(["run", "--description", "x".repeat(1025)], { client: { images: [{ name: "default" }] } });
    expect(long.code).toBe(2);
    expect(long.err).toContain("--description: at most 1024 characters");
  });
});
