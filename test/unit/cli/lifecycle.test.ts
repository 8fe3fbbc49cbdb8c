import { describe, expect, test } from "vitest";
import { fakeClient } from "../../helpers/fake-client.js";
import { cli, stopped, worker } from "../../helpers/cli-harness.js";

describe("lifecycle verbs", () => {
  test("the seed sequence boot/pause/resume/shutdown/rm works and prints each name", async () => {
    const c = fakeClient({ runtimes: [worker] });
    for (const verb of ["shutdown", "boot", "pause", "resume", "shutdown", "rm"]) {
      const r = await cli([verb, "worker"], { client: c });
      expect(r.code, verb).toBe(0);
      expect(r.out, verb).toBe("worker\n");
    }
    expect(c.state.size).toBe(0);
  });

  test("keeps going past a missing runtime, then exits 1", async () => {
    const c = fakeClient({ runtimes: [worker, { ...worker, id: "3b3d8a4e-5f8c-4d1a-9b7e-2c6f1a0e9d11", name: "b2" }] });
    const r = await cli(["pause", "worker", "ghost", "b2"], { client: c });
    expect(r.code).toBe(1);
    expect(r.out).toBe("worker\nb2\n");
    expect(r.err).toBe('runta: runtime "ghost" not found — list them with runta ps -a\n');
  });

  test("accepts the short id ps shows on a terminal, and any unique id prefix", async () => {
    const c = fakeClient({ runtimes: [worker, stopped] });
    expect((await cli(["pause", "0b3d8a4e5f8c"], { client: c })).out).toBe("0b3d8a4e5f8c\n");
    expect(c.state.get(worker.id)!.status).toBe("paused");
    expect((await cli(["inspect", "7c1f"], { client: c })).out).toContain(stopped.id);
    expect((await cli(["exec", "0b3d8a4e-5f8c", "--", "true"], { client: { runtimes: [worker] } })).code).toBe(0);
  });

  test("an ambiguous prefix names the candidates; a name is never mistaken for a prefix", async () => {
    const twin = { ...worker, id: "0b3d8a4e-ffff-4d1a-9b7e-2c6f1a0e9d11", name: "twin" };
    const r = await cli(["pause", "0b3d"], { client: { runtimes: [worker, twin] } });
    expect(r.code).toBe(1);
    expect(r.err).toBe('runta: "0b3d" matches 2 runtimes (worker, twin) — give more characters of the id, or the name\n');
    const named = await cli(["pause", "abc"], { client: { runtimes: [{ ...worker, name: "abc" }, { ...stopped, id: "abcabcab-3d4e-4f5a-8b6c-9d0e1f2a3b4c", status: "running" }] } });
    expect(named.code).toBe(0);
    expect([...named.client.state.values()].find((x) => x.name === "abc")!.status).toBe("paused");
  });

  test("an empty runtime argument is refused before any request, and the other targets still run", async () => {
    const r = await cli(["rm", "", "worker"], { client: { runtimes: [worker] } });
    expect(r.code).toBe(1);
    expect(r.out).toBe("worker\n");
    expect(r.err).toBe('runta: runtime "" is empty — give a runtime name or id (see runta ps -a)\n');
    expect(r.client.calls.filter((c) => c.method === "delete").map((c) => c.args[0])).toEqual(["worker"]);
    const x = await cli(["exec", " ", "--", "true"], { client: { runtimes: [worker] } });
    expect(x.code).toBe(2);
    expect(x.client.calls.some((c) => c.method === "exec")).toBe(false);
  });

  test("an impossible transition reports the status, exit 1", async () => {
    const r = await cli(["pause", "old"], { client: { runtimes: [stopped] } });
    expect(r.code).toBe(1);
    expect(r.err).toBe('runta: cannot pause runtime "old": it is shutdown\n');
  });

  test("rm accepts -f and removes a runtime in any state", async () => {
    const r = await cli(["rm", "-f", "old", "worker"], { client: { runtimes: [worker, stopped] } });
    expect(r.code).toBe(0);
    expect(r.client.state.size).toBe(0);
  });
});

describe("shutdown -t, restart, wait", () => {
  test("shutdown -t passes the grace period on; without it the daemon's default applies", async () => {
    const c = fakeClient({ runtimes: [worker] });
    expect((await cli(["shutdown", "-t", "30", "worker"], { client: c })).out).toBe("worker\n");
    expect(c.calls.find((x) => x.method === "stop")!.args[1]).toEqual({ graceSecs: 30 });
    await cli(["boot", "worker"], { client: c });
    await cli(["shutdown", "worker"], { client: c });
    expect(c.calls.filter((x) => x.method === "stop")[1]!.args[1]).toBeUndefined();
    for (const bad of ["-1", "1.5", "3601", "soon"]) expect((await cli(["shutdown", "-t", bad, "worker"], { client: c })).code, bad).toBe(2);
  });

  test("restart stops a running runtime and boots it; a shut-down one is only booted", async () => {
    const c = fakeClient({ runtimes: [worker, stopped] });
    const r = await cli(["restart", "-t", "0", "worker", "old"], { client: c });
    expect(r.out).toBe("worker\nold\n");
    expect(c.calls.filter((x) => x.method === "stop" || x.method === "start").map((x) => `${x.method} ${x.args[0]}`)).toEqual([
      "stop worker",
      `start ${worker.id}`,
      `start ${stopped.id}`,
    ]);
    expect([...c.state.values()].map((x) => x.status)).toEqual(["running", "running"]);
  });

  test("wait prints each init's exit code like docker wait and exits with the last; an unknown code or an error is exit 1", async () => {
    const c = fakeClient({ runtimes: [{ ...stopped, exit_code: 0 }, { ...worker, status: "crashed", exit_code: 137, last_error: "the runtime's init process exited unexpectedly" }] });
    const r = await cli(["wait", "old", "worker"], { client: c });
    expect(r.code).toBe(137);
    expect(r.out).toBe("0\n137\n");
    expect(r.err).toBe("");
    expect((await cli(["wait", "old"], { client: c })).code).toBe(0);
    const unknown = await cli(["wait", "legacy", "broken"], {
      client: { runtimes: [{ name: "legacy", status: "shutdown", exit_code: null }, { name: "broken", status: "error", last_error: "boot failed: no image" }] },
    });
    expect(unknown.code).toBe(1);
    expect(unknown.out).toBe("");
    expect(unknown.err).toContain("legacy: shutdown, but the exit code of its init is unknown: it was booted by a daemon from before runta recorded exit codes");
    expect(unknown.err).toContain("Its next boot records it: runta start legacy");
    expect(unknown.err).toContain("broken: error: boot failed: no image");
  });
});

describe("rename", () => {
  test("renames by name or id prefix and prints the new name; a taken or invalid name fails", async () => {
    const c = fakeClient({ runtimes: [worker, stopped] });
    const r = await cli(["rename", "0b3d8a4e5f8c", "worker-old"], { client: c });
    expect(r.out, r.err).toBe("worker-old\n");
    expect(c.state.get(worker.id)!.name).toBe("worker-old");
    const taken = await cli(["rename", "worker-old", "old"], { client: c });
    expect(taken.code).toBe(1);
    expect(taken.err).toContain('a runtime named "old" already exists');
    const bad = await cli(["rename", "old", "bad name"], { client: c });
    expect(bad.code).toBe(2);
    expect(bad.err).toBe(`runta: new name "bad name" must start with a letter or digit and contain only letters, digits, '_', '.', '-' (1-63 characters)\n`);
  });
});
