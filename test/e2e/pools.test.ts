/**
 * `runta pool set|ls|rm` and `runta run` taking from a pool, through the built bin/runta.js against a real daemon
 * and runc (busybox image): exit codes, the table and --json shapes, ps --pooled, and the refusals' messages.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "vitest";
import { runtaBin } from "../helpers/cli.js";
import { daemonSuite } from "../helpers/daemon-suite.js";

const d = daemonSuite().daemon;
const runta = (args: string[]) => runtaBin(args, { env: d.env });

async function waitReady(name: string, ready: number): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const r = await runta(["pool", "ls", "--json"]);
    const pool = (JSON.parse(String(r.stdout)) as { pools: { name: string; ready: number; booting: number }[] }).pools.find((p) => p.name === name);
    if (pool && pool.ready === ready && pool.booting === 0) return;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`pool ${name} never reached ${ready} ready`);
}

test("pool set, ls (table and --json), run takes a member, ps hides members unless --pooled, pool rm", async () => {
  const set = await runta(["pool", "set", "web", "--image", "busybox", "--cpus", "1", "--memory", "64m", "--min", "1", "--max", "2"]);
  expect(set.stderr).toBe("");
  expect(set.exitCode).toBe(0);
  expect(set.stdout).toBe("web\n");
  await waitReady("web", 1);

  const ls = await runta(["pool", "ls"]);
  expect(ls.exitCode).toBe(0);
  expect(String(ls.stdout).split("\n").slice(0, 2)).toEqual(["POOL\tIMAGE\tCPUS\tMEMORY\tMIN\tMAX\tREADY\tBOOTING", "web\tbusybox\t1\t64MiB\t1\t2\t1\t0"]);
  const json = JSON.parse(String((await runta(["pool", "ls", "--json"])).stdout)) as { pools: unknown[] };
  expect(json.pools).toMatchObject([{ name: "web", image: "busybox", min: 1, max: 2, ready: 1, booting: 0 }]);

  const pooled = await runta(["ps", "--pooled", "-q"]);
  const memberId = String(pooled.stdout).trim();
  expect(memberId).toMatch(/^[0-9a-f-]{36}$/);
  expect(String((await runta(["ps", "-q"])).stdout)).toBe("");

  const run = await runta(["run", "--name", "api", "--image", "busybox", "--cpus", "1", "--memory", "64m", "-e", "MODE=prod"]);
  expect(run.stderr).toBe("");
  expect(run.exitCode).toBe(0);
  expect(String(run.stdout).trim()).toBe(memberId);
  const inside = await runta(["exec", "api", "--", "sh", "-c", "hostname; echo $MODE"]);
  expect(inside.stdout).toBe("api\nprod\n");
  const ps = String((await runta(["ps", "--pooled"])).stdout).split("\n");
  expect(ps[0]).toBe("RUNTIME ID\tNAME\tIMAGE\tSTATUS\tCPUS\tMEMORY\tDISK\tCREATED\tPOOL");
  expect(ps.find((l) => l.includes("\tapi\t"))).toMatch(/\t-$/);

  await waitReady("web", 1);
  const rm = await runta(["pool", "rm", "web"]);
  expect(rm.exitCode).toBe(0);
  expect(String((await runta(["ps", "--pooled", "-q"])).stdout).trim()).toBe(memberId);
  expect((await runta(["rm", "api"])).exitCode).toBe(0);
});

test("refusals: --min missing or above --max is a usage error (2); a pool the host cannot hold, an unknown pool exit 1 with the fix", async () => {
  const noMin = await runta(["pool", "set", "x"]);
  expect(noMin.exitCode).toBe(2);
  expect(noMin.stderr).toMatch(/pool set needs --min/);
  const inverted = await runta(["pool", "set", "x", "--min", "3", "--max", "1"]);
  expect(inverted.exitCode).toBe(2);
  expect(inverted.stderr).toMatch(/--max 1 is below --min 3/);
  const huge = await runta(["pool", "set", "x", "--image", "busybox", "--memory", "4g", "--min", "200", "--max", "200"]);
  expect(huge.exitCode).toBe(1);
  expect(huge.stderr).toMatch(/200 × 4096 MiB = 819200 MiB booted.*MiB of memory; lower --min or --memory/);
  const gone = await runta(["pool", "rm", "nope"]);
  expect(gone.exitCode).toBe(1);
  expect(gone.stderr).toMatch(/pool "nope" not found; list pools with: runta pool ls/);
  expect(JSON.parse(String((await runta(["pool", "ls", "--json"])).stdout))).toEqual({ pools: [] });
});

test("apply -f sets the file's pools (unchanged the second time), delete -f removes them", async () => {
  const dir = mkdtempSync(join(tmpdir(), "runta-pools-apply-"));
  try {
    const file = join(dir, "set.json");
    writeFileSync(
      file,
      JSON.stringify({ apiVersion: "runta/v1", kind: "SandboxSet", sandboxes: [], pools: [{ name: "filed", image: "busybox", resources: { vcpus: 1, memory_mib: 64 }, min: 1 }] }),
    );
    const first = await runta(["apply", "-f", file]);
    expect(first.exitCode).toBe(0);
    expect(first.stdout).toContain("  ~ pool filed  set: image busybox, 1 vCPU, 64 MiB, min 1, max 1");
    expect(first.stdout).toContain("pool filed: set");
    await waitReady("filed", 1);
    const again = await runta(["apply", "-f", file]);
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toContain("  = pool filed  unchanged");
    expect(again.stdout).not.toContain("pool filed: set");
    const del = await runta(["delete", "-f", file]);
    expect(del.exitCode).toBe(0);
    expect(del.stdout).toContain("pool filed: deleted");
    expect(JSON.parse(String((await runta(["pool", "ls", "--json"])).stdout))).toEqual({ pools: [] });
    expect(String((await runta(["ps", "--pooled", "-q"])).stdout)).toBe("");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
