/**
 * Network and disk I/O in a runtime's usage, through the real daemon and runc: known bytes moved inside a runtime
 * show up in the counters, in the right direction. Traffic goes only to a test host in a namespace this file creates.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { expect, test } from "vitest";
import type { Runtime } from "../../src/client/index.js";
import { daemonSuite } from "../helpers/daemon-suite.js";
import { startTestHost, type TestHost } from "../helpers/test-hosts.js";

const MiB = 1024 * 1024;
const PORT = 9009;
let host: TestHost;
let sink: ChildProcess | null = null;

/** In the test host: sends 5 MiB to whoever connects and reads what they send until they finish. */
const SERVER = `
require("node:net").createServer((s) => { s.on("data", () => {}); s.on("end", () => s.end()); s.write(Buffer.alloc(5 * 1024 * 1024)); })
  .listen(${PORT}, process.argv[1], () => console.log("ready"));
`;

/** In the runtime: sends 3 MiB, then reads to the end; prints the bytes received. */
const CLIENT = `
import socket, sys
s = socket.create_connection((sys.argv[1], ${PORT}), timeout=20)
s.sendall(b"x" * (3 * 1024 * 1024)); s.shutdown(socket.SHUT_WR)
n = 0
while True:
    b = s.recv(65536)
    if not b: break
    n += len(b)
print(n)
`;

const d = daemonSuite({
  defaultImage: true,
  before: async () => {
    host = await startTestHost();
    sink = spawn("ip", ["netns", "exec", host.netns, process.execPath, "-e", SERVER, host.address], { stdio: ["ignore", "pipe", "inherit"] });
    await new Promise<void>((resolve, reject) => {
      sink!.stdout!.once("data", () => resolve());
      sink!.once("exit", (code) => reject(new Error(`the test host's sink exited with ${code}`)));
    });
  },
  after: async () => {
    sink?.kill("SIGKILL");
    await host?.close();
  },
}).daemon;

async function usage(rt: Runtime) {
  const u = (await rt.refresh()).usage;
  expect(u).toBeTruthy();
  return u!;
}

test("network: 5 MiB in and 3 MiB out of a runtime count as received and sent", async () => {
  const rt = await d.client().runtimes.create("netio", { memoryMiB: 256 });
  const before = await usage(rt);
  expect(before.net_rx_bytes).toEqual(expect.any(Number));
  const res = await rt.exec(["python3", "-c", CLIENT, host.address], { timeoutSecs: 60 });
  expect(res.exit_code, res.stderrText).toBe(0);
  expect(res.stdoutText.trim()).toBe(String(5 * MiB));
  const after = await usage(rt);
  const rx = after.net_rx_bytes! - before.net_rx_bytes!;
  const tx = after.net_tx_bytes! - before.net_tx_bytes!;
  // Payload plus headers and acks: a little more than what was sent each way, nowhere near the other direction's.
  expect(rx).toBeGreaterThanOrEqual(5 * MiB);
  expect(rx).toBeLessThan(5.5 * MiB);
  expect(tx).toBeGreaterThanOrEqual(3 * MiB);
  expect(tx).toBeLessThan(3.5 * MiB);
  await rt.delete();
});

test("disk: 5 MiB written through the overlay reach the runtime's disk counters; no network counters without a network", async () => {
  const rt = await d.client().runtimes.create("diskio", { memoryMiB: 256, network: "none" });
  const before = await usage(rt);
  expect(before.net_rx_bytes).toBeNull();
  expect(before.net_tx_bytes).toBeNull();
  // Counted from its mount: a loop device keeps the counts of the runtimes that used it before (gigabytes here).
  expect(before.disk_read_bytes).toBeLessThan(16 * MiB);
  expect(before.disk_write_bytes).toBeLessThan(16 * MiB);
  const res = await rt.exec("head -c 5M /dev/zero > /var/tmp/f && sync");
  expect(res.exit_code, res.stderrText).toBe(0);
  const after = await usage(rt);
  expect(after.disk_write_bytes! - before.disk_write_bytes!).toBeGreaterThanOrEqual(5 * MiB);
  // Only that file and ext4's journal and metadata for it.
  expect(after.disk_write_bytes! - before.disk_write_bytes!).toBeLessThan(8 * MiB);
  await rt.delete();
});
