/**
 * Local destinations for network tests: a network namespace the test creates, wired to the host by a veth, running
 * an HTTP server on ports 80 and 8080 and an HTTPS server on 443 that answer `hello <Host> from <address>` (a path
 * ending in `/headers` answers the request's headers as JSON instead). The HTTPS certificate is issued by a test CA
 * made here (`caFile`) for `names` (default just "test"), so a test can have something verify it.
 * Tests send traffic only here, to loopback and to the configured Debian mirror (the traffic rule of the issue).
 * Each test host gets a /24 in 10.250.0.0/16, well outside every daemon's range (10.64.0.0/10).
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** A test host: its namespace, host-side link, address and the addresses of its servers. */
export interface TestHost {
  netns: string;
  link: string;
  /** The server's address (inside the namespace). */
  address: string;
  /** A /24 holding only this test host (for CIDR rules). */
  cidr: string;
  /** The PEM of the test CA that issued the HTTPS server's certificate. */
  caFile: string;
  /** Removes the namespace, the link and the server. */
  close(): Promise<void>;
}

const SERVER = `
const http = require("node:http"), https = require("node:https"), fs = require("node:fs");
const dir = process.argv[1], addr = process.argv[2];
const handler = (req, res) => {
  if (req.url.endsWith("/headers")) return res.end(JSON.stringify(req.headers) + "\\n");
  res.end("hello " + req.headers.host + " from " + addr + (req.socket.encrypted ? " over tls" : "") + "\\n");
};
http.createServer(handler).listen(8080, addr);
http.createServer(handler).listen(80, addr, () => {
  https.createServer({ key: fs.readFileSync(dir + "/key.pem"), cert: fs.readFileSync(dir + "/cert.pem") }, handler).listen(443, addr, () => console.log("ready"));
});
`;

/** Creates a test host (needs root, ip, openssl). */
export async function startTestHost(opts: { names?: string[] } = {}): Promise<TestHost> {
  const tag = randomBytes(2).toString("hex");
  const subnet = 1 + (parseInt(tag, 16) % 250);
  const netns = `rtt${tag}`;
  const link = `rtt${tag}h`;
  const gw = `10.250.${subnet}.1`;
  const address = `10.250.${subnet}.2`;
  const dir = await mkdtemp(join(tmpdir(), "runta-test-host-"));
  let server: ChildProcess | null = null;
  const close = async () => {
    server?.kill("SIGKILL");
    await run("ip", ["link", "del", link]).catch(() => {});
    await run("ip", ["netns", "del", netns]).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await issueCertificate(dir, opts.names ?? ["test"]);
    await writeFile(join(dir, "server.js"), SERVER);
    const batch = [
      `netns add ${netns}`,
      `link add ${link} type veth peer name eth0 netns ${netns}`,
      `addr add ${gw}/24 dev ${link}`,
      `link set ${link} up`,
      `-n ${netns} link set lo up`,
    ];
    for (const line of batch) await run("ip", line.split(" "));
    await run("ip", ["-n", netns, "addr", "add", `${address}/24`, "dev", "eth0"]);
    await run("ip", ["-n", netns, "link", "set", "eth0", "up"]);
    await run("ip", ["-n", netns, "route", "add", "default", "via", gw]);
    server = spawn("ip", ["netns", "exec", netns, process.execPath, "-e", SERVER, dir, address], { stdio: ["ignore", "pipe", "pipe"] });
    await new Promise<void>((resolve, reject) => {
      let err = "";
      server!.stderr!.on("data", (d) => (err += d));
      server!.stdout!.once("data", () => resolve());
      server!.once("exit", (code) => reject(new Error(`test host server exited with ${code}: ${err}`)));
    });
  } catch (err) {
    await close();
    throw err;
  }
  return { netns, link, address, cidr: `10.250.${subnet}.0/24`, caFile: join(dir, "ca.pem"), close };
}

/** A test CA (`ca.pem`) and a server certificate for `names` it issued (`cert.pem`, `key.pem`), in `dir`. */
async function issueCertificate(dir: string, names: string[]): Promise<void> {
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await run("openssl", ["req", "-x509", ...ec, "-days", "1", "-subj", "/CN=runta test CA", "-keyout", join(dir, "ca.key"), "-out", join(dir, "ca.pem"), "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"]);
  await run("openssl", ["req", ...ec, "-subj", `/CN=${names[0]}`, "-keyout", join(dir, "key.pem"), "-out", join(dir, "req.csr")]);
  await writeFile(join(dir, "ext.cnf"), `subjectAltName=${names.map((n) => `DNS:${n}`).join(",")}\nextendedKeyUsage=serverAuth\n`);
  await run("openssl", ["x509", "-req", "-in", join(dir, "req.csr"), "-CA", join(dir, "ca.pem"), "-CAkey", join(dir, "ca.key"), "-CAcreateserial", "-days", "1", "-out", join(dir, "cert.pem"), "-extfile", join(dir, "ext.cnf")]);
}
