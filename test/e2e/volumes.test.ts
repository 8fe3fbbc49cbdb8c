/**
 * `runta volume` and `runta run -v` through the built bin/runta against a real daemon and runc: a volume written by
 * one runtime and read by another (read-only), kept after both are removed, `cp` in and out through a mount, rm
 * refused while mounted, the size bound, and usage errors with nothing created.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "vitest";
import { cliSuite } from "../helpers/cli-suite.js";

const suite = cliSuite({ timeoutMs: 300_000 });
const { runta } = suite;

test("volume create / run -v / cp / ls / rm, shared by two runtimes, one read-only, outliving both", async () => {
  expect((await runta(["volume", "create", "data", "--size", "64m"])).stdout).toBe("data\n");
  const w = await runta(["run", "--name", "writer", "--image", "busybox", "-m", "64", "-v", "data:/work"]);
  expect(w.exitCode, String(w.stderr)).toBe(0);
  const r = await runta(["run", "--name", "reader", "--image", "busybox", "-m", "64", "--volume", "data:/in:ro"]);
  expect(r.exitCode, String(r.stderr)).toBe(0);
  expect((await runta(["exec", "writer", "--", "sh", "-c", "echo written > /work/note"])).exitCode).toBe(0);
  expect((await runta(["exec", "reader", "--", "cat", "/in/note"])).stdout).toBe("written\n");
  const ro = await runta(["exec", "reader", "--", "touch", "/in/x"]);
  expect(ro.exitCode).toBe(1);
  expect(String(ro.stderr)).toMatch(/Read-only file system/);
  // cp into the volume through one runtime, out through the other.
  writeFileSync(join(suite.home, "up.txt"), "copied in\n");
  expect((await runta(["cp", join(suite.home, "up.txt"), "writer:/work/up.txt"])).exitCode).toBe(0);
  expect((await runta(["cp", "reader:/in/up.txt", join(suite.home, "down.txt")])).exitCode).toBe(0);
  expect(readFileSync(join(suite.home, "down.txt"), "utf8")).toBe("copied in\n");
  const refused = await runta(["cp", join(suite.home, "up.txt"), "reader:/in/again.txt"]);
  expect(refused.exitCode).toBe(1);
  expect(String(refused.stderr)).toMatch(/read-only/);
  const inspect = JSON.parse(String((await runta(["inspect", "reader"])).stdout)) as Array<{ volumes: unknown[] }>;
  expect(inspect[0]!.volumes).toEqual([{ volume: "data", volume_id: expect.any(String), path: "/in", read_only: true }]);
  const ls = JSON.parse(String((await runta(["volume", "ls", "--json"])).stdout)) as { volumes: Array<{ name: string; size_bytes: number; in_use_by: string[] }> };
  expect(ls.volumes).toEqual([expect.objectContaining({ name: "data", size_bytes: 64 * 2 ** 20 })]);
  expect(ls.volumes[0]!.in_use_by.sort()).toEqual(["reader", "writer"]);
  const inUse = await runta(["volume", "rm", "data"]);
  expect(inUse.exitCode).toBe(1);
  expect(String(inUse.stderr)).toMatch(/mounted by runtime\(s\) (writer, reader|reader, writer)/);
  expect((await runta(["rm", "writer", "reader"])).exitCode).toBe(0);
  const again = await runta(["run", "--name", "later", "--image", "busybox", "-m", "64", "-v", "data:/w"]);
  expect(again.exitCode, String(again.stderr)).toBe(0);
  expect((await runta(["exec", "later", "--", "cat", "/w/note", "/w/up.txt"])).stdout).toBe("written\ncopied in\n");
  expect((await runta(["rm", "later"])).exitCode).toBe(0);
  expect((await runta(["volume", "rm", "data"])).stdout).toBe("data\n");
  expect(JSON.parse(String((await runta(["volume", "ls", "--json"])).stdout))).toEqual({ volumes: [] });
}, 300_000);

test("the size bound is ENOSPC inside; bad -v and unknown volumes are errors with nothing created", async () => {
  expect((await runta(["volume", "create", "small", "--size", "16m"])).exitCode).toBe(0);
  expect((await runta(["run", "--name", "filler", "--image", "busybox", "-m", "64", "-v", "small:/s"])).exitCode).toBe(0);
  const fill = await runta(["exec", "filler", "--", "dd", "if=/dev/zero", "of=/s/big", "bs=1M", "count=32"]);
  expect(fill.exitCode).toBe(1);
  expect(String(fill.stderr)).toMatch(/No space left on device/);
  const hostPath = await runta(["run", "--name", "bad", "--image", "busybox", "-v", "/etc:/host-etc"]);
  expect(hostPath.exitCode).toBe(2);
  expect(String(hostPath.stderr)).toMatch(/host directories cannot be mounted/);
  const sys = await runta(["run", "--name", "bad", "--image", "busybox", "-v", "small:/proc"]);
  expect(sys.exitCode).toBe(2);
  const unknown = await runta(["run", "--name", "bad", "--image", "busybox", "-v", "nope:/w"]);
  expect(unknown.exitCode).toBe(1);
  expect(String(unknown.stderr)).toBe("runta: volume \"nope\" not found; list volumes with 'runta volume ls' or create it with 'runta volume create nope'\n");
  expect((await runta(["ps", "-a", "-q", "--filter", "name=^bad$"])).stdout).toBe("");
  expect((await runta(["rm", "filler"])).exitCode).toBe(0);
}, 300_000);

test("volume resize --size grows a mounted volume (shutting its runtime down where online growth is refused); a smaller size is refused with the current one", async () => {
  expect((await runta(["volume", "create", "growme", "--size", "16m"])).exitCode).toBe(0);
  expect((await runta(["run", "--name", "g", "--image", "busybox", "-m", "64", "-v", "growme:/g"])).exitCode).toBe(0);
  expect((await runta(["exec", "g", "--", "dd", "if=/dev/zero", "of=/g/a", "bs=1M", "count=32"])).exitCode).toBe(1);
  let grown = await runta(["volume", "resize", "growme", "--size", "64m"]);
  if (grown.exitCode !== 0) {
    // No CAP_SYS_RESOURCE (this sandbox): the error names the runtime to shut down.
    expect(String(grown.stderr)).toMatch(/CAP_SYS_RESOURCE.*\(runta shutdown g\), resize it, then boot them/);
    expect((await runta(["shutdown", "g"])).exitCode).toBe(0);
    grown = await runta(["volume", "resize", "growme", "--size", "64m"]);
    expect((await runta(["boot", "g"])).exitCode).toBe(0);
  }
  expect(grown.exitCode).toBe(0);
  expect(grown.stdout).toBe("growme: 64.0MiB\n");
  expect((await runta(["exec", "g", "--", "sh", "-c", "rm /g/a && dd if=/dev/zero of=/g/b bs=1M count=40 2>/dev/null && echo ok"])).stdout).toBe("ok\n");
  const shrink = await runta(["volume", "resize", "growme", "--size", "32m"]);
  expect(shrink.exitCode).toBe(1);
  expect(String(shrink.stderr)).toBe('runta: volume "growme" is 64 MiB; volumes only grow (shrinking an ext4 disk in use is not supported) — ask for at least 64 MiB, or create a smaller volume and copy\n');
  const noSize = await runta(["volume", "resize", "growme"]);
  expect(noSize.exitCode).toBe(2);
  expect(String(noSize.stderr)).toMatch(/--size/);
  const json = JSON.parse(String((await runta(["volume", "ls", "--json"])).stdout)) as { volumes: Array<{ name: string; size_bytes: number }> };
  expect(json.volumes.find((v) => v.name === "growme")?.size_bytes).toBe(64 * 2 ** 20);
  expect((await runta(["rm", "-f", "g"])).exitCode).toBe(0);
  expect((await runta(["volume", "rm", "growme"])).exitCode).toBe(0);
}, 300_000);
