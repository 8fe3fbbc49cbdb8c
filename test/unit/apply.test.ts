import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { run } from "../../src/cli/main.js";
import { plan, summarize } from "../../src/cli/apply/plan.js";
import { planPools, renderPoolPlan } from "../../src/cli/apply/pools.js";
import { parseSandboxSet } from "../../src/cli/apply/schema.js";
import { apiErrorFromCode } from "../../src/client/errors.js";
import { fakeClient, fakeRuntime, type FakeClient } from "../helpers/fake-client.js";
import { testIO } from "../helpers/cli.js";

const dir = mkdtempSync(join(tmpdir(), "runta-apply-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(doc: unknown): string {
  const p = join(dir, `f-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(p, typeof doc === "string" ? doc : JSON.stringify(doc));
  return p;
}
const set = (sandboxes: unknown[]) => ({ apiVersion: "runta/v1", kind: "SandboxSet", sandboxes });

async function cli(args: string[], client: FakeClient, input?: string) {
  const io = testIO();
  if (input !== undefined) io.input(input);
  const code = await run(args, { io, client, env: { HOME: dir } });
  return { code, out: io.out(), err: io.err() };
}

describe("validation", () => {
  test("accepts the documented example", () => {
    const r = parseSandboxSet(JSON.stringify(set([{ name: "worker", resources: { vcpus: 1, memory_mib: 512 } }])));
    expect(r.ok).toBe(true);
  });

  test("reports every problem at once, each with a JSON pointer", () => {
    const r = parseSandboxSet(
      JSON.stringify({
        apiVersion: "runta/v2",
        kind: "Deployment",
        extra: 1,
        sandboxes: [
          { name: "ok", resources: { vcpus: 1, memory_mib: 512 } },
          { name: "ok", resources: { vcpus: 0, memory_mib: 99999999 }, colour: "red" },
          { name: "-bad name" },
          { resources: {} },
          { name: "ar", resources: { memory_mib: 1024 }, auto_resize: { memory_max_mib: 512 } },
        ],
      }),
    );
    expect(r.ok).toBe(false);
    const problems = r.ok ? [] : r.problems;
    const at = (p: string) => problems.filter((x) => x.pointer === p).map((x) => x.message).join(" | ");
    expect(at("/apiVersion")).toContain('must be "runta/v1"');
    expect(at("/kind")).toContain('must be "SandboxSet"');
    expect(at("/extra")).toBe("unknown field");
    expect(at("/sandboxes/1/colour")).toBe("unknown field");
    expect(at("/sandboxes/1/resources/vcpus")).toContain("between");
    expect(at("/sandboxes/1/resources/memory_mib")).toContain("between 16 and 262144 MiB");
    expect(at("/sandboxes/2/name")).toContain("must start with a letter or digit");
    expect(at("/sandboxes/3/name")).toBe("is required");
    expect(at("/sandboxes/4/auto_resize/memory_max_mib")).toContain("at least memory_mib (1024)");
  });

  test("duplicate names point at the second occurrence", () => {
    const r = parseSandboxSet(JSON.stringify(set([{ name: "a" }, { name: "b" }, { name: "a" }])));
    expect(r.ok ? [] : r.problems).toEqual([{ pointer: "/sandboxes/2/name", message: 'duplicate name "a" (also at /sandboxes/0/name)' }]);
  });

  test("invalid JSON is one problem at the root", () => {
    const r = parseSandboxSet("{");
    expect(r.ok ? [] : r.problems[0]!.pointer).toBe("/");
  });
});

describe("plan (pure)", () => {
  const running = (name: string, vcpus = 1, memory_mib = 512, over = {}) =>
    fakeRuntime({ name, resources: { requests: { vcpus, memory_mib } }, ...over });

  test("creates what is missing with defaults applied", () => {
    const actions = plan([{ name: "a" }, { name: "b", image: "busybox", resources: { vcpus: 2 } }], []);
    expect(actions).toEqual([
      { action: "create", name: "a", image: "default", resources: { vcpus: 1, memory_mib: 1024 }, notes: [] },
      { action: "create", name: "b", image: "busybox", resources: { vcpus: 2, memory_mib: 1024 }, notes: [] },
    ]);
  });

  test("resizes what differs and leaves equal ones unchanged", () => {
    const a = running("a", 1, 512);
    const b = running("b", 1, 512);
    const actions = plan([{ name: "a", resources: { vcpus: 1, memory_mib: 1024 } }, { name: "b", resources: { vcpus: 1, memory_mib: 512 } }], [a, b]);
    expect(actions[0]).toMatchObject({ action: "resize", id: a.id, from: { vcpus: 1, memory_mib: 512 }, to: { vcpus: 1, memory_mib: 1024 }, conflicts: [] });
    expect(actions[1]).toMatchObject({ action: "unchanged", id: b.id, conflicts: [] });
    expect(summarize(actions)).toEqual({ create: 0, resize: 1, unchanged: 1, conflicts: 0, missing_image: 0, update: 0 });
  });

  test("image, env names and labels that differ are conflicts, never ignored", () => {
    const rt = running("a", 1, 512, { image: "busybox", env_names: ["X"], labels: { team: "a" } });
    const [action] = plan([{ name: "a", image: "default", env: { Y: "1" }, labels: { team: "b" }, resources: { memory_mib: 512, vcpus: 1 } }], [rt]);
    expect(action).toMatchObject({ action: "unchanged" });
    expect(action!.action !== "create" && action!.conflicts.map((c) => c.field)).toEqual(["image", "env", "labels"]);
  });

  test("equal env is not a conflict; a changed value is, though the API never reports values (their digest tells)", () => {
    const rt = running("a", 1, 1024, { env: { B: "2", A: "1" } });
    expect(plan([{ name: "a", env: { A: "1", B: "2" } }], [rt])[0]).toMatchObject({ action: "unchanged", conflicts: [] });
    const [changed] = plan([{ name: "a", env: { A: "1", B: "3" } }], [rt]);
    expect(changed).toMatchObject({ action: "unchanged", conflicts: [{ field: "env", desired: ["A", "B"], values: true }] });
    expect(summarize([changed!])).toEqual({ create: 0, resize: 0, unchanged: 0, conflicts: 1, missing_image: 0, update: 0 });
  });

  test("an entry without resources leaves an existing runtime's resources alone; one field changes only that field", () => {
    const rt = running("a", 0.5, 256);
    expect(plan([{ name: "a" }], [rt])[0]).toMatchObject({ action: "unchanged" });
    expect(plan([{ name: "a", resources: { memory_mib: 512 } }], [rt])[0]).toMatchObject({ action: "resize", to: { vcpus: 0.5, memory_mib: 512 } });
  });

  test("a create from an image that does not exist is marked (the default image is built on demand)", () => {
    const actions = plan([{ name: "a", image: "nope" }, { name: "b" }, { name: "c", image: "busybox" }], [], [{ name: "busybox", parent: null, packages: [] }]);
    expect(actions.map((a) => a.action === "create" && a.missing_image === true)).toEqual([true, false, false]);
    expect(summarize(actions)).toMatchObject({ create: 2, missing_image: 1 });
  });

  test("auto_resize and a non-running status are reported as notes", () => {
    const rt = running("a", 1, 1024, { status: "shutdown" });
    const [action] = plan([{ name: "a", auto_resize: { memory_max_mib: 4096 } }], [rt]);
    expect(action!.notes.join("\n")).toMatch(/memory_max_mib=4096 is accepted but runta does not resize automatically/);
    expect(action!.notes.join("\n")).toContain("status is shutdown");
  });

  test("a description goes into the create; a different one on an existing runtime is updated in place (with a resize when both differ)", () => {
    const [create] = plan([{ name: "new", description: "queue worker" }], []);
    expect(create).toMatchObject({ action: "create", description: "queue worker" });
    const [same] = plan([{ name: "a", description: "" }], [running("a")]);
    expect(same).toMatchObject({ action: "unchanged", conflicts: [], notes: [] });
    const [left] = plan([{ name: "a" }], [running("a", 1, 512, { description: "kept" })]);
    expect(left).toMatchObject({ action: "unchanged" });
    const a = running("a");
    const [other] = plan([{ name: "a", description: "queue worker" }], [a]);
    expect(other).toEqual({ action: "update", name: "a", id: a.id, description: { from: "", to: "queue worker" }, conflicts: [], notes: [] });
    expect(summarize([other!])).toEqual({ create: 0, resize: 0, update: 1, unchanged: 0, conflicts: 0, missing_image: 0 });
    const [both] = plan([{ name: "a", description: "queue worker", resources: { memory_mib: 2048 } }], [running("a")]);
    expect(both).toMatchObject({ action: "resize", description: { from: "", to: "queue worker" }, to: { memory_mib: 2048 } });
  });

  test("volumes go into the create; different volumes on an existing runtime are a conflict (named or by id)", () => {
    const volumes = [{ volume: "data", path: "/work" }, { volume: "ref", path: "/ref", read_only: true }];
    expect(plan([{ name: "new", volumes }], [])[0]).toMatchObject({ action: "create", volumes });
    const mounted = running("a", 1, 512, {
      volumes: [
        { volume: "data", volume_id: "v-1", path: "/work", read_only: false },
        { volume: "ref", volume_id: "v-2", path: "/ref", read_only: true },
      ],
    });
    expect(plan([{ name: "a", volumes }], [mounted])[0]).toMatchObject({ action: "unchanged", conflicts: [] });
    expect(plan([{ name: "a", volumes: [{ volume: "v-1", path: "/work" }, { volume: "ref", path: "/ref", read_only: true }] }], [mounted])[0]).toMatchObject({ conflicts: [] });
    expect(plan([{ name: "a", volumes: [{ volume: "data", path: "/work" }] }], [mounted])[0]).toMatchObject({
      conflicts: [{ field: "volumes", desired: ["data:/work"], actual: ["data:/work", "ref:/ref:ro"] }],
    });
    expect(plan([{ name: "a" }], [running("a")])[0]).toMatchObject({ conflicts: [] });
    expect(parseSandboxSet(JSON.stringify(set([{ name: "a", volumes: [{ volume: "d", path: "/proc" }] }])))).toMatchObject({ ok: false, problems: [{ pointer: "/sandboxes/0/volumes/0/path" }] });
    expect(parseSandboxSet(JSON.stringify(set([{ name: "a", description: "\u001b[2J" }])))).toMatchObject({ ok: false, problems: [{ pointer: "/sandboxes/0/description" }] });
  });

  test("ports go into the create; other ports on an existing runtime are a note; bad ports are file problems", () => {
    const [create] = plan([{ name: "new", ports: [{ port: 8080 }, { port: 8443, protocol: "https" }] }], []);
    expect(create).toMatchObject({ action: "create", ports: [{ port: 8080 }, { port: 8443, protocol: "https" }] });
    const published = running("a", 1, 1024, { ports: [{ port: 8080, protocol: "http", url: "http://x/", host_ip: null, host_port: null }] });
    const [same] = plan([{ name: "a", ports: [{ port: 8080, protocol: "http" }] }], [published]);
    expect(same).toMatchObject({ action: "unchanged", notes: [] });
    const [other] = plan([{ name: "a", ports: [{ port: 9090 }] }], [published]);
    expect(other!.notes).toEqual(["published ports differ from the file's (8080/http); apply does not change them: runta ports add|rm a <port>"]);
    expect(parseSandboxSet(JSON.stringify(set([{ name: "a", ports: [{ port: 0 }, { port: 80, protocol: "udp" }] }])))).toMatchObject({
      ok: false,
      problems: [{ pointer: "/sandboxes/0/ports/0/port" }, { pointer: "/sandboxes/0/ports/1/protocol" }],
    });
  });

  test("runtimes not in the file are left alone; deleting ones count as missing", () => {
    const actions = plan([{ name: "a" }], [running("other"), running("a", 1, 1024, { status: "deleting" })]);
    expect(actions.map((a) => a.action)).toEqual(["create"]);
  });

  test("is pure: same inputs, same output, inputs untouched", () => {
    const actual = [running("a", 1, 512)];
    const desired = [{ name: "a", resources: { memory_mib: 2048 } }];
    const snapshot = JSON.stringify([actual, desired]);
    expect(plan(desired, actual)).toEqual(plan(desired, actual));
    expect(JSON.stringify([actual, desired])).toBe(snapshot);
  });

  test("packages: a create carries the set; an existing runtime on their derived image has no conflict, another set is one", () => {
    const [create] = plan([{ name: "new", packages: ["tree"] }], [], []);
    expect(create).toMatchObject({ action: "create", image: "default", packages: ["tree"] });
    const rt = { ...running("a"), image: "default-pkgs-1" };
    const images = [{ name: "default", parent: null, packages: [] }, { name: "default-pkgs-1", parent: "default", packages: ["tree"] }];
    expect(plan([{ name: "a", packages: ["tree"] }], [rt], images)[0]).toMatchObject({ action: "unchanged", conflicts: [] });
    expect(plan([{ name: "a", packages: ["sl"] }], [rt], images)[0]).toMatchObject({ conflicts: [{ field: "packages", desired: ["sl"], actual: ["tree"] }] });
    expect(plan([{ name: "a" }], [rt], images)[0]).toMatchObject({ conflicts: [{ field: "packages", desired: [], actual: ["tree"] }] });
  });
});

describe("runta apply -f", () => {
  const doc = set([
    { name: "worker", resources: { vcpus: 1, memory_mib: 512 } },
    { name: "batch", image: "busybox", resources: { vcpus: 0.5, memory_mib: 256 }, labels: { team: "x" } },
  ]);

  test("creates, then re-applying says no changes", async () => {
    const c = fakeClient();
    const f = file(doc);
    const first = await cli(["apply", "-f", f], c);
    expect(first.code).toBe(0);
    expect(first.out).toContain(`Plan for ${f}: 2 to create, 0 to resize, 0 unchanged`);
    expect(first.out).toMatch(/\+ worker\s+create: 1 vCPU, 512 MiB, image default/);
    expect(first.out).toMatch(/worker: created \([0-9a-f-]{36}\)/);
    expect(first.out).toContain("Apply complete: 2 created, 0 resized, 0 unchanged.");
    expect(c.state.size).toBe(2);
    const again = await cli(["apply", "-f", f], c);
    expect(again.code).toBe(0);
    expect(again.out).toContain(`No changes: all 2 runtimes in ${f} match.`);
    expect(c.calls.filter((x) => x.method === "create" || x.method === "resize")).toHaveLength(2);
  });

  test("an edited memory is resized live and reported with the value read back", async () => {
    const c = fakeClient();
    await cli(["apply", "-f", file(doc)], c);
    const edited = set([{ name: "worker", resources: { vcpus: 1, memory_mib: 1024 } }]);
    const r = await cli(["apply", "-f", file(edited)], c);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/~ worker\s+resize: memory 512 → 1024 MiB/);
    expect(r.out).toContain("worker: resized (now 1 vCPU, 1024 MiB)");
    expect(c.calls.find((x) => x.method === "resize")!.args[1]).toEqual({ memoryMiB: 1024 });
  });

  test("an edited description is changed in place, alone or with a resize, and a re-apply changes nothing", async () => {
    const c = fakeClient();
    await cli(["apply", "-f", file(set([{ name: "worker", description: "v1" }]))], c);
    const r = await cli(["apply", "-f", file(set([{ name: "worker", description: "v2" }]))], c);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain("Plan for");
    expect(r.out).toMatch(/0 to resize, 1 to update, 0 unchanged/);
    expect(r.out, r.out).toMatch(/~ worker\s+update: description "v1" → "v2"/);
    expect(r.out).toContain("worker: description updated");
    expect(r.out).toContain("Apply complete: 0 created, 0 resized, 1 updated, 0 unchanged.");
    expect([...c.state.values()][0]!.description).toBe("v2");
    const both = await cli(["apply", "-f", file(set([{ name: "worker", description: "v3", resources: { memory_mib: 2048 } }]))], c);
    expect(both.out).toMatch(/~ worker\s+resize: memory 1024 → 2048 MiB, description "v2" → "v3"/);
    expect([...c.state.values()][0]!.description).toBe("v3");
    const again = await cli(["apply", "-f", file(set([{ name: "worker", description: "v3", resources: { memory_mib: 2048 } }]))], c);
    expect(again.out).toContain("No changes");
  });

  test("--dry-run prints the plan and touches nothing", async () => {
    const c = fakeClient();
    const r = await cli(["apply", "-f", file(doc), "--dry-run"], c);
    expect(r.code).toBe(0);
    expect(r.out).toContain("2 to create");
    expect(c.state.size).toBe(0);
    expect(c.calls.map((x) => x.method)).toEqual(["list", "images.list"]);
  });

  test("--dry-run exits as the real run would: 1 for a conflict or a missing image, and says why", async () => {
    const c = fakeClient({ runtimes: [{ name: "worker", image: "busybox" }] });
    const path = file(set([{ name: "worker" }, { name: "ghostly", image: "nope" }]));
    const dry = await cli(["apply", "--dry-run", "-f", path], c);
    const real = await cli(["apply", "-f", path], c);
    expect(dry.code).toBe(1);
    expect(real.code).toBe(1);
    expect(dry.err).toBe(real.err);
    expect(dry.out).toContain(`Plan for ${path}: 0 to create, 0 to resize, 0 unchanged, 1 with conflicts, 1 with a missing image`);
    expect(dry.out).toMatch(/! ghostly\s+image "nope" does not exist — build or import it first \(runta image ls lists images\)/);
    expect(real.err).toContain('runta: ghostly: image "nope" does not exist');
    expect(real.out).toContain("Apply finished with failures: 0 created, 0 resized, 0 unchanged, 1 with conflicts left as they are, 1 not created (missing image).");
    expect(c.calls.filter((x) => x.method === "create" || x.method === "resize")).toEqual([]);
  });

  test("--json prints plan and results", async () => {
    const c = fakeClient();
    const r = await cli(["apply", "-f", file(doc), "--json"], c);
    const j = JSON.parse(r.out);
    expect(j.dry_run).toBe(false);
    expect(j.plan.map((a: { action: string }) => a.action)).toEqual(["create", "create"]);
    expect(j.results).toEqual([
      expect.objectContaining({ name: "worker", action: "create", ok: true, resources: { vcpus: 1, memory_mib: 512 } }),
      expect.objectContaining({ name: "batch", action: "create", ok: true }),
    ]);
  });

  test("-f - reads stdin", async () => {
    const c = fakeClient();
    const r = await cli(["apply", "-f", "-"], c, JSON.stringify(doc));
    expect(r.code).toBe(0);
    expect(c.state.size).toBe(2);
  });

  test("an invalid file is rejected whole, one line per problem, nothing touched", async () => {
    const c = fakeClient();
    const f = file({ apiVersion: "runta/v1", kind: "SandboxSet", sandboxes: [{ name: "a", resources: { memory_mib: 1 } }, { name: "a", cpu: 2 }] });
    const r = await cli(["apply", "-f", f], c);
    expect(r.code).toBe(1);
    const lines = r.err.trim().split("\n");
    expect(lines).toEqual([
      expect.stringContaining(`${f}#/sandboxes/0/resources/memory_mib: must be between 16 and 262144 MiB`),
      `runta: ${f}#/sandboxes/1: unknown field`.replace("/sandboxes/1:", "/sandboxes/1/cpu:"),
      `runta: ${f}#/sandboxes/1/name: duplicate name "a" (also at /sandboxes/0/name)`,
    ]);
    expect(c.calls).toEqual([]);
  });

  test("a missing file says so", async () => {
    const r = await cli(["apply", "-f", join(dir, "nope.json")], fakeClient());
    expect(r.code).toBe(2);
    expect(r.err).toContain("cannot read");
    expect(r.err).toContain("ENOENT");
  });

  test("partial failure: the rest still runs, exit 1 naming what failed and why", async () => {
    const c = fakeClient({
      create: async (name) => {
        if (name === "worker") throw apiErrorFromCode("resource_exhausted", "not enough memory on the host for 512 MiB");
        return fakeRuntime({ name });
      },
    });
    const r = await cli(["apply", "-f", file(doc)], c);
    expect(r.code).toBe(1);
    expect(r.out).toContain("batch: created");
    expect(r.out).toContain("Apply finished with failures: 1 created, 0 resized, 0 unchanged, 1 failed.");
    expect(r.err).toBe("runta: worker: create failed: not enough memory on the host for 512 MiB\n");
  });

  test("conflicts are printed in the plan and make apply exit 1 after the rest ran", async () => {
    const c = fakeClient({ runtimes: [{ name: "worker", image: "busybox", resources: { requests: { vcpus: 1, memory_mib: 256 } } }] });
    const path = file(set([{ name: "worker", resources: { vcpus: 1, memory_mib: 512 } }]));
    const r = await cli(["apply", "-f", path], c);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/! worker\s+image differs \(file "default", runtime "busybox"\)/);
    expect(r.out).toContain("worker: resized");
    // The summary must not say "complete … 0 failed" when apply exits 1 for a conflict.
    expect(r.out).toContain("Apply finished with failures: 0 created, 1 resized, 0 unchanged, 1 with conflicts left as they are.");
    expect(r.err).toBe(`runta: worker: image differs from ${path} and cannot change in place — runta rm worker, then apply again\n`);
  });

  test("auto_resize is accepted and the plan says runta does not act on it", async () => {
    const r = await cli(["apply", "--dry-run", "-f", file(set([{ name: "w", auto_resize: { memory_max_mib: 4096 } }]))], fakeClient());
    expect(r.code).toBe(0);
    expect(r.out).toContain("note: auto_resize.memory_max_mib=4096 is accepted but runta does not resize automatically");
  });

  test("builds the default image before creating from it", async () => {
    const c = fakeClient({ images: [] });
    const r = await cli(["apply", "-f", file(set([{ name: "w" }]))], c);
    expect(r.code).toBe(0);
    expect(c.calls.map((x) => x.method)).toEqual(["list", "images.list", "images.list", "images.build", "create"]);
  });
});

