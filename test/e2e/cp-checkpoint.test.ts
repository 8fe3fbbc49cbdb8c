/**
 * `runta cp`, `runta checkpoint` and `--disk-size-gib` through the built bin/runta against a real daemon and runc:
 * byte-exact round trips of a 100 MiB random file and of a tree with modes and a symlink, tar on stdin/stdout, escapes
 * refused with the host untouched, a fork from a checkpoint, 5 forks at once, and the disk size enforced inside.
 */
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, expect, test } from "vitest";
import { RUNTA_BIN } from "../helpers/cli.js";
import { cliSuite } from "../helpers/cli-suite.js";

const suite = cliSuite({ timeoutMs: 300_000 });
const { runta } = suite;
let work: string;
/** A shell pipeline with `runta` on PATH-less form: `$RUNTA` is the built CLI. */
const shell = (line: string) =>
  execa("bash", ["-o", "pipefail", "-c", line], { reject: false, env: { ...process.env, ...suite.daemon.env, HOME: suite.home, NO_COLOR: "1", RUNTA: `${process.execPath} ${RUNTA_BIN}` }, timeout: 300_000 });
const sha = (buf: Buffer) => createHash("sha256").update(buf).digest("hex");

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "runta-e2e-cp-"));
  const r = await runta(["run", "--name", "box", "--image", "busybox", "--memory", "64"]);
  expect(r.exitCode, String(r.stderr)).toBe(0);
}, 120_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

test("runta cp: a 100 MiB random file in and out, byte for byte", async () => {
  const data = randomBytes(100 * 1024 * 1024);
  writeFileSync(join(work, "big.bin"), data);
  chmodSync(join(work, "big.bin"), 0o640);
  const up = await runta(["cp", join(work, "big.bin"), "box:/tmp/big.bin"]);
  expect(up.stderr).toBe("");
  expect(up.exitCode).toBe(0);
  const inside = await runta(["exec", "box", "--", "sh", "-c", "sha256sum /tmp/big.bin | cut -d' ' -f1; stat -c '%a %u' /tmp/big.bin"]);
  expect(inside.stdout).toBe(`${sha(data)}\n640 0\n`);
  const down = await runta(["cp", "box:/tmp/big.bin", join(work, "back.bin")]);
  expect(down.exitCode, String(down.stderr)).toBe(0);
  expect(sha(readFileSync(join(work, "back.bin")))).toBe(sha(data));
  expect(statSync(join(work, "back.bin")).mode & 0o777).toBe(0o640);
}, 300_000);

test("runta cp: a directory tree with modes and a symlink round-trips, into an existing dir and under a new name", async () => {
  const src = join(work, "tree");
  mkdirSync(join(src, "sub", "deep"), { recursive: true });
  writeFileSync(join(src, "run.sh"), "#!/bin/sh\necho hi\n");
  chmodSync(join(src, "run.sh"), 0o755);
  writeFileSync(join(src, "sub", "secret"), "s3cret");
  chmodSync(join(src, "sub", "secret"), 0o600);
  chmodSync(join(src, "sub", "deep"), 0o700);
  symlinkSync("../run.sh", join(src, "sub", "link"));
  await runta(["exec", "box", "--", "mkdir", "-p", "/srv"]);
  const up = await runta(["cp", src, "box:/srv"]); // an existing directory: the tree keeps its name inside it
  expect(up.exitCode, String(up.stderr)).toBe(0);
  expect((await runta(["cp", src, "box:/srv/renamed"])).exitCode).toBe(0); // a new name: created as that
  expect((await runta(["exec", "box", "--", "cat", "/srv/renamed/sub/secret"])).stdout).toBe("s3cret");
  expect((await runta(["cp", src, "box:/nowhere/x"])).exitCode).toBe(1);
  const inside = await runta(["exec", "box", "--", "sh", "-c", "cd /srv/tree && stat -c '%n %a' run.sh sub/secret sub/deep && readlink sub/link && ./sub/link"]);
  expect(inside.stdout).toBe("run.sh 755\nsub/secret 600\nsub/deep 700\n../run.sh\nhi\n");
  const down = await runta(["cp", "box:/srv/tree", join(work, "copy")]);
  expect(down.exitCode, String(down.stderr)).toBe(0);
  expect(readFileSync(join(work, "copy", "sub", "secret"), "utf8")).toBe("s3cret");
  expect(statSync(join(work, "copy", "sub", "secret")).mode & 0o777).toBe(0o600);
  expect(statSync(join(work, "copy", "sub", "deep")).mode & 0o777).toBe(0o700);
  expect(statSync(join(work, "copy", "run.sh")).mode & 0o777).toBe(0o755);
  expect(readlinkSync(join(work, "copy", "sub", "link"))).toBe("../run.sh");
  // `-`: a tar stream on stdout and on stdin.
  const tarOut = await shell(`$RUNTA cp box:/srv/tree - | tar -t | sort`);
  expect(tarOut.stdout.split("\n")).toEqual(expect.arrayContaining(["tree", "tree/run.sh", "tree/sub/link", "tree/sub/secret"]));
  const tarIn = await shell(`tar -C ${src} -c . | $RUNTA cp - box:/tmp && $RUNTA exec box -- cat /tmp/sub/secret`);
  expect(tarIn.stdout).toBe("s3cret");
}, 120_000);

