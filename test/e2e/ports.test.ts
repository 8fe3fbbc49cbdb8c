/**
 * Publishing ports from the built CLI (`bin/runta.js`) against the real daemon and runc (issue 13): `run -p`,
 * `ports ls/add/rm/ca`, what a busybox httpd answers at the printed URL (curl), and the errors with their exit codes.
 * `npm run build` first.
 */
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { beforeAll, expect, test } from "vitest";
import { runtaBin } from "../helpers/cli.js";
import { daemonSuite } from "../helpers/daemon-suite.js";

const run = promisify(execFile);
const suite = daemonSuite();
const d = suite.daemon;
let home: string;
const runta = (args: string[]) => runtaBin(args, { env: { ...d.env, HOME: home, XDG_CONFIG_HOME: undefined } });

async function curl(url: string, ...args: string[]): Promise<string> {
  return (await run("curl", ["-sS", "--max-time", "60", ...args, url], { encoding: "utf8" })).stdout;
}

beforeAll(() => {
  home = suite.scratch;
});

test("run -p, then a busybox httpd started with exec -d answers at the URL ports ls prints, over HTTP and HTTPS", async () => {
  const created = await runta(["run", "--name", "web", "--image", "busybox", "--memory", "64", "-p", "8080", "-p", "8443/https", "-p", "9000/tcp"]);
  expect(created.exitCode, String(created.stderr)).toBe(0);
  const id = String(created.stdout).trim();
  expect((await runta(["exec", "web", "--", "sh", "-c", "mkdir -p /www && echo published > /www/index.html"])).exitCode).toBe(0);
  for (const port of ["8080", "8443", "9000"]) expect((await runta(["exec", "-d", "web", "--", "httpd", "-f", "-p", port, "-h", "/www"])).exitCode).toBe(0);

  const ls = await runta(["ports", "ls", "web"]);
  expect(ls.exitCode).toBe(0);
  const lines = String(ls.stdout).trim().split("\n");
  expect(lines[0]).toBe("PORT\tPROTOCOL\tURL");
  expect(lines[1]).toMatch(new RegExp(`^8080\thttp\thttp://8080-${id}\\.runta\\.localhost:\\d+/$`));
  expect(lines[2]).toMatch(new RegExp(`^8443\thttps\thttps://8443-${id}\\.runta\\.localhost:\\d+/$`));
  expect(lines[3]).toMatch(/^9000\ttcp\ttcp:\/\/127\.0\.0\.1:\d+$/);
  const [http, https, tcp] = lines.slice(1).map((l) => l.split("\t")[2]!);

  expect(await curl(http!)).toBe("published\n");
  const ca = join(home, "ca.crt");
  const caOut = await runta(["ports", "ca"]);
  writeFileSync(ca, String(caOut.stdout));
  expect(await curl(https!, "--cacert", ca)).toBe("published\n");
  expect(await curl(tcp!.replace("tcp:", "http:") + "/")).toBe("published\n");

  const inspect = JSON.parse(String((await runta(["inspect", "web"])).stdout)) as Array<{ ports: Array<{ url: string }> }>;
  expect(inspect[0]!.ports.map((p) => p.url)).toEqual([http, https, tcp]);
});

test("ports add/rm on a live runtime; the removed URL then gets the ingress's 404", async () => {
  const added = await runta(["ports", "add", "web", "8081"]);
  expect(added.exitCode, String(added.stderr)).toBe(0);
  const url = String(added.stdout).trim();
  expect((await runta(["exec", "-d", "web", "--", "httpd", "-f", "-p", "8081", "-h", "/www"])).exitCode).toBe(0);
  expect(await curl(url)).toBe("published\n");
  const rm = await runta(["ports", "rm", "web", "8081"]);
  expect(rm.exitCode).toBe(0);
  expect(String(rm.stdout)).toBe("8081\n");
  expect(await curl(url)).toContain("No service is published at this address.");
});

test("errors: bad ports are usage errors (2); daemon refusals are 1 and leave nothing behind", async () => {
  const bad = await runta(["ports", "add", "web", "70000"]);
  expect(bad.exitCode).toBe(2);
  expect(String(bad.stderr)).toContain("must be a port number from 1 to 65535");
  const proto = await runta(["run", "--image", "busybox", "-p", "80/udp"]);
  expect(proto.exitCode).toBe(2);
  expect(String(proto.stderr)).toContain("protocol 'udp' is not http, https or tcp");

  const dup = await runta(["ports", "add", "web", "8080/https"]);
  expect(dup.exitCode).toBe(1);
  expect(String(dup.stderr)).toContain("runta: port 8080 is already published (as http)");

  const holder = net.createServer().listen(0, "127.0.0.1");
  await new Promise((r) => holder.once("listening", r));
  const taken = (holder.address() as net.AddressInfo).port;
  try {
    const inUse = await runta(["run", "--name", "clash", "--image", "busybox", "--memory", "64", "-p", `${taken}:80`]);
    expect(inUse.exitCode).toBe(1);
    expect(String(inUse.stderr)).toContain(`host port 127.0.0.1:${taken} is already in use`);
    expect(String((await runta(["ps", "-a", "-q"])).stdout)).not.toContain("clash");
  } finally {
    holder.close();
  }

  const sealed = await runta(["run", "--name", "sealed", "--image", "busybox", "--memory", "64", "--network", "none"]);
  expect(sealed.exitCode).toBe(0);
  const noNet = await runta(["ports", "add", "sealed", "80"]);
  expect(noNet.exitCode).toBe(1);
  expect(String(noNet.stderr)).toContain('runtime "sealed" has no network');
  const missing = await runta(["ports", "rm", "web", "9999"]);
  expect(missing.exitCode).toBe(1);
  expect(String(missing.stderr)).toContain('port 9999 is not published on runtime "web"');
});
