/**
 * Idle timeouts and published ports together, through the real daemon, runc and the runtime network (issue 13's
 * "Done when"): a python3 http.server started in the background by an exec and published; with an idle timeout of a
 * few seconds the runtime is suspended (reason idle), and the next request through its URL wakes it and gets the
 * page; a flood of requests wakes it once; a long-running exec keeps it awake; a server that takes 3 s to listen
 * again after a resume still answers the first request. Traffic: loopback and the runtimes' own addresses only.
 */
import http from "node:http";
import { beforeAll, expect, test } from "vitest";
import type { Runta, Runtime } from "../../src/client/index.js";
import { daemonSuite } from "../helpers/daemon-suite.js";

const d = daemonSuite({ defaultImage: true }).daemon;
let runta: Runta;

beforeAll(async () => {
  runta = d.client();
});

const SUSPENDED = { timeout: 30_000, interval: 250 };
const info = async (name: string) => (await runta.runtimes.get(name, { usage: false })).info;
const statusOf = async (name: string) => (await info(name)).status;
/** How many times the daemon logged waking this runtime. */
const wakes = (name: string) => d.logs().split("\n").filter((l) => l.includes("woke a suspended runtime") && l.includes(`"name":"${name}"`)).length;

/** GET the published URL of `port` at 127.0.0.1 with its Host (glibc does not resolve *.localhost); status and body. */
async function get(rt: Runtime, port: number): Promise<{ status: number; body: string }> {
  const p = (await rt.ports()).find((x) => x.port === port);
  if (!p) throw new Error(`port ${port} is not published`);
  const url = new URL(p.url);
  return new Promise((resolve, reject) => {
    http
      .get({ host: "127.0.0.1", port: Number(url.port), path: "/", headers: { Host: url.host }, agent: false }, (res) => {
        let body = "";
        res.setEncoding("utf8").on("data", (c: string) => (body += c)).on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on("error", reject);
  });
}

test("published and idle: suspended (reason idle) after its timeout; the next request wakes it and gets the page; a flood wakes it once; a running exec keeps it awake", async () => {
  const rt = (await runta.runtimes.create("site", { memoryMiB: 256, idleTimeoutSecs: 5, ports: [{ port: 8000 }] })) as Runtime;
  await rt.files.write("/srv/index.html", "hello from a sleepy site\n");
  // In the background of an exec that ends at once: the server is no running exec, so only requests keep it awake.
  await rt.exec(["sh", "-c", "cd /srv && python3 -m http.server 8000 >/tmp/server.log 2>&1 &"]);
  expect(await get(rt, 8000)).toEqual({ status: 200, body: "hello from a sleepy site\n" });

  await expect.poll(() => statusOf("site"), SUSPENDED).toBe("suspended");
  expect((await info("site")).pause_reason).toBe("idle");
  expect(await get(rt, 8000)).toEqual({ status: 200, body: "hello from a sleepy site\n" });
  const woke = await info("site");
  expect(woke.status).toBe("running");
  expect(woke.idle?.last_activity).toMatch(/^(ingress|resume)$/);
  expect(wakes("site")).toBe(1);

  await expect.poll(() => statusOf("site"), SUSPENDED).toBe("suspended");
  const flood = await Promise.all(Array.from({ length: 20 }, () => get(rt, 8000)));
  expect(flood.every((r) => r.status === 200 && r.body === "hello from a sleepy site\n")).toBe(true);
  expect(wakes("site")).toBe(2);

  const job = await runta.execs.start("site", ["sleep", "600"]);
  await new Promise((r) => setTimeout(r, 8000));
  expect((await info("site")).idle).toMatchObject({ awake_because: "1 exec running", suspends_at: null });
  expect(await statusOf("site")).toBe("running");
  await runta.execs.signal("site", job.id, "KILL");
  await expect.poll(() => statusOf("site"), SUSPENDED).toBe("suspended");
  await runta.runtimes.delete("site");
}, 180_000);

/**
 * A server that stops listening when it has had no request for 2 s, and after the runtime was frozen and thawed
 * (its monotonic clock jumps by more than 1.5 s between two 0.2 s sleeps) takes 3 s before it listens again — so
 * nothing listens when the wake comes.
 */
const SLOW_SERVER = `
import http.server, sys, time
port = int(sys.argv[1])
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        global last
        body = b"slow server up\\n"
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
        last = time.monotonic()
    def log_message(self, *args): pass
while True:
    srv = http.server.HTTPServer(("0.0.0.0", port), H)
    srv.timeout = 0.2
    last = time.monotonic()
    while time.monotonic() - last < 2:
        srv.handle_request()
    srv.server_close()
    t = time.monotonic()
    while True:
        time.sleep(0.2)
        now = time.monotonic()
        if now - t > 1.5:
            break
        t = now
    time.sleep(3)
`;

test("a server that takes 3 s to listen again after the resume still answers the first request (no 502, no refusal)", async () => {
  const rt = (await runta.runtimes.create("slow", { memoryMiB: 256, idleTimeoutSecs: 5, ports: [{ port: 8000 }] })) as Runtime;
  await rt.files.write("/srv/slow.py", SLOW_SERVER);
  await rt.exec(["sh", "-c", "python3 /srv/slow.py 8000 >/tmp/slow.log 2>&1 &"]);
  expect(await get(rt, 8000)).toEqual({ status: 200, body: "slow server up\n" });
  await expect.poll(() => statusOf("slow"), SUSPENDED).toBe("suspended");
  // Frozen long enough for the server to see the jump of its clock when it thaws.
  await new Promise((r) => setTimeout(r, 3000));
  const started = Date.now();
  expect(await get(rt, 8000)).toEqual({ status: 200, body: "slow server up\n" });
  // It waited for the server: nothing listened until 3 s after the resume.
  expect(Date.now() - started).toBeGreaterThanOrEqual(2500);
  await runta.runtimes.delete("slow");
}, 120_000);
