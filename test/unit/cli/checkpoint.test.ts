import { describe, expect, test } from "vitest";
import { cli, worker } from "../../helpers/cli-harness.js";
import { parseSide } from "../../../src/cli/commands/cp.js";

describe("checkpoint", () => {
  test("create prints the name; ls --json is {\"checkpoints\": [...]} with the API objects", async () => {
    const created = await cli(["checkpoint", "create", "worker", "golden-v1"], { client: { runtimes: [worker] } });
    expect(created.code).toBe(0);
    expect(created.out).toBe("golden-v1\n");
    const ls = await cli(["checkpoint", "ls", "--json"], { client: created.client });
    const doc = JSON.parse(ls.out) as { checkpoints: Array<Record<string, unknown>> };
    expect(doc.checkpoints).toHaveLength(1);
    expect(doc.checkpoints[0]).toMatchObject({ display_name: "golden-v1", state: "ready", source_runtime: "worker", size_bytes: 4096 });
    expect(Object.keys(doc.checkpoints[0]!)).toEqual(expect.arrayContaining(["id", "display_name", "state", "source_runtime", "created_at", "size_bytes"]));
  });

  test("snapshot is the same command", async () => {
    const r = await cli(["snapshot", "ls"], { client: { checkpoints: [{ display_name: "golden", in_use_by: ["task-1"] }] } });
    expect(r.code).toBe(0);
    expect(r.out.split("\n")[0]).toBe("NAME\tSTATE\tSOURCE\tSIZE\tCREATED\tUSED BY");
    expect(r.out).toContain("golden\tready\tworker\t4096\t");
    expect(r.out).toContain("task-1");
  });

  test("restore takes run's flags of a new runtime (the same definitions) and prints the new runtime's id", async () => {
    const r = await cli(
      ["checkpoint", "restore", "golden", "task-1", "--cpus", "2", "--memory", "512", "--disk-size-gib", "20", "-e", "A=1", "--label", "t=x"].concat(
        ["--description", "task one", "--exec-timeout", "30", "--lifetime", "600", "-v", "data:/work:ro", "--network", "none"],
      ),
      { client: { checkpoints: [{ display_name: "golden" }] } },
    );
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^[0-9a-f-]{36}\n$/);
    expect(r.client.calls.find((c) => c.method === "checkpoints.restore")!.args).toEqual([
      "golden",
      "task-1",
      {
        vcpus: 2,
        memoryMiB: 512,
        diskSizeGiB: 20,
        env: { A: "1" },
        labels: { t: "x" },
        description: "task one",
        execTimeoutSecs: 30,
        lifetimeSecs: 600,
        volumes: [{ volume: "data", path: "/work", readOnly: true }],
        network: "none",
      },
    ]);
    // Every flag of a new runtime that run has, restore has too (one list of definitions).
    const help = (args: string[]) => cli([...args, "--help"]).then((h) => new Set(h.out.match(/--[a-z-]+/g)));
    const [run, restore] = await Promise.all([help(["run"]), help(["checkpoint", "restore"])]);
    for (const only of ["--name", "--image", "--package", "--type", "--runtime-version", "--idempotency-key", "--detach"]) run.delete(only);
    expect([...run].filter((f) => !restore.has(f))).toEqual([]);
  });

  test("rm of a checkpoint a runtime stands on fails naming it, exit 1; bad kinds and names are usage errors", async () => {
    const r = await cli(["checkpoint", "rm", "golden"], { client: { checkpoints: [{ display_name: "golden", in_use_by: ["task-1"] }] } });
    expect(r.code).toBe(1);
    expect(r.err).toContain("task-1");
    expect((await cli(["checkpoint", "create", "worker", "x", "--kind", "warm"], { client: { runtimes: [worker] } })).code).toBe(2);
    expect((await cli(["checkpoint", "create", "worker", "../x"], { client: { runtimes: [worker] } })).code).toBe(2);
    expect((await cli(["run", "--disk-size-gib", "0"])).code).toBe(2);
  });
});

describe("cp arguments", () => {
  test("RUNTIME:/path is a runtime side; ./a:b, /abs and - are not", () => {
    expect(parseSide("worker:/tmp/x")).toEqual({ kind: "runtime", runtime: "worker", path: "/tmp/x" });
    expect(parseSide("./a:b")).toEqual({ kind: "local", path: "./a:b" });
    expect(parseSide("/abs:x")).toEqual({ kind: "local", path: "/abs:x" });
    expect(parseSide("-")).toEqual({ kind: "stdio" });
    expect(() => parseSide("worker:tmp")).toThrow(/must be absolute/);
  });

  test("two local sides or two runtimes are usage errors", async () => {
    expect((await cli(["cp", "./a", "./b"])).code).toBe(2);
    expect((await cli(["cp", "a:/x", "b:/y"])).code).toBe(2);
  });
});
