import { describe, expect, test } from "vitest";
import { apiErrorFromCode } from "../../../src/client/errors.js";
import { cli, worker } from "../../helpers/cli-harness.js";

describe("volume", () => {
  test("create prints the name, --size takes docker sizes; ls --json is {\"volumes\": [...]}; inspect is an array", async () => {
    const created = await cli(["volume", "create", "data", "--size", "2g"]);
    expect(created.code).toBe(0);
    expect(created.out).toBe("data\n");
    expect(created.client.calls.find((c) => c.method === "volumes.create")!.args).toEqual(["data", { sizeMiB: 2048 }]);
    const ls = await cli(["volume", "ls", "--json"], { client: created.client });
    const doc = JSON.parse(ls.out) as { volumes: Array<Record<string, unknown>> };
    expect(doc.volumes).toEqual([expect.objectContaining({ name: "data", size_bytes: 2 * 2 ** 30, in_use_by: [] })]);
    const table = await cli(["volume", "ls"], { client: { volumes: [{ name: "data", in_use_by: ["dev", "ci"] }] } });
    expect(table.out.split("\n")[0]).toBe("NAME\tSIZE\tUSED\tCREATED\tUSED BY");
    expect(table.out).toContain("data\t10737418240\t4096\t");
    expect(table.out).toContain("dev,ci");
    const inspect = await cli(["volume", "inspect", "data", "nope"], { client: created.client });
    expect(inspect.code).toBe(1);
    expect(JSON.parse(inspect.out)).toEqual([expect.objectContaining({ name: "data" })]);
    expect(inspect.err).toContain('volume "nope" not found');
  });

  test("bad names and sizes are usage errors, nothing created", async () => {
    for (const args of [["create", "../x"], ["create", "d", "--size", "8m"], ["create", "d", "--size", "lots"]]) {
      const r = await cli(["volume", ...args]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.client.calls.some((c) => c.method === "volumes.create")).toBe(false);
    }
    expect((await cli(["volume", "create", "d", "--size", "8m"])).err).toBe('runta: --size must be a size of whole MiB between 16m and 1t (512m, 2g; a bare number is MiB), got "8m"\n');
  });

  test("resize --size grows to docker sizes and prints the new size; --size is required and checked; a shrink is the daemon's error", async () => {
    // fakeVolume is 10 GiB: 4g is smaller, so the daemon's refusal comes through, exit 1 as any error the daemon answers.
    const shrink = await cli(["volume", "resize", "data", "--size", "4g"], { client: { volumes: [{ name: "data" }] } });
    expect(shrink.client.calls.find((c) => c.method === "volumes.resize")!.args).toEqual(["data", 4096]);
    expect(shrink.code).toBe(1);
    expect(shrink.err).toContain("volumes only grow");
    const ok = await cli(["volume", "resize", "data", "--size", "20g", "--json"], { client: { volumes: [{ name: "data" }] } });
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.out)).toMatchObject({ name: "data", size_bytes: 20 * 2 ** 30 });
    const plain = await cli(["volume", "resize", "data", "--size", "12g"], { client: { volumes: [{ name: "data" }] } });
    expect(plain.out).toBe("data: 12.0GiB\n");
    for (const args of [["resize", "data"], ["resize", "data", "--size", "2t"], ["resize", "data", "--size", "8m"]]) {
      const r = await cli(["volume", ...args], { client: { volumes: [{ name: "data" }] } });
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.err, args.join(" ")).toMatch(/--size/);
      expect(r.client.calls.some((c) => c.method === "volumes.resize")).toBe(false);
    }
  });

  test("rm of a volume in use fails naming the runtimes (exit 1) and goes on with the others", async () => {
    const r = await cli(["volume", "rm", "used", "free"], { client: { volumes: [{ name: "used", in_use_by: ["dev"] }, { name: "free" }] } });
    expect(r.code).toBe(1);
    expect(r.out).toBe("free\n");
    expect(r.err).toContain("dev");
  });
});

describe("run -v", () => {
  test("NAME:PATH and NAME:PATH:ro, repeatable (--volume too), paths normalised", async () => {
    const r = await cli(["run", "--image", "busybox", "-v", "data:/work/", "--volume", "ref:/srv/ref:ro", "-v", "cache:/c:rw"]);
    expect(r.code, r.err).toBe(0);
    expect(r.client.calls.find((c) => c.method === "create")!.args[1]).toMatchObject({
      volumes: [{ volume: "data", path: "/work" }, { volume: "ref", path: "/srv/ref", readOnly: true }, { volume: "cache", path: "/c" }],
    });
  });

  test("host paths, system paths, relative and duplicate paths are usage errors saying why", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["-v", "/srv:/work"], /host directories cannot be mounted.*runta volume create/],
      [["-v", "./src:/work"], /host directories cannot be mounted/],
      [["-v", "data"], /use -v NAME:PATH/],
      [["-v", "data:work"], /absolute/],
      [["-v", "data:/proc/x"], /under \/proc/],
      [["-v", "data:/"], /is \//],
      [["-v", "bad name:/w"], /not a volume name/],
      [["-v", "a:/w", "-v", "b:/w/"], /\/w is already taken/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(["run", "--image", "busybox", ...args]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.err, args.join(" ")).toMatch(message);
      expect(r.client.calls.some((c) => c.method === "create")).toBe(false);
    }
  });
});

describe("more memory or cores than the host has", () => {
  const hostLimit = (field: string, got: string, max: number) =>
    Object.assign(apiErrorFromCode("invalid_argument", `${field} must be … (this host's); got ${got}`), { details: { field, max } });

  test("the refusal echoes what was typed (100g, not 102400m), for run, restore and resize", async () => {
    const refuse = async () => {
      throw hostLimit("memory_mib", "102400", 23_000);
    };
    const run = await cli(["run", "--image", "busybox", "--memory", "100g"], { client: { create: refuse } });
    expect(run.code).toBe(2);
    expect(run.err).toBe("runta: --memory 100g is more than this host's memory (23000 MiB) — use at most --memory 23000m\n");
    const resize = await cli(["resize", "-m", "100G", "worker"], { client: { runtimes: [worker], resize: refuse } });
    expect(resize.err).toBe("runta: --memory 100G is more than this host's memory (23000 MiB) — use at most --memory 23000m\n");
    const cpus = await cli(["run", "--image", "busybox", "--cpus", "3.0"], {
      client: {
        create: async () => {
          throw hostLimit("vcpus", "3", 2);
        },
      },
    });
    expect(cpus.err).toBe("runta: --cpus 3.0 is more than this host's 2 cores — use at most --cpus 2\n");
  });
});
