/**
 * A connection the runtime opened to the outside keeps it awake (issue 13: "an agent waiting on a model is working"):
 * a program in the runtime, owned by no exec, holds one TLS connection through the egress proxy to a test host this
 * file creates; while it is open the idle timeout does not suspend the runtime and inspect says why; once it closes
 * the runtime suspends. Traffic goes only to the test host's namespace.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { expect, test } from "vitest";
import { daemonSuite } from "../helpers/daemon-suite.js";
import { startTestHost, type TestHost } from "../helpers/test-hosts.js";

let host: TestHost;

const suite = daemonSuite({
  defaultImage: true,
  before: async () => {
    host = await startTestHost();
    await writeFile(join(suite.scratch, "hosts"), `${host.address} model.test\n`);
  },
  env: () => ({ RUNTA_NETWORK_HOSTS: join(suite.scratch, "hosts") }),
  after: () => host?.close(),
});
const d = suite.daemon;

/** Opens a TLS connection to model.test:443 (through the proxy), says nothing for `secs`, then closes it. */
const HOLD = `
import socket, ssl, sys, time
ctx = ssl._create_unverified_context()
s = ctx.wrap_socket(socket.create_connection(("model.test", 443), timeout=10), server_hostname="model.test")
open("/tmp/connected", "w").close()
time.sleep(float(sys.argv[1]))
s.close()
`;

test("an open outbound connection keeps the runtime awake; once it closes the runtime suspends", async () => {
  const runta = d.client();
  const rt = await runta.runtimes.create("agent", { memoryMiB: 256, idleTimeoutSecs: 5 });
  await rt.files.write("/hold.py", HOLD);
  // In the background of an exec that ends at once: only the connection can keep the runtime awake.
  await rt.exec(["sh", "-c", "python3 /hold.py 20 >/tmp/hold.log 2>&1 &"]);
  const idle = async () => (await runta.runtimes.get("agent", { usage: false })).info;
  await expect.poll(async () => (await idle()).idle?.active.egress, { timeout: 15_000, interval: 200 }).toBe(1);
  // Past the timeout, with nothing else live: still running, and inspect says why.
  await new Promise((r) => setTimeout(r, 7000));
  const info = await idle();
  expect(info.status).toBe("running");
  expect(info.idle).toMatchObject({ active: { execs: 0, egress: 1 }, awake_because: "1 outbound connection", suspends_at: null });

  await expect.poll(async () => (await idle()).status, { timeout: 40_000, interval: 250 }).toBe("suspended");
  const after = await idle();
  expect(after.idle?.active.egress).toBe(0);
  expect(after.idle?.last_activity).toBe("egress");
  const events = await runta.runtimes.egressEvents("agent");
  expect(events.some((e) => e.host === "model.test" && e.verdict === "allowed" && e.port === 443)).toBe(true);
  await runta.runtimes.delete("agent");
}, 120_000);
