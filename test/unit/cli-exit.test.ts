/**
 * The built CLI exits as soon as its answer is out (bin/runta.js calls process.exit once stdout and stderr flushed),
 * without cutting output short on a slow pipe. Driven against a fake daemon on port 0.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { resolve } from "node:path";
import { afterEach, expect, test } from "vitest";

const bin = resolve(__dirname, "../../bin/runta.js");

const record = (i: number) => ({
  id: `${String(i).padStart(8, "0")}-0000-4000-8000-000000000000`,
  name: `rt-${i}`,
  status: "running",
  image: "default",
  resources: { requests: { vcpus: 1, memory_mib: 512 } },
  env_names: [],
  labels: { note: "x".repeat(200) },
  created_at: "2026-01-01T00:00:00.000Z",
  updated_at: "2026-01-01T00:00:00.000Z",
  started_at: "2026-01-01T00:00:00.000Z",
  revision: 1,
  last_error: null,
  idle_timeout_secs: null,
  last_activity_at: null,
});

let server: Server | undefined;
const upgraded = new Set<Socket>();
afterEach(async () => {
  for (const s of upgraded) s.destroy();
  upgraded.clear();
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

/** A fake daemon: `count` runtimes; an exec stream that sends exit 3 and then never answers the client's close. */
async function fakeDaemon(count: number): Promise<{ endpoint: string; frames: string[] }> {
  const frames: string[] = [];
  server = createServer((req, res) => {
    res.setHeader("Content-Type", "application/json");
    if (req.url?.startsWith("/v1/runtimes/rt-0")) return res.end(JSON.stringify({ data: record(0) }));
    if (req.url?.startsWith("/v1/runtimes")) {
      return res.end(JSON.stringify({ data: Array.from({ length: count }, (_, i) => record(i)), pagination: { has_more: false, next_cursor: null } }));
    }
    res.statusCode = 404;
    res.end(JSON.stringify({ error: { code: "not_found", message: "no" } }));
  });
  server.on("upgrade", (req, socket: Socket) => {
    upgraded.add(socket);
    const accept = createHash("sha1").update(`${req.headers["sec-websocket-key"]}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    // Client frames are masked: byte 1's low 7 bits are the length (< 126 for the start frame), then 4 mask bytes.
    socket.once("data", (d: Buffer) => {
      const len = d[1]! & 0x7f;
      const mask = d.subarray(2, 6);
      frames.push(Buffer.from(d.subarray(6, 6 + len).map((b, i) => b ^ mask[i % 4]!)).toString());
      const exit = Buffer.from(JSON.stringify({ type: "exit", code: 3 }));
      socket.write(Buffer.concat([Buffer.from([0x81, exit.length]), exit]));
      socket.on("data", () => {}); // the close frame is never answered: ws would wait 30 s for it
    });
  });
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", () => r()));
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, frames };
}

/** Runs the built CLI; stdout is read only after `readAfterMs`, so a large output fills the pipe first. */
async function runCli(endpoint: string, args: string[], readAfterMs = 0): Promise<{ code: number | null; stdout: Buffer; stderr: string; ms: number }> {
  const t0 = Date.now();
  const child = spawn(process.execPath, [bin, ...args], {
    env: { ...process.env, RUNTA_ENDPOINT: endpoint, RUNTA_TOKEN: "t" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const out: Buffer[] = [];
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => out.push(d));
  child.stdout.pause();
  setTimeout(() => child.stdout.resume(), readAfterMs);
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((r) => child.on("close", r));
  return { code, stdout: Buffer.concat(out), stderr, ms: Date.now() - t0 };
}

test("a large --json list to a slow pipe arrives whole before the process exits", async () => {
  const { endpoint } = await fakeDaemon(3000);
  const { code, stdout, stderr } = await runCli(endpoint, ["ps", "--json"], 500);
  expect(code, stderr).toBe(0);
  expect(stdout.length).toBeGreaterThan(1_000_000);
  const list = (JSON.parse(stdout.toString()) as { runtimes: { name: string }[] }).runtimes;
  expect(list).toHaveLength(3000);
  expect(list[2999]!.name).toBe("rt-2999");
}, 20_000);

test("exec -i exits with the remote code at once, even when the daemon never answers the websocket close", async () => {
  const { endpoint, frames } = await fakeDaemon(1);
  const { code, stderr, ms } = await runCli(endpoint, ["exec", "-i", "rt-0", "--", "true"]);
  expect(code, stderr).toBe(3);
  expect(JSON.parse(frames[0]!)).toMatchObject({ type: "start", command: ["true"] });
  expect(ms).toBeLessThan(5_000);
}, 40_000);
