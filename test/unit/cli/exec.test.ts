import { EventEmitter } from "node:events";
import { describe, expect, test } from "vitest";
import { fakeClient } from "../../helpers/fake-client.js";
import { cli, stopped, worker } from "../../helpers/cli-harness.js";
import type { ExecStreamHandle } from "../../../src/client/contract.js";
import { FakeHandle } from "../../helpers/fake-exec-stream.js";

describe("exec", () => {
  const client = () => fakeClient({ runtimes: [worker, { ...stopped, name: "sleepy", status: "paused", id: "2b3d8a4e-5f8c-4d1a-9b7e-2c6f1a0e9d11" }] });

  test("the seed line passes argv after -- as is and writes the streamed output raw, stdout and stderr apart", async () => {
    const r = await cli(["exec", "worker", "--", "sh", "-lc", "pwd && python3 --version"], {
      client: fakeClient({ runtimes: [worker], execRun: async () => ({ stdout: "/root\nPython 3.11.2\n", stderr: "warn\n" }) }),
    });
    expect(r.code).toBe(0);
    expect(r.out).toBe("/root\nPython 3.11.2\n");
    expect(r.err).toBe("warn\n");
    expect(r.client.calls.find((x) => x.method === "execs.run")!.args.slice(0, 2)).toEqual(["worker", ["sh", "-lc", "pwd && python3 --version"]]);
  });

  test("returns the remote exit code: plain, 126/127 and 128+n on signal", async () => {
    for (const code of [3, 126, 127, 137]) {
      const r = await cli(["exec", "worker", "--", "x"], { client: { runtimes: [worker], execRun: async () => ({ code }) } });
      expect(r.code).toBe(code);
    }
  });

  test("-e, -w, -u and --timeout reach the API; there is no default timeout", async () => {
    const r = await cli(["exec", "-e", "APP_ENV=dev", "-w", "/tmp", "-u", "nobody", "--timeout", "5", "worker", "--", "env"], { client: { runtimes: [worker] } });
    expect(r.client.calls.find((x) => x.method === "execs.run")!.args[2]).toEqual({ env: { APP_ENV: "dev" }, cwd: "/tmp", user: "nobody", timeoutSecs: 5 });
    const plain = await cli(["exec", "worker", "--", "env"], { client: { runtimes: [worker] } });
    expect(plain.client.calls.find((x) => x.method === "execs.run")!.args[2]).toMatchObject({ timeoutSecs: undefined });
    expect((await cli(["exec", "-w", "tmp", "worker", "--", "pwd"])).code).toBe(2);
  });

  test("-e NAME alone passes the caller's value; an unset one is a usage error saying so", async () => {
    const r = await cli(["exec", "-e", "MINE", "worker", "--", "env"], { client: { runtimes: [worker] }, env: { MINE: "from here" } });
    expect(r.client.calls.find((x) => x.method === "execs.run")!.args[2]).toMatchObject({ env: { MINE: "from here" } });
    const unset = await cli(["exec", "-e", "NOT_SET", "worker", "--", "env"], { client: { runtimes: [worker] } });
    expect(unset.code).toBe(2);
    expect(unset.err).toBe("runta: -e NOT_SET: NOT_SET is not set in this shell — export it, or use -e NOT_SET=value\n");
  });

  test("--timeout beyond the API's maximum is a usage error naming the flag, not runta's failure", async () => {
    const r = await cli(["exec", "--timeout", "99999", "worker", "--", "true"], { client: { runtimes: [worker] } });
    expect(r.code).toBe(2);
    expect(r.err).toBe('runta: --timeout must be a number of seconds above 0 and at most 3600, got "99999"\n');
    expect(r.client.calls.some((c) => c.method === "execs.run")).toBe(false);
    expect((await cli(["exec", "--timeout", "0.5", "worker", "--", "true"], { client: { runtimes: [worker] } })).code).toBe(0);
  });

  test("a timeout and an OOM kill are warned about on stderr", async () => {
    const r = await cli(["exec", "--timeout", "2", "worker", "--", "yes"], {
      client: { runtimes: [worker], execRun: async () => ({ stdout: "y\n", code: 137, ended_by: "timed_out" }) },
    });
    expect(r.code).toBe(137);
    expect(r.err).toBe("runta: warning: the command timed out after 2 s and was killed — raise --timeout\n");
    const oom = await cli(["exec", "worker", "--", "big"], { client: { runtimes: [worker], execRun: async () => ({ code: 137, oom_killed: true, ended_by: "oom" }) } });
    expect(oom.err).toContain("killed for lack of memory");
  });

  test("-d prints the exec id and returns; -d with -i or -t is a usage error", async () => {
    const r = await cli(["exec", "-d", "-u", "nobody", "worker", "--", "sleep", "100"], { client: { runtimes: [worker] } });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^[0-9a-f]{12}\n$/);
    expect(r.client.calls.find((x) => x.method === "execs.start")!.args).toEqual(["worker", ["sleep", "100"], { env: undefined, cwd: undefined, user: "nobody", timeoutSecs: undefined }]);
    for (const flag of ["-i", "-t"]) {
      const bad = await cli(["exec", "-d", flag, "worker", "--", "cat"], { client: { runtimes: [worker] }, tty: true });
      expect(bad.code).toBe(2);
      expect(bad.err).toContain("-d starts the command without a connection");
    }
  });

  test("runta's own failure is 125 (missing or paused runtime)", async () => {
    const missing = await cli(["exec", "ghost", "--", "true"], { client: client() });
    expect(missing.code).toBe(125);
    expect(missing.err).toContain('runtime "ghost" not found');
    const paused = await cli(["exec", "sleepy", "--", "true"], { client: client() });
    expect(paused.code).toBe(125);
    expect(paused.err).toContain("is paused");
  });

  test("Ctrl-C during a plain exec closes the stream (the daemon kills the command), exit 130", async () => {
    const signals = new EventEmitter();
    let aborted: AbortSignal | undefined;
    const pending = cli(["exec", "worker", "--", "sleep", "100"], {
      client: { runtimes: [worker], execRun: (_t, _a, o) => ((aborted = o.signal), new Promise(() => undefined)) },
      deps: { signals },
    });
    await new Promise((r) => setTimeout(r, 20));
    signals.emit("SIGINT");
    const r = await pending;
    expect(r.code).toBe(130);
    expect(r.err).toBe("runta: interrupted — the command in worker is killed with its children\n");
    expect(aborted?.aborted).toBe(true);
    expect(signals.listenerCount("SIGINT")).toBe(0);
  });

  test("-t without a terminal on stdin is a usage error, exit 2", async () => {
    const r = await cli(["exec", "-t", "worker", "--", "bash"], { client: client() });
    expect(r.code).toBe(2);
    expect(r.err).toContain("the input device is not a TTY");
  });

  test("-it goes through the bridge with the terminal size and the local TERM, and returns its code", async () => {
    const handle = new EventEmitter() as unknown as ExecStreamHandle;
    let bridged: { tty: boolean; interactive: boolean } | undefined;
    const c = fakeClient({ runtimes: [worker], execStream: () => handle });
    const r = await cli(["exec", "-it", "worker", "--", "bash"], {
      client: c,
      tty: true,
      env: { TERM: "screen" },
      deps: {
        bridge: async (h, _io, o) => {
          expect(h).toBe(handle);
          bridged = o;
          return 42;
        },
      },
    });
    expect(r.code).toBe(42);
    expect(bridged).toMatchObject({ tty: true, interactive: true });
    expect(c.calls.find((x) => x.method === "execStream")!.args).toEqual([worker.id, ["bash"], { tty: true, rows: 40, cols: 120, env: { TERM: "screen" }, cwd: undefined, user: undefined, graceSecs: undefined }]);
  });

  test("runta's own failure in a session (the daemon gone) is 125 with one line after the restored terminal", async () => {
    const h = new FakeHandle();
    const c = fakeClient({ runtimes: [worker], execStream: () => (setImmediate(() => h.die("connection to the runta daemon at http://127.0.0.1:1 closed before the command exited\nmore detail")), h) });
    const signals = new EventEmitter();
    const r = await cli(["exec", "-it", "worker", "--", "sh"], { client: c, tty: true, deps: { signals } });
    expect(r.code).toBe(125);
    expect(r.err).toBe("\r\nrunta: connection to the runta daemon at http://127.0.0.1:1 closed before the command exited more detail\n");
    expect(signals.listenerCount("SIGINT") + signals.listenerCount("exit")).toBe(0);
    const missing = await cli(["exec", "-it", "ghost", "--", "sh"], { client: c, tty: true, deps: { signals } });
    expect(missing.code).toBe(125);
    expect(missing.err).toContain('runtime "ghost" not found');
    expect(c.calls.filter((x) => x.method === "execStream")).toHaveLength(1);
  });

  test("-it looks its target up without asking for cgroup usage", async () => {
    const c = fakeClient({ runtimes: [worker], execStream: () => new EventEmitter() as unknown as ExecStreamHandle });
    await cli(["exec", "-it", worker.id.slice(0, 12), "--", "sh"], { client: c, tty: true, deps: { bridge: async () => 0 } });
    expect(c.calls.filter((x) => x.method === "get").map((x) => x.args[1])).toEqual([{ usage: false }, { usage: false }]);
    expect(c.calls.find((x) => x.method === "execStream")!.args[0]).toBe(worker.id);
  });

  test("--timeout with a streamed session is refused rather than ignored", async () => {
    const r = await cli(["exec", "-i", "--timeout", "5", "worker", "--", "cat"], { client: { runtimes: [worker] } });
    expect(r.code).toBe(2);
    expect(r.err).toContain("--timeout applies to plain and detached exec");
  });

  test("-i alone streams without a tty", async () => {
    const c = fakeClient({ runtimes: [worker], execStream: () => new EventEmitter() as unknown as ExecStreamHandle });
    const r = await cli(["exec", "-i", "worker", "--", "cat"], { client: c, deps: { bridge: async (_h, _io, o) => (o.tty ? 9 : 0) } });
    expect(r.code).toBe(0);
    expect(c.calls.find((x) => x.method === "execStream")!.args[2]).toMatchObject({ tty: false });
  });
});
