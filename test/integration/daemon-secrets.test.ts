/**
 * The token stays inside the daemon (DESIGN §6): a RUNTA_TOKEN in the daemon's own environment reaches none of its
 * children (runc) nor any runtime, and neither that value nor the real token shows up in the daemon's logs or in
 * error messages, whatever the requests did.
 */
import { randomBytes } from "node:crypto";
import { readFile, readdir } from "node:fs/promises";
import { expect, test } from "vitest";
import { Runta } from "../../src/client/index.js";
import { daemonSuite } from "../helpers/daemon-suite.js";

const CANARY = `canary-${randomBytes(12).toString("hex")}`;
// runc exec (the exec agent off) gives the daemon a child that lives as long as its command, whose environment can
// be read; with the agent an exec spawns nothing on the host. The runtime's side is checked either way: the
// agent is PID 1 of runtimes booted with it, whose environment /proc/1/environ shows.
const d = daemonSuite({ env: { RUNTA_TOKEN: CANARY, RUNTA_EXEC_AGENT: "off" } }).daemon;

/** Environments of the daemon's descendants (runc runs under a reaper for some execs), by their command line. */
async function childEnvironments(ancestor: number): Promise<Array<{ args: string; environ: string }>> {
  const parents = new Map<number, number>();
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, "utf8");
      parents.set(Number(entry), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {
      // Exited while we looked.
    }
  }
  const descends = (pid: number): boolean => {
    for (let p = parents.get(pid), hops = 0; p !== undefined && p > 1 && hops < 16; p = parents.get(p), hops++) if (p === ancestor) return true;
    return false;
  };
  const found: Array<{ args: string; environ: string }> = [];
  for (const pid of parents.keys()) {
    if (!descends(pid)) continue;
    try {
      const args = (await readFile(`/proc/${pid}/cmdline`, "utf8")).split("\0").join(" ");
      found.push({ args, environ: (await readFile(`/proc/${pid}/environ`, "utf8")).split("\0").join("\n") });
    } catch {
      // Exited while we looked.
    }
  }
  return found;
}

test("a RUNTA_TOKEN in the daemon's environment reaches neither runc nor the runtime", async () => {
  const runta = d.client();
  const rt = await runta.runtimes.create("secrets", { image: "busybox", memoryMiB: 32 });
  // Look while the exec runs (a scan of /proc takes long on a loaded machine: bound the search by the exec, not by
  // a count of scans).
  let running = true;
  const slow = rt.exec(["sleep", "5"]).finally(() => (running = false));
  let runcChildren: Array<{ args: string; environ: string }> = [];
  while (running && runcChildren.length === 0) {
    runcChildren = (await childEnvironments(d.pid!)).filter((c) => /runc .* exec /.test(c.args));
    if (!runcChildren.length) await new Promise((r) => setTimeout(r, 20));
  }
  expect(runcChildren.length).toBeGreaterThan(0);
  for (const c of runcChildren) {
    expect(c.environ).not.toContain(CANARY);
    expect(c.environ).not.toContain(d.token);
    expect(c.args).not.toContain(d.token);
  }
  expect((await slow).exit_code).toBe(0);
  const inside = await rt.exec("env; cat /proc/1/environ");
  expect(inside.stdout).not.toContain(CANARY);
  expect(inside.stdout).not.toContain(d.token);
});

test("the token is in no log line and no error message, even after failed and wrong requests", async () => {
  const wrong = new Runta({ endpoint: d.endpoint, token: d.token.slice(0, -1) + "x", maxRetries: 0 });
  const err = await wrong.runtimes.list().catch((e: Error) => e);
  expect(String((err as Error).message)).not.toContain(d.token);
  const runta = d.client();
  const errors = await Promise.all([
    runta.runtimes.get("nope").catch((e: Error) => e.message),
    runta.runtimes.create("secrets", { image: "busybox" }).catch((e: Error) => e.message),
    runta.runtimes.create("x", { image: "missing" }).catch((e: Error) => e.message),
  ]);
  for (const message of errors) expect(message).not.toContain(d.token);
  expect(d.logs().length).toBeGreaterThan(0);
  expect(d.logs()).not.toContain(d.token);
  expect(d.logs()).not.toContain(CANARY);
});
