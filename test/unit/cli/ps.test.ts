import { describe, expect, test } from "vitest";
import { cli, stopped, worker } from "../../helpers/cli-harness.js";

describe("ps", () => {
  const rows = { runtimes: [worker, stopped, { name: "evil\x1b[31mred\nline", id: "1b3d8a4e-5f8c-4d1a-9b7e-2c6f1a0e9d11" }] };

  test("without -a shows only running, paused, suspended and creating runtimes", async () => {
    const r = await cli(["ps"], { client: rows });
    expect(r.out).toContain("worker");
    expect(r.out).not.toContain("old");
    expect(r.client.calls.find((c) => c.method === "list")!.args[0]).toEqual({ status: ["creating", "running", "paused", "suspended"] });
  });

  test("in a pipe: header, tab-separated full ids and ISO times", async () => {
    const r = await cli(["ps", "-a"], { client: rows });
    const lines = r.out.trim().split("\n");
    expect(lines[0]).toBe("RUNTIME ID\tNAME\tIMAGE\tSTATUS\tCPUS\tMEMORY\tDISK\tCREATED");
    expect(lines).toContain(`${worker.id}\tworker\tdefault\trunning\t1\t1024MiB\t10GiB\t2026-01-01T00:02:00.000Z`);
    expect(lines.some((l) => l.startsWith(`${stopped.id}\told\tdefault\tshutdown`))).toBe(true);
  });

  test("on a TTY: borderless table, 12-character ids, relative times", async () => {
    const r = await cli(["ps", "-a"], { client: rows, tty: true, env: { NO_COLOR: "1" } });
    const lines = r.out.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^RUNTIME ID\s+NAME\s+IMAGE\s+STATUS\s+CPUS\s+MEMORY\s+DISK\s+CREATED$/);
    expect(r.out).toMatch(/0b3d8a4e5f8c\s+worker\s+default\s+running\s+1\s+1024MiB\s+10GiB\s+3 minutes ago/);
    expect(r.out).not.toContain(worker.id);
    expect(r.out).not.toMatch(/[│┌─]/);
  });

  test("control characters from runtime data are escaped in tables, in both modes", async () => {
    for (const tty of [true, false]) {
      const r = await cli(["ps"], { client: rows, tty, env: { NO_COLOR: "1" } });
      expect(r.out).toContain("evil\\x1b[31mred\\nline");
      expect(r.out).not.toContain("\x1b");
    }
  });

  test("NO_COLOR and pipes get no ANSI escapes at all", async () => {
    expect((await cli(["ps", "-a"], { client: rows, tty: true, env: { NO_COLOR: "1" } })).out).not.toMatch(/\x1b\[/);
    expect((await cli(["run", "--name", "x"], { client: { images: [] }, tty: true, env: { NO_COLOR: "1" } })).err).not.toMatch(/\x1b\[/);
  });

  test("on a colour TTY the status is coloured; the same TTY with NO_COLOR is plain", async () => {
    const coloured = (await cli(["ps"], { client: rows, tty: true })).out;
    expect(coloured).toContain("\x1b[32mrunning\x1b[39m");
    // No padding left at the end of a line, not even hidden before the header's closing escape codes.
    for (const line of coloured.split("\n")) expect(line.replace(/\x1b\[[0-9;]*m/g, "")).toBe(line.replace(/\x1b\[[0-9;]*m/g, "").trimEnd());
    expect((await cli(["ps"], { client: rows, tty: true, env: { NO_COLOR: "1" } })).out).toContain("running");
  });

  test("on a TTY with colour, the create spinner draws on stderr only", async () => {
    const r = await cli(["run", "--name", "x"], { tty: true });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^[0-9a-f-]{36}\n$/);
    expect(r.err).toContain("creating runtime x…");
  });

  test(`-q prints ids only (short on a terminal, as the table; full in a pipe); --json prints {"runtimes": [...]}`, async () => {
    const q = await cli(["ps", "-a", "-q"], { client: rows, tty: true });
    const ids = [worker.id, stopped.id, rows.runtimes[2]!.id];
    expect(q.out.trim().split("\n")).toEqual(ids.map((id) => id.replace(/-/g, "").slice(0, 12)));
    expect((await cli(["ps", "-a", "-q"], { client: rows })).out.trim().split("\n")).toEqual(ids);
    const j = await cli(["ps", "--json"], { client: { runtimes: [stopped] } });
    expect(JSON.parse(j.out)).toEqual({ runtimes: [] });
    const all = JSON.parse((await cli(["ps", "-a", "--json"], { client: rows })).out).runtimes;
    expect(all).toHaveLength(3);
    expect(all[0]).toMatchObject({ id: worker.id, name: "worker", status: "running", resources: { requests: { vcpus: 1, memory_mib: 1024 } } });
  });

  test("--filter status= narrows the list; a bad filter is a usage error", async () => {
    const r = await cli(["ps", "--filter", "status=shutdown", "-q"], { client: rows });
    expect(r.out).toBe(`${stopped.id}\n`);
    const bad = await cli(["ps", "--filter", "status=sleepy"], { client: rows });
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("use one of creating, running");
  });

  test("--filter name= takes ^ and $ anchors; label=k and label=k=v must all match; --labels adds a column", async () => {
    const fleet = { runtimes: [{ ...worker, labels: { team: "a" } }, { name: "worker2", id: "2b3d8a4e-5f8c-4d1a-9b7e-2c6f1a0e9d11", labels: { team: "b", tier: "x" } }] };
    const names = async (...args: string[]) => JSON.parse((await cli(["ps", "--json", ...args], { client: fleet })).out).runtimes.map((r: { name: string }) => r.name);
    expect(await names("-f", "name=^worker$")).toEqual(["worker"]);
    expect(await names("-f", "name=^work")).toEqual(["worker", "worker2"]);
    expect(await names("-f", "name=2$")).toEqual(["worker2"]);
    expect(await names("-f", "label=tier")).toEqual(["worker2"]);
    expect(await names("-f", "label=team=a")).toEqual(["worker"]);
    expect(await names("-f", "label=team", "-f", "label=tier=y")).toEqual([]);
    const bad = await cli(["ps", "-f", "label="], { client: fleet });
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("label=<key>=<value>");
    const table = (await cli(["ps", "--labels"], { client: fleet })).out.trim().split("\n");
    expect(table[0]!.endsWith("\tLABELS")).toBe(true);
    expect(table[2]!.endsWith("\tteam=b,tier=x")).toBe(true);
  });
});