test("runta cp: symlinks to the host and ../ escapes are refused or stay inside; the host is untouched", async () => {
  const canary = join(work, "canary");
  writeFileSync(canary, "host");
  await runta(["exec", "box", "--", "sh", "-c", `ln -s ${canary} /abs && ln -s ../../../../../../..${work} /up && ln -s /etc /etclink`]);
  // A symlink is copied as a symlink (as docker cp does): its text, never what it names on this machine.
  expect((await runta(["cp", "box:/abs", join(work, "link-copy")])).exitCode).toBe(0);
  expect(readlinkSync(join(work, "link-copy"))).toBe(canary);
  const through = await runta(["cp", "box:/up/canary", join(work, "got")]);
  expect(through.exitCode).toBe(1);
  expect(through.stderr).toMatch(/no such file|does not exist/);
  expect(existsSync(join(work, "got"))).toBe(false);
  writeFileSync(join(work, "evil"), "pwned");
  expect((await runta(["cp", join(work, "evil"), "box:/up/canary"])).exitCode).not.toBe(0);
  const followed = await runta(["cp", join(work, "evil"), "box:/etclink/evil"]);
  expect(followed.exitCode, String(followed.stderr)).toBe(0);
  expect((await runta(["exec", "box", "--", "cat", "/etc/evil"])).stdout).toBe("pwned");
  expect(readFileSync(canary, "utf8")).toBe("host");
  expect(existsSync("/etc/evil")).toBe(false);
  // A hand-made tar with a ../ member is refused before anything is written.
  const bad = await shell(`cd ${work} && tar -c --absolute-names -f - ../$(basename ${work})/evil | $RUNTA cp - box:/tmp`);
  expect(bad.exitCode).not.toBe(0);
  expect(bad.stderr).toMatch(/'\.\.'/);
}, 60_000);

test("checkpoint create/ls/restore/rm (and snapshot): forks see the file, change independently, 5 restore at once", async () => {
  await runta(["exec", "box", "--", "sh", "-c", "echo golden > /marker"]);
  const created = await runta(["checkpoint", "create", "box", "golden"]);
  expect(created.exitCode, String(created.stderr)).toBe(0);
  expect(created.stdout).toBe("golden\n");
  const ls = await runta(["checkpoint", "ls", "--json"]);
  const doc = JSON.parse(String(ls.stdout)) as { checkpoints: Array<{ display_name: string; state: string; source_runtime: string; size_bytes: number }> };
  expect(doc.checkpoints).toEqual([expect.objectContaining({ display_name: "golden", state: "ready", source_runtime: "box" })]);
  expect(doc.checkpoints[0]!.size_bytes).toBeGreaterThan(100 * 1024 * 1024); // the 100 MiB file of the first test is in it
  const fork = await runta(["checkpoint", "restore", "golden", "fork", "--memory", "64", "--cpus", "0.5"]);
  expect(fork.exitCode, String(fork.stderr)).toBe(0);
  expect(fork.stdout).toMatch(/^[0-9a-f-]{36}\n$/);
  await runta(["exec", "box", "--", "sh", "-c", "echo changed > /marker"]);
  expect((await runta(["exec", "fork", "--", "cat", "/marker"])).stdout).toBe("golden\n");
  expect((await runta(["exec", "box", "--", "cat", "/marker"])).stdout).toBe("changed\n");
  const many = await Promise.all([1, 2, 3, 4, 5].map((i) => runta(["snapshot", "restore", "golden", `f${i}`, "--memory", "64"])));
  expect(many.map((r) => r.exitCode)).toEqual([0, 0, 0, 0, 0]);
  for (const i of [1, 2, 3, 4, 5]) expect((await runta(["exec", `f${i}`, "--", "cat", "/marker"])).stdout).toBe("golden\n");
  const refused = await runta(["checkpoint", "rm", "golden"]);
  expect(refused.exitCode).toBe(1);
  expect(refused.stderr).toMatch(/in use by runtime\(s\) .*fork/);
  expect((await runta(["rm", "-f", "fork", "f1", "f2", "f3", "f4", "f5"])).exitCode).toBe(0);
  expect((await runta(["checkpoint", "rm", "golden"])).exitCode).toBe(0);
  expect(JSON.parse(String((await runta(["checkpoint", "ls", "--json"])).stdout))).toEqual({ checkpoints: [] });
}, 300_000);

test("run --disk-size-gib 1: writing past it is ENOSPC inside; ps and inspect show the size and use", async () => {
  const r = await runta(["run", "--name", "small", "--image", "busybox", "--memory", "256", "--disk-size-gib", "1"]);
  expect(r.exitCode, String(r.stderr)).toBe(0);
  const dd = await runta(["exec", "small", "--", "dd", "if=/dev/zero", "of=/fill", "bs=1M", "count=1100"]);
  expect(dd.exitCode).not.toBe(0);
  expect(dd.stderr).toMatch(/No space left on device/);
  const ps = await runta(["ps"]);
  expect(String(ps.stdout)).toMatch(/small\tbusybox\trunning\t1\t256MiB\t1GiB\t/);
  const [info] = JSON.parse(String((await runta(["inspect", "small"])).stdout)) as Array<{ usage: { disk_used_bytes: number; disk_size_bytes: number } }>;
  expect(info!.usage.disk_used_bytes).toBeGreaterThan(0.9 * 1024 ** 3);
  expect(info!.usage.disk_size_bytes).toBeLessThan(1.01 * 1024 ** 3);
  const big = join(work, "big.bin"); // 100 MiB: fits the host, not the full disk
  const cp = await runta(["cp", big, "small:/more.bin"]);
  expect(cp.exitCode).toBe(1);
  expect(cp.stderr).toMatch(/no space left on the runtime's disk/);
  expect((await runta(["resize", "--disk-size-gib", "0", "small"])).exitCode).toBe(2);
  await runta(["rm", "-f", "small"]);
  expect(lstatSync(work).isDirectory()).toBe(true);
}, 300_000);