describe("runta delete -f", () => {
  const doc = set([{ name: "worker" }, { name: "ghost" }]);

  test("removes the named runtimes and reports missing ones without failing", async () => {
    const c = fakeClient({ runtimes: [{ name: "worker" }, { name: "keep", id: "5b3d8a4e-5f8c-4d1a-9b7e-2c6f1a0e9d11" }] });
    const r = await cli(["delete", "-f", file(doc)], c);
    expect(r.code).toBe(0);
    expect(r.out).toBe("worker: deleted\nghost: not found, nothing to delete\n");
    expect([...c.state.values()].map((x) => x.name)).toEqual(["keep"]);
  });

  test("--strict makes a missing runtime an error", async () => {
    const r = await cli(["delete", "--strict", "-f", file(doc)], fakeClient({ runtimes: [{ name: "worker" }] }));
    expect(r.code).toBe(1);
    expect(r.err).toContain('runtime "ghost" named in');
  });

  test("--dry-run touches nothing; --json reports per runtime", async () => {
    const c = fakeClient({ runtimes: [{ name: "worker" }] });
    const r = await cli(["delete", "--dry-run", "--json", "-f", file(doc)], c);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).results).toEqual([
      expect.objectContaining({ name: "worker", action: "delete", ok: true }),
      { name: "ghost", action: "missing", ok: true },
    ]);
    expect(c.state.size).toBe(1);
  });

  test("a failed delete does not stop the others", async () => {
    const c = fakeClient({
      runtimes: [{ name: "worker" }, { name: "ghost", id: "6b3d8a4e-5f8c-4d1a-9b7e-2c6f1a0e9d11" }],
      delete: async (t) => {
        if (t !== "6b3d8a4e-5f8c-4d1a-9b7e-2c6f1a0e9d11") throw apiErrorFromCode("internal", "runc delete failed");
        return fakeRuntime();
      },
    });
    const r = await cli(["delete", "-f", file(doc)], c);
    expect(r.code).toBe(1);
    expect(r.out).toContain("ghost: deleted");
    expect(r.err).toBe("runta: worker: runc delete failed\n");
  });

});

