import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, test } from "vitest";
import { WebSocketServer } from "ws";
import { RuntaError } from "../../src/api/index.js";
import { ExecStream, execStreamUrl, type StreamChunk } from "../../src/client/exec-stream.js";
import { FailedPreconditionError, NotFoundError, UnauthenticatedError, UnavailableError } from "../../src/client/errors.js";
import type { Engine, StreamSpec } from "../../src/engine/types.js";
import { attachExecStream } from "../../src/server/exec-stream.js";
import { FakeStreamProcess } from "../helpers/fake-stream.js";

const TOKEN = "t0ken-value";

const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (s) =>
        new Promise<void>((r) => {
          s.closeAllConnections();
          s.close(() => r());
        }),
    ),
  );
});

async function serve(heartbeatMs?: number) {
  const procs: FakeStreamProcess[] = [];
  const seen: Array<{ url?: string; authorization?: string }> = [];
  const engine = {
    async get(ref: string) {
      if (ref === "nope") throw new RuntaError("not_found", "no runtime named 'nope'");
      return { name: ref };
    },
    async execStream(ref: string, spec: StreamSpec) {
      if (ref === "paused") throw new RuntaError("failed_precondition", "runtime 'paused' is paused; resume it first");
      if (ref === "nope") throw new RuntaError("not_found", "no runtime named 'nope'");
      // A tiny remote `cat` (see FakeStreamProcess): enough to drive the SDK end through the real server.
      const p = new FakeStreamProcess(spec, { echo: true });
      procs.push(p);
      return p;
    },
  } as unknown as Engine;
  const server = http.createServer((_q, s) => s.writeHead(404).end());
  servers.push(server);
  const ctl = attachExecStream(server, {
    engine,
    authenticate: (req) => {
      seen.push({ url: req.url, authorization: req.headers.authorization });
      return req.headers.authorization === `Bearer ${TOKEN}`;
    },
    checkOrigin: () => true,
    heartbeatMs,
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { endpoint, procs, seen, ctl };
}

describe("ExecStream", () => {
  test("sends writes made before the connection opened, receives binary output, stderr and the exit", async () => {
    const { endpoint, procs, seen } = await serve();
    const s = new ExecStream({ endpoint, token: TOKEN, runtime: "my rt", command: ["cat"], options: { env: { A: "1" }, cwd: "/tmp" } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    s.on("stdout", (c) => out.push(c)).on("stderr", (c) => err.push(c));
    const bytes = Buffer.from(Array.from({ length: 300 }, (_, i) => i % 256));
    s.write(bytes);
    s.write("xyz");
    s.closeStdin();
    const exit = await s.wait();
    expect(exit).toEqual({ code: 303 % 256, signal: null, oom_killed: false });
    expect(Buffer.concat(out)).toEqual(Buffer.concat([bytes, Buffer.from("xyz")]));
    expect(Buffer.concat(err).toString()).toBe("read 303 bytes\n");
    expect(procs[0].spec).toMatchObject({ argv: ["cat"], env: { A: "1" }, cwd: "/tmp", tty: false });
    expect(seen[0].url).toBe("/v1/runtimes/my%20rt/exec/stream");
    expect(seen[0].url).not.toContain(TOKEN);
    expect(seen[0].authorization).toBe(`Bearer ${TOKEN}`);
  });

  test("passes tty and size in start, resizes and signals", async () => {
    const { endpoint, procs } = await serve();
    const s = new ExecStream({ endpoint, token: TOKEN, runtime: "rt", command: "bash", options: { tty: true, rows: 33, cols: 99 } });
    s.resize(40, 120);
    s.signal("INT");
    expect(await s.wait()).toEqual({ code: 130, signal: "INT", oom_killed: false });
    expect(procs[0].spec).toMatchObject({ argv: ["sh", "-c", "bash"], tty: true, rows: 33, cols: 99 });
    expect(procs[0].resizes).toEqual([[40, 120]]);
  });

  test("an error frame rejects wait() with the typed error and emits 'error' to listeners", async () => {
    const { endpoint } = await serve();
    const s = new ExecStream({ endpoint, token: TOKEN, runtime: "paused", command: "sh" });
    const emitted: Error[] = [];
    s.on("error", (e) => emitted.push(e));
    const err = await s.wait().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FailedPreconditionError);
    expect((err as Error).message).toBe("runtime 'paused' is paused; resume it first");
    expect(emitted).toEqual([err]);
    const nf = await new ExecStream({ endpoint, token: TOKEN, runtime: "nope", command: "sh" }).wait().catch((e: unknown) => e);
    expect(nf).toBeInstanceOf(NotFoundError);
  });

  test("a wrong token is an UnauthenticatedError carrying the daemon's message", async () => {
    const { endpoint } = await serve();
    const err = await new ExecStream({ endpoint, token: "wrong", runtime: "rt", command: "sh" }).wait().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnauthenticatedError);
    expect(err).toMatchObject({ status: 401, requestId: expect.stringMatching(/^req_/) });
    expect((err as Error).message).toMatch(/token/);
    expect((err as Error).message).not.toContain("wrong");
  });

  test("an unreachable daemon is an UnavailableError naming the endpoint", async () => {
    const { endpoint } = await serve();
    await new Promise<void>((r) => servers.pop()!.close(() => r()));
    const err = await new ExecStream({ endpoint, token: TOKEN, runtime: "rt", command: "sh" }).wait().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as Error).message).toContain(endpoint);
    // The wording of a REST request to a daemon that is not there (the CLI keys its hint on it).
    expect((err as Error).message).toMatch(/\(ECONNREFUSED\): is it running\?/);
  });

  test("a daemon that goes away mid-session is an UnavailableError, and the process was hung up", async () => {
    const { endpoint, procs, ctl } = await serve();
    const s = new ExecStream({ endpoint, token: TOKEN, runtime: "rt", command: "sh" });
    s.write("x");
    await new Promise<void>((r) => s.once("stdout", () => r()));
    ctl.closeAll(1001, "daemon shutting down");
    const err = await s.wait().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnavailableError);
    expect((err as Error).message).toMatch(/closed before the command exited \(code 1001: daemon shutting down\)/);
    expect(procs[0].hangups).toBe(1);
  });

  test("close() ends the session and the daemon hangs the process up", async () => {
    const { endpoint, procs } = await serve();
    const s = new ExecStream({ endpoint, token: TOKEN, runtime: "rt", command: "sh" });
    s.write("x");
    await new Promise<void>((r) => s.once("stdout", () => r()));
    s.close();
    await expect(s.wait()).rejects.toBeInstanceOf(UnavailableError);
    for (let i = 0; i < 100 && procs[0].hangups === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(procs[0].hangups).toBe(1);
  });

  test("async iteration yields every chunk in order, then ends at the exit", async () => {
    const { endpoint } = await serve();
    const s = new ExecStream({ endpoint, token: TOKEN, runtime: "rt", command: "cat" });
    s.write("a");
    s.write("b");
    s.closeStdin();
    const chunks: StreamChunk[] = [];
    for await (const c of s) chunks.push(c);
    expect(chunks.map((c) => `${c.stream}:${c.data.toString()}`)).toEqual(["stdout:a", "stdout:b", "stderr:read 2 bytes\n"]);
  });

  test("a daemon that goes silent (no pings, no close) is detected and reported as unavailable", async () => {
    // A server that accepts the upgrade and then never says anything again, like a host behind a dead link.
    const wss = new WebSocketServer({ port: 0, host: "127.0.0.1" });
    await new Promise<void>((r) => wss.once("listening", () => r()));
    const endpoint = `http://127.0.0.1:${(wss.address() as AddressInfo).port}`;
    try {
      const s = new ExecStream({ endpoint, token: TOKEN, runtime: "rt", command: "sh", heartbeatTimeoutMs: 200 });
      const t0 = Date.now();
      const err = await s.wait().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnavailableError);
      expect((err as Error).message).toMatch(/no heartbeat from the runta daemon at .* for 200 ms/);
      expect(Date.now() - t0).toBeLessThan(2000);
    } finally {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
    }
  });

  test("a live daemon's pings keep a quiet session open", async () => {
    const { endpoint, procs } = await serve(100);
    const s = new ExecStream({ endpoint, token: TOKEN, runtime: "rt", command: "cat", heartbeatTimeoutMs: 300 });
    await new Promise((r) => setTimeout(r, 900));
    s.write("x");
    s.closeStdin();
    expect(await s.wait()).toMatchObject({ code: 1 });
    expect(procs[0].hangups).toBe(0);
  });

  test("execStreamUrl maps http to ws and https to wss, keeping a base path", () => {
    expect(execStreamUrl("http://127.0.0.1:7420", "a/b")).toBe("ws://127.0.0.1:7420/v1/runtimes/a%2Fb/exec/stream");
    expect(execStreamUrl("https://h.example/base/", "rt")).toBe("wss://h.example/base/v1/runtimes/rt/exec/stream");
  });
});
