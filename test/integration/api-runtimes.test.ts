/**
 * The REST API and SDK through the real built daemon and real runc, on the tiny busybox image:
 * create/list/get/resize/lifecycle/exec/delete, names and ids, errors from the real engine.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { beforeAll, describe, expect, test } from "vitest";
import { FailedPreconditionError, NotFoundError, Runta, InvalidArgumentError, AlreadyExistsError } from "../../src/client/index.js";
import { daemonSuite } from "../helpers/daemon-suite.js";

const execFileAsync = promisify(execFile);
const d = daemonSuite().daemon;
let runta: Runta;

beforeAll(async () => {
  runta = d.client();
});

describe("runtimes through the real daemon", () => {
  test("create waits until running; list, get by name and id with usage read from the cgroup", async () => {
    const rt = await runta.runtimes.create("api-a", { image: "busybox", vcpus: 0.5, memoryMiB: 64, env: { APP: "x" }, labels: { t: "1" } });
    expect(rt.cachedInfo.status).toBe("running");
    expect(rt.info).toMatchObject({ name: "api-a", image: "busybox", resources: { requests: { vcpus: 0.5, memory_mib: 64 } }, env_names: ["APP"], labels: { t: "1" } });
    const listed = await runta.runtimes.list();
    expect(listed.map((r) => [r.name, r.cachedInfo.status])).toContainEqual(["api-a", "running"]);
    const byName = await runta.runtimes.get("api-a");
    const byId = await runta.runtimes.get(rt.id);
    expect(byId.name).toBe("api-a");
    expect(byName.info.usage).toMatchObject({ memory_limit_bytes: 64 * 1024 * 1024 });
    expect(byName.info.usage!.pids).toBeGreaterThanOrEqual(1);
  });

  test("exec: sh -c for a string, argv as is, env, cwd, stdin, exit codes", async () => {
    const rt = await runta.runtimes.get("api-a");
    const out = await rt.exec("echo $APP $FOO; pwd", { env: { FOO: "bar" }, cwd: "/tmp" });
    expect(out.exit_code).toBe(0);
    expect(out.stdoutText).toBe("x bar\n/tmp\n");
    const argv = await rt.exec(["echo", "$APP", "a b"]);
    expect(argv.stdoutText).toBe("$APP a b\n");
    const stdin = await rt.exec("cat", { stdin: "from stdin" });
    expect(stdin.stdoutText).toBe("from stdin");
    expect((await rt.exec("exit 7")).exit_code).toBe(7);
    expect((await rt.exec(["no-such-binary"])).exit_code).toBe(127);
  });

  test("resize reads the new limits back", async () => {
    const rt = await runta.runtimes.get("api-a");
    const after = await rt.resize({ memoryMiB: 96, vcpus: 1 });
    expect(after.resources.requests).toEqual({ vcpus: 1, memory_mib: 96, disk_size_gib: 10 });
    expect((await rt.refresh()).usage!.memory_limit_bytes).toBe(96 * 1024 * 1024);
  });

  test("a description at create, replaced by PATCH while running and while shut down, kept by the store", async () => {
    const rt = await runta.runtimes.create("described", { image: "busybox", memoryMiB: 64, description: "nightly ETL" });
    expect(rt.info.description).toBe("nightly ETL");
    expect((await rt.update({ description: "owner: data team" })).description).toBe("owner: data team");
    await rt.stop();
    const bare = await fetch(`${d.endpoint}/v1/runtimes/described`, {
      method: "PATCH",
      headers: { Authorization: `Bearer ${d.token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ description: "" }),
    });
    expect(bare.status).toBe(200);
    expect((await runta.runtimes.get("described")).info).toMatchObject({ description: "", status: "shutdown" });
    const listed = await runta.runtimes.list();
    expect(listed.find((r) => r.name === "described")!.info.description).toBe("");
    await runta.runtimes.delete("described");
  });

  test("exec timeout per runtime: buffered, streamed and detached execs that set none are killed at its 2 s; an exec's own wins", async () => {
    const rt = await runta.runtimes.create("bounded", { image: "busybox", memoryMiB: 64, execTimeoutSecs: 2 });
    expect(rt.info.exec_timeout_secs).toBe(2);
    let t0 = Date.now();
    const buffered = await rt.exec(["sleep", "300"]);
    const bufferedMs = Date.now() - t0;
    expect(buffered.timed_out).toBe(true);
    expect(bufferedMs).toBeGreaterThanOrEqual(1900);
    expect(bufferedMs).toBeLessThan(8000);
    t0 = Date.now();
    const streamed = await runta.execs.run("bounded", ["sleep", "300"]);
    expect(streamed.ended_by).toBe("timed_out");
    expect(Date.now() - t0).toBeLessThan(8000);
    const detached = await runta.execs.start("bounded", ["sleep", "300"]);
    await expect.poll(async () => (await runta.execs.get("bounded", detached.id)).ended_by, { timeout: 8000, interval: 200 }).toBe("timed_out");
    // The exec's own timeout, longer than the runtime's, is the one that counts.
    t0 = Date.now();
    const own = await rt.exec(["sh", "-c", "sleep 3; echo done"], { timeoutSecs: 10 });
    expect(own).toMatchObject({ timed_out: false, exit_code: 0, stdoutText: "done\n" });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2900);
    // Seed 000's name for it, through the bare API; both names at once must agree.
    const post = (body: unknown) =>
      fetch(`${d.endpoint}/v1/runtimes`, { method: "POST", headers: { Authorization: `Bearer ${d.token}`, "Content-Type": "application/json" }, body: JSON.stringify(body) });
    const seed = await post({ name: "seed000", image: "busybox", execTimeout: 600, resources: { requests: { memory_mib: 64 } } });
    expect(seed.status).toBe(201);
    expect((await seed.json()).data.exec_timeout_secs).toBe(600);
    const clash = await post({ name: "clash", image: "busybox", execTimeout: 600, exec_timeout_secs: 5 });
    expect(clash.status).toBe(400);
    expect((await runta.runtimes.get("bounded", { usage: false })).info.exec_timeout_secs).toBe(2);
    await runta.runtimes.delete("bounded");
    await runta.runtimes.delete("seed000");
  }, 60_000);

  test("pause freezes (exec refused with 409), resume, stop keeps the filesystem, start", async () => {
    const rt = await runta.runtimes.get("api-a");
    await rt.exec("echo kept > /marker");
    expect((await rt.pause()).status).toBe("paused");
    const err = await rt.exec("true").catch((e) => e);
    expect(err).toBeInstanceOf(FailedPreconditionError);
    expect(err.message).toMatch(/paused/);
    expect((await rt.resume()).status).toBe("running");
    expect((await rt.stop()).status).toBe("shutdown");
    expect((await rt.stop()).status).toBe("shutdown");
    expect((await rt.start()).status).toBe("running");
    expect((await rt.exec("cat /marker")).stdoutText).toBe("kept\n");
  });

  test("errors from the real engine: duplicate name, unknown image, unknown runtime, vcpus above the host", async () => {
    await expect(runta.runtimes.create("api-a", { image: "busybox", memoryMiB: 64 })).rejects.toBeInstanceOf(AlreadyExistsError);
    await expect(runta.runtimes.create("api-b", { image: "nosuchimage" })).rejects.toBeInstanceOf(NotFoundError);
    await expect(runta.runtimes.get("ghost")).rejects.toBeInstanceOf(NotFoundError);
    const big = await runta.runtimes.create("api-c", { image: "busybox", vcpus: 64 }).catch((e) => e);
    expect(big).toBeInstanceOf(InvalidArgumentError);
    expect(big.status).toBe(422);
    expect((await runta.runtimes.list()).map((r) => r.name)).toEqual(["api-a"]);
  });

  test("wait=false returns at creating and the runtime comes up", async () => {
    const rt = await runta.runtimes.create("api-lazy", { image: "busybox", memoryMiB: 64, wait: false });
    expect(["creating", "running"]).toContain(rt.cachedInfo.status);
    const deadline = Date.now() + 20_000;
    while ((await rt.refresh()).status !== "running" && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(rt.cachedInfo.status).toBe("running");
    await rt.delete();
  });

  test("Idempotency-Key through the real engine: a retried create returns the same runtime, another body is 409", async () => {
    const opts = { image: "busybox", memoryMiB: 64, idempotencyKey: "create-once" };
    const first = await runta.runtimes.create("api-idem", opts);
    const again = await runta.runtimes.create("api-idem", opts);
    expect(again.id).toBe(first.id);
    await expect(runta.runtimes.create("api-idem-2", opts)).rejects.toBeInstanceOf(AlreadyExistsError);
    await first.delete();
    // Seed 002's key in the body does the same: 201 first, 200 "already existed" for the same body, 409 for another.
    const post = (body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${d.endpoint}/v1/runtimes`, { method: "POST", headers: { Authorization: `Bearer ${d.token}`, "Content-Type": "application/json", ...headers }, body: JSON.stringify(body) });
    const body = { name: "seed-key", image: "busybox", key: "seed002-once", resources: { requests: { memory_mib: 64 } } };
    const made = await post(body);
    expect(made.status).toBe(201);
    const id = (await made.json()).data.id;
    const replay = await post(body);
    expect(replay.status).toBe(200);
    expect((await replay.json()).data.id).toBe(id);
    const { key, ...bare } = body;
    const viaHeader = await post(bare, { "Idempotency-Key": key });
    expect(viaHeader.status).toBe(200);
    expect((await viaHeader.json()).data.id).toBe(id);
    expect((await post({ ...body, name: "seed-key-2" })).status).toBe(409);
    expect((await post(body, { "Idempotency-Key": "another" })).status).toBe(400);
    await runta.runtimes.delete("seed-key");
  });

  test("list pages with cursors and filters by status through the real store", async () => {
    const names = ["api-p1", "api-p2", "api-p3"];
    for (const n of names) await runta.runtimes.create(n, { image: "busybox", memoryMiB: 64 });
    await runta.runtimes.pause("api-p2");
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const url = new URL("/v1/runtimes", d.endpoint);
      url.searchParams.set("limit", "1");
      if (after) url.searchParams.set("after", after);
      const body = (await (await fetch(url, { headers: { Authorization: `Bearer ${d.token}` } })).json()) as {
        data: Array<{ name: string }>;
        pagination: { next_cursor: string | null; has_more: boolean };
      };
      seen.push(...body.data.map((r) => r.name));
      if (!body.pagination.has_more) break;
      after = body.pagination.next_cursor!;
    }
    expect(seen.filter((n) => names.includes(n))).toEqual(names);
    expect((await runta.runtimes.list({ status: ["paused"] })).map((r) => r.name)).toEqual(["api-p2"]);
    for (const n of names) await runta.runtimes.delete(n);
  });

  test("delete removes the container; the runtime is then 404", async () => {
    const rt = await runta.runtimes.get("api-a");
    const last = await rt.delete();
    expect(last.id).toBe(rt.id);
    await expect(runta.runtimes.get(rt.id)).rejects.toBeInstanceOf(NotFoundError);
    const { stdout } = await execFileAsync("runc", ["--root", d.runcRoot, "list", "-q"]);
    expect(stdout.trim()).toBe("");
  });

  test("the version route reports real runc and kernel versions", async () => {
    const v = await runta.version();
    expect(v.runc).toMatch(/\d+\.\d+/);
    expect(v.kernel).toBe((await execFileAsync("uname", ["-r"])).stdout.trim());
    expect(v.api).toBe("v1");
  });
});