describe("pools in a SandboxSet", () => {
  const file = (pools: unknown) => JSON.stringify({ apiVersion: "runta/v1", kind: "SandboxSet", sandboxes: [], pools });

  test("are validated with pointers: a max below min, a duplicate name, an unknown field", () => {
    const r = parseSandboxSet(file([{ name: "small", min: 3, max: 1 }, { name: "small", min: 1, size: 2 }]));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems).toEqual([
      { pointer: "/pools/0/max", message: "must be at least min (3)" },
      { pointer: "/pools/1/name", message: 'duplicate pool "small" (also at /pools/0/name)' },
      { pointer: "/pools/1/size", message: "unknown field" },
    ]);
  });

  test("plan: a missing or different pool is set (defaults applied), an equal one is unchanged", () => {
    const existing = [
      { name: "same", image: "default", resources: { requests: { vcpus: 1, memory_mib: 1024 } }, min: 2, max: 2, ready: 2, booting: 0, created_at: "", updated_at: "" },
      { name: "bigger", image: "default", resources: { requests: { vcpus: 1, memory_mib: 1024 } }, min: 1, max: 1, ready: 1, booting: 0, created_at: "", updated_at: "" },
    ];
    const actions = planPools(
      [
        { name: "same", min: 2 },
        { name: "bigger", min: 2, max: 3 },
        { name: "new", image: "busybox", resources: { vcpus: 0.5, memory_mib: 64 }, min: 1 },
      ],
      existing,
    );
    expect(actions.map((a) => [a.name, a.action])).toEqual([["same", "unchanged"], ["bigger", "set"], ["new", "set"]]);
    expect(actions[2]!.want).toEqual({ image: "busybox", vcpus: 0.5, memoryMiB: 64, min: 1, max: 1 });
    expect(renderPoolPlan(actions)).toEqual([
      "  = pool same  unchanged",
      "  ~ pool bigger  set: image default, 1 vCPU, 1024 MiB, min 2, max 3",
      "  ~ pool new  set: image busybox, 0.5 vCPUs, 64 MiB, min 1, max 1",
    ]);
  });
});
