import { describe, expect, test } from "vitest";
import { FakeHandle } from "../../helpers/fake-exec-stream.js";
import { cli, worker } from "../../helpers/cli-harness.js";

const running = { id: "a1b2c3d4e5f6", runtime_id: worker.id, command: ["python3", "-m", "http.server"], pid: 7 };
const ended = {
  id: "0f0f0f0f0f0f",
  runtime_id: worker.id,
  kind: "stream" as const,
  command: ["false"],
  pid: 9,
  status: "ended" as const,
  exit_code: 1,
  ended_by: "exited" as const,
  ended_at: "2026-01-01T00:04:30.000Z",
};
const session = { id: "7777aaaa9999", runtime_id: worker.id, kind: "terminal" as const, tty: true, command: ["sh"], attached: false, grace_expires_at: "2026-01-01T00:06:00.000Z" };

describe("top", () => {
  test("lists running execs in a pipe with full values; -a adds the finished ones", async () => {
    const r = await cli(["top", "worker"], { client: { runtimes: [worker], execs: [running, ended] } });
    expect(r.code).toBe(0);
    expect(r.out).toBe("EXEC ID\tPID\tUSER\tKIND\tSTATUS\tSTARTED\tCOMMAND\na1b2c3d4e5f6\t7\troot\tdetached\trunning\t2026-01-01T00:04:00.000Z\tpython3 -m http.server\n");
    const all = await cli(["top", "-a", "worker"], { client: { runtimes: [worker], execs: [running, ended] } });
    expect(all.out.split("\n")[2]).toBe("0f0f0f0f0f0f\t9\troot\tstream\texited (1)\t2026-01-01T00:04:00.000Z\tfalse");
  });

  test("--json prints the API objects; -q the ids; a session waiting for its client says so", async () => {
    const j = await cli(["top", "--json", "worker"], { client: { runtimes: [worker], execs: [running, session] } });
    expect(JSON.parse(j.out).execs.map((e: { id: string }) => e.id)).toEqual([running.id, session.id]);
    const q = await cli(["top", "-q", "worker"], { client: { runtimes: [worker], execs: [running] } });
    expect(q.out).toBe(`${running.id}\n`);
    const t = await cli(["top", "worker"], { client: { runtimes: [worker], execs: [session] } });
    expect(t.out).toContain("running, detached until 00:06:00Z");
  });

  test("an unknown runtime is an error, exit 1", async () => {
    const r = await cli(["top", "ghost"], { client: { runtimes: [worker] } });
    expect(r.code).toBe(1);
    expect(r.err).toContain('runtime "ghost" not found');
  });
});

describe("kill", () => {
  test("signals the given execs with KILL by default and prints each id", async () => {
    const r = await cli(["kill", "worker", running.id], { client: { runtimes: [worker], execs: [running] } });
    expect(r.code).toBe(0);
    expect(r.out).toBe(`${running.id}\n`);
    expect(r.client.calls.find((c) => c.method === "execs.signal")!.args).toEqual(["worker", running.id, "KILL"]);
  });

  test("without ids it signals every running exec; -s takes names, SIG names and numbers", async () => {
    const other = { ...running, id: "bbbbbbbbbbbb" };
    const r = await cli(["kill", "-s", "SIGTERM", "worker"], { client: { runtimes: [worker], execs: [running, ended, other] } });
    expect(r.out).toBe(`${running.id}\nbbbbbbbbbbbb\n`);
    expect(r.client.calls.filter((c) => c.method === "execs.signal").map((c) => c.args[2])).toEqual(["TERM", "TERM"]);
    const n = await cli(["kill", "-s", "1", "worker", running.id], { client: { runtimes: [worker], execs: [running] } });
    expect(n.client.calls.find((c) => c.method === "execs.signal")!.args[2]).toBe("HUP");
  });

  test("a signal outside the allowed set is a usage error before any request", async () => {
    const r = await cli(["kill", "-s", "SEGV", "worker"], { client: { runtimes: [worker], execs: [running] } });
    expect(r.code).toBe(2);
    expect(r.err).toContain('-s "SEGV" is not a signal runta sends');
    expect(r.client.calls.some((c) => c.method.startsWith("execs."))).toBe(false);
  });

  test("unknown and ended execs fail each on their own line, exit 1, the others are still signalled", async () => {
    const r = await cli(["kill", "worker", "nope", ended.id, running.id], { client: { runtimes: [worker], execs: [running, ended] } });
    expect(r.code).toBe(1);
    expect(r.out).toBe(`${running.id}\n`);
    expect(r.err).toContain("no exec nope");
    expect(r.err).toContain("has ended");
  });
});

describe("attach", () => {
  test("bridges a detached terminal session with this terminal's size and exits with its code", async () => {
    const h = new FakeHandle();
    let size: unknown;
    const r = await cli(["attach", "worker", session.id], {
      client: { runtimes: [worker], execs: [session], execAttach: (_t, _id, o) => ((size = o), h) },
      tty: true,
      deps: { bridge: async (handle, _io, o) => (expect(handle).toBe(h), expect(o).toMatchObject({ tty: true, interactive: true }), 3) },
    });
    expect(r.code).toBe(3);
    expect(size).toEqual({ rows: 40, cols: 120 });
  });

  test("refuses without a terminal (2), a non-terminal exec (2) and an ended one (1)", async () => {
    expect((await cli(["attach", "worker", session.id], { client: { runtimes: [worker], execs: [session] } })).code).toBe(2);
    const pipe = await cli(["attach", "worker", running.id], { client: { runtimes: [worker], execs: [running] }, tty: true });
    expect(pipe.code).toBe(2);
    expect(pipe.err).toContain("has no terminal");
    const over = await cli(["attach", "worker", "e"], { client: { runtimes: [worker], execs: [{ ...session, id: "e", status: "ended", exit_code: 0 }] }, tty: true });
    expect(over.code).toBe(1);
    expect(over.err).toContain("has ended (exit 0)");
  });
});
