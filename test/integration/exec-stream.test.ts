/**
 * The exec stream through the real daemon (built dist/, real runc, a busybox runtime): tty and pipe sessions,
 * signals, a paused runtime, independent sessions, and no process left behind when a client vanishes or the
 * runtime is removed mid-session. Run `npm run build` first (startTestDaemon spawns dist/server/main.js).
 */
import type { Socket } from "node:net";
import { beforeAll, describe, expect, test } from "vitest";
import WebSocket from "ws";
import { randomBytes } from "node:crypto";
import type { ExecStreamHandle, RuntimeHandleApi } from "../../src/client/contract.js";
import { FailedPreconditionError, UnavailableError } from "../../src/client/errors.js";
import { ExecStream } from "../../src/client/exec-stream.js";
import type { Runta } from "../../src/client/index.js";
import { daemonSuite } from "../helpers/daemon-suite.js";

const d = daemonSuite().daemon;
let runta: Runta;
let rt: RuntimeHandleApi;
const suffix = randomBytes(3).toString("hex");

beforeAll(async () => {
  runta = d.client();
  rt = await runta.runtimes.create(`xs-${suffix}`, { image: "busybox", vcpus: 0.5, memoryMiB: 128 });
});

/** Collects a stream's output; `until` waits for it to match. */
function collect(s: ExecStreamHandle) {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  s.on("stdout", (c) => out.push(c));
  s.on("stderr", (c) => err.push(c));
  return {
    stdout: () => Buffer.concat(out),
    stderr: () => Buffer.concat(err),
    async until(re: RegExp, ms = 10_000) {
      const t0 = Date.now();
      while (!re.test(Buffer.concat(out).toString("latin1"))) {
        if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${re}; stdout so far: ${JSON.stringify(Buffer.concat(out).toString())}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
  };
}

/** The processes in the runtime other than init, its spare (agent/agents.ts) and the `ps` that lists them. */
async function strayProcesses(target: RuntimeHandleApi = rt): Promise<string[]> {
  const res = await target.exec(["ps", "-o", "pid,args"]);
  return res.stdoutText
    .split("\n")
    .slice(1)
    .map((l) => l.trim())
    .filter((l) => l && !/^1 /.test(l) && !/ps -o pid,args$/.test(l) && !/^\d+ runta-spare$/.test(l));
}

async function eventually(check: () => Promise<boolean>, ms: number, what: string) {
  const t0 = Date.now();
  while (!(await check())) {
    if (Date.now() - t0 > ms) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("exec stream against runc", () => {
  test("a tty shell starts at the requested size, follows a resize and returns its exit code", async () => {
    const s = rt.execStream(["sh"], { tty: true, rows: 33, cols: 111 });
    const o = collect(s);
    s.write("stty size; echo term=$TERM\n");
    await o.until(/33 111/);
    await o.until(/term=xterm-256color/);
    s.resize(40, 120);
    await new Promise((r) => setTimeout(r, 200));
    s.write("stty size\n");
    await o.until(/40 120/);
    s.write("exit 3\n");
    expect(await s.wait()).toMatchObject({ code: 3 });
  });

  test("without a tty: stdin EOF, binary data byte for byte, stdout and stderr apart", async () => {
    const bytes = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 31) % 256));
    const s = rt.execStream(["sh", "-c", "cat; echo to-stderr >&2"]);
    const o = collect(s);
    s.write(bytes);
    s.closeStdin();
    expect(await s.wait()).toMatchObject({ code: 0 });
    expect(o.stdout().equals(bytes)).toBe(true);
    expect(o.stderr().toString()).toBe("to-stderr\n");
  });

  test("a command that keeps running after EOF still delivers its output", async () => {
    const s = rt.execStream(["sh", "-c", "cat >/dev/null; sleep 0.5; echo after-eof"]);
    const o = collect(s);
    s.write("ignored\n");
    s.closeStdin();
    expect(await s.wait()).toMatchObject({ code: 0 });
    expect(o.stdout().toString()).toBe("after-eof\n");
  });

  test("a signal frame interrupts the command (128+n)", async () => {
    const s = rt.execStream(["sleep", "100"]);
    await new Promise((r) => setTimeout(r, 300));
    s.signal("INT");
    expect((await s.wait()).code).toBe(130);
  });

  test("exec on a paused runtime is a FailedPreconditionError that names the fix", async () => {
    await rt.pause();
    try {
      const err = await rt.execStream(["true"]).wait().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FailedPreconditionError);
      expect((err as Error).message).toMatch(/paused.*resume/i);
    } finally {
      await rt.resume();
    }
  });

  test("several sessions on one runtime are independent", async () => {
    const a = rt.execStream(["cat"]);
    const b = rt.execStream(["cat"]);
    const oa = collect(a);
    const ob = collect(b);
    a.write("from-a\n");
    b.write("from-b\n");
    await oa.until(/from-a/);
    await ob.until(/from-b/);
    a.close();
    await expect(a.wait()).rejects.toBeInstanceOf(UnavailableError);
    b.write("still-b\n");
    await ob.until(/still-b/);
    b.closeStdin();
    expect(await b.wait()).toMatchObject({ code: 0 });
    expect(oa.stdout().toString()).toBe("from-a\n");
  });

  test("a terminal whose client vanishes without a close frame waits out its grace period, then leaves no process", async () => {
    const s = rt.execStream(["sh"], { tty: true, graceSecs: 2 });
    const o = collect(s);
    s.write("echo ready; sleep 4242\n");
    await o.until(/ready/);
    await eventually(async () => (await strayProcesses()).some((p) => p.includes("sleep 4242")), 5000, "sleep 4242 running");
    // Drop the TCP connection under the websocket, like a laptop lid closing.
    (s as unknown as { ws: { _socket: Socket } }).ws._socket.destroy();
    await new Promise((r) => setTimeout(r, 1000));
    expect((await strayProcesses()).some((p) => p.includes("sleep 4242")), "kept for the grace period").toBe(true);
    await eventually(async () => (await strayProcesses()).length === 0, 10_000, "no process left after the grace period");
  });

  test("a frozen client (connection open, nothing read) is found by the heartbeat and its shell removed", async () => {
    const s = rt.execStream(["sh"], { tty: true, graceSecs: 0 });
    const o = collect(s);
    s.write("echo ready; sleep 4444\n");
    await o.until(/ready/);
    // The socket stays open but is never read again, so the daemon's pings go unanswered.
    (s as unknown as { ws: { _socket: Socket } }).ws._socket.pause();
    await eventually(async () => (await strayProcesses()).length === 0, 25_000, "the heartbeat dropped the frozen client");
    (s as unknown as { ws: { _socket: Socket } }).ws._socket.destroy();
  }, 40_000);

  test("a command that ignores SIGHUP is still killed after the client vanishes", async () => {
    const s = rt.execStream(["sh", "-c", "trap '' HUP; echo ready; sleep 4343; echo survived"]);
    const o = collect(s);
    await o.until(/ready/);
    (s as unknown as { ws: { _socket: Socket } }).ws._socket.destroy();
    await eventually(async () => (await strayProcesses()).length === 0, 10_000, "the HUP-ignoring command was killed");
  });

  test("removing the runtime mid-session ends the session instead of hanging it", async () => {
    const other = await runta.runtimes.create(`xs-rm-${suffix}`, { image: "busybox", vcpus: 0.5, memoryMiB: 64 });
    const s = other.execStream(["sh"], { tty: true });
    const o = collect(s);
    s.write("echo ready; sleep 1000\n");
    await o.until(/ready/);
    await other.delete();
    const ended = await Promise.race([
      s.wait().then(
        (exit) => `exit ${exit.code}`,
        (err: Error) => `error ${err.name}`,
      ),
      new Promise<string>((r) => setTimeout(() => r("still open"), 15_000)),
    ]);
    expect(ended).not.toBe("still open");
  });

  test("a foreign Origin is refused with 403 during the upgrade, even with the right token", async () => {
    const url = `${d.endpoint.replace(/^http/, "ws")}/v1/runtimes/${rt.name}/exec/stream`;
    const ws = new WebSocket(url, { headers: { Authorization: `Bearer ${d.token}` }, origin: "http://attacker.example" });
    const status = await new Promise<number>((resolve, reject) => {
      ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
      ws.on("open", () => reject(new Error("the daemon upgraded a request from a foreign Origin")));
      ws.on("error", reject);
    });
    ws.terminate();
    expect(status).toBe(403);
  });

  test("a wrong token is refused during the upgrade", async () => {
    const s = new ExecStream({ endpoint: d.endpoint, token: "not-the-token", runtime: rt.name, command: ["true"] });
    const err = await s.wait().catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe("unauthenticated");
  });
});
