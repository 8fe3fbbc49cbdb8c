/**
 * Files in and out of runtimes through the real daemon, runc and the SDK: byte-exact round trips (a 100 MiB random
 * file, a tree with modes and a symlink), symlink and tar escapes refused with the host untouched, paused and
 * shut-down runtimes, and the disk size (`disk_size_gib`) enforced inside, grown live, never shrunk.
 */
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import tar from "tar-stream";
import { beforeAll, expect, test } from "vitest";
import type { Runta } from "../../src/client/index.js";
import { daemonSuite } from "../helpers/daemon-suite.js";

const suite = daemonSuite();
const d = suite.daemon;
let runta: Runta;
let hostDir: string;

beforeAll(() => {
  runta = d.client();
  hostDir = suite.scratch;
});

async function collect(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

function archive(entries: Array<tar.Headers & { body?: string }>): Promise<Buffer> {
  const pack = tar.pack();
  for (const { body, ...h } of entries) pack.entry(h, body ?? "");
  pack.finalize();
  return collect(pack as unknown as AsyncIterable<Uint8Array>);
}

async function sh(rt: string, line: string): Promise<string> {
  const r = await runta.runtimes.exec(rt, ["sh", "-c", line]);
  expect(r.stderr).toBe("");
  return r.stdout.trim();
}

test("a 100 MiB random file goes in and comes out byte for byte", async () => {
  await runta.runtimes.create("bytes", { image: "busybox", memoryMiB: 64 });
  const data = randomBytes(100 * 1024 * 1024);
  const sha = createHash("sha256").update(data).digest("hex");
  const files = runta.runtimes.files("bytes");
  expect(await files.write("/data.bin", Readable.from([data.subarray(0, 50 << 20), data.subarray(50 << 20)]), { mode: 0o640 })).toEqual({ entries: 1, bytes: data.length });
  expect(await sh("bytes", "sha256sum /data.bin | cut -d' ' -f1; stat -c '%a %u' /data.bin")).toBe(`${sha}\n640 0`);
  const back = await files.read("/data.bin");
  expect(createHash("sha256").update(back).digest("hex")).toBe(sha);
  // And as a tar stream: one entry named after the file.
  const tarball = await collect(await files.download("/data.bin"));
  const extract = tar.extract();
  const names: string[] = [];
  let size = 0;
  const hash = createHash("sha256");
  await new Promise<void>((resolve, reject) => {
    extract.on("entry", (h, body, next) => {
      names.push(h.name);
      body.on("data", (c: Buffer) => {
        size += c.length;
        hash.update(c);
      });
      body.on("end", () => next());
    });
    extract.on("finish", resolve);
    extract.on("error", reject);
    extract.end(tarball);
  });
  expect(names).toEqual(["data.bin"]);
  expect(size).toBe(data.length);
  expect(hash.digest("hex")).toBe(sha);
  await runta.runtimes.delete("bytes");
}, 120_000);

test("a tree with modes, a symlink and an empty dir round-trips through tar; paused and shut-down runtimes too", async () => {
  await runta.runtimes.create("tree", { image: "busybox", memoryMiB: 64 });
  await sh("tree", "mkdir -p /src/a/b /src/empty && echo hi > /src/a/run.sh && chmod 751 /src/a/run.sh && chmod 700 /src/a/b && ln -s a/run.sh /src/link && echo s > /src/a/b/secret && chmod 600 /src/a/b/secret");
  const files = runta.runtimes.files("tree");
  const tarball = await collect(await files.download("/src"));
  await runta.runtimes.pause("tree");
  await sh("tree", "true").catch(() => undefined); // exec is refused while paused; files are not
  await runta.runtimes.files("tree").stat("/src");
  await runta.runtimes.resume("tree");
  await sh("tree", "mkdir /copy");
  await runta.runtimes.stop("tree");
  expect(await files.upload("/copy", tarball)).toMatchObject({ entries: 7 });
  expect((await files.stat("/copy/src/link"))).toMatchObject({ type: "symlink", link_target: "a/run.sh" });
  await runta.runtimes.start("tree");
  expect(await sh("tree", "cd /copy/src && stat -c '%n %a %u' a a/run.sh a/b a/b/secret empty && readlink link && cat a/b/secret")).toBe(
    ["a 755 0", "a/run.sh 751 0", "a/b 700 0", "a/b/secret 600 0", "empty 755 0", "a/run.sh", "s"].join("\n"),
  );
  await runta.runtimes.delete("tree");
}, 60_000);

test("symlinks pointing at the host and tar members reaching out are refused; the host is untouched", async () => {
  const canary = join(hostDir, "canary");
  writeFileSync(canary, "host file");
  await runta.runtimes.create("escape", { image: "busybox", memoryMiB: 64 });
  // The classic `docker cp` escape: links inside the runtime to a host path and to ../../..
  await sh("escape", `ln -s ${canary} /abs && ln -s ../../../../../../../../${canary.slice(1)} /rel && ln -s / /rootlink && ln -s ${hostDir} /dirlink`);
  const files = runta.runtimes.files("escape");
  for (const p of ["/abs", "/rel"]) {
    await expect(files.read(p)).rejects.toMatchObject({ code: "not_found" });
    await expect(files.write(p, "pwned")).rejects.toMatchObject({ code: "not_found" });
  }
  await expect(files.upload("/dirlink", (await archive([{ name: "pwned", type: "file", body: "x" }])))).rejects.toMatchObject({ code: "not_found" });
  // A tar stream with '..' or absolute members, or one that plants a symlink and writes through it.
  for (const entries of [
    [{ name: "../../../../../../../../../tmp/pwned", type: "file" as const, body: "x" }],
    [{ name: join(hostDir, "pwned"), type: "file" as const, body: "x" }],
  ]) {
    await expect(files.upload("/tmp", (await archive(entries)))).rejects.toMatchObject({ code: "invalid_argument" });
  }
  await files.upload("/tmp", (await archive([
    { name: "out", type: "symlink", linkname: hostDir },
    { name: "out/pwned", type: "file", body: "x" },
  ])));
  expect(readFileSync(canary, "utf8")).toBe("host file");
  expect(existsSync(join(hostDir, "pwned"))).toBe(false);
  expect(existsSync("/tmp/pwned")).toBe(false);
  // The symlinked write landed inside the runtime, under the target directory.
  expect(await sh("escape", `cat /tmp${hostDir}/pwned`)).toBe("x");
  await runta.runtimes.delete("escape");
}, 60_000);

test("a 1 GiB disk: writing past it is ENOSPC inside, cp past it is a clear 507, it grows (online with CAP_SYS_RESOURCE, else shut down), never shrinks", async () => {
  const rt = await runta.runtimes.create("small-disk", { image: "busybox", memoryMiB: 256, diskSizeGiB: 1 });
  expect(rt.info.resources.requests.disk_size_gib).toBe(1);
  // 256 MiB: the page cache of a fast writer is charged to the runtime, and a small limit can OOM-kill dd on a slow disk.
  const dd = await runta.runtimes.exec("small-disk", "dd if=/dev/zero of=/fill bs=1M count=1100", { timeoutSecs: 120 });
  expect(dd.oom_killed).toBe(false);
  expect(dd.exit_code).not.toBe(0);
  expect(dd.stderr).toMatch(/No space left on device/);
  const info = await runta.runtimes.get("small-disk");
  expect(info.info.usage?.disk_size_bytes).toBeLessThan(1.01 * 1024 ** 3);
  expect(info.info.usage?.disk_used_bytes).toBeGreaterThan(0.9 * 1024 ** 3);
  await expect(runta.runtimes.files("small-disk").write("/more", randomBytes(64 * 1024 * 1024))).rejects.toMatchObject({ code: "resource_exhausted", status: 507 });
  expect(await sh("small-disk", "ls /.runta-cp-* 2>/dev/null | wc -l")).toBe("0");
  await expect(runta.runtimes.resize("small-disk", { diskSizeGiB: 0 })).rejects.toMatchObject({ code: "invalid_argument" });
  // Online ext4 growth needs CAP_SYS_RESOURCE; where the daemon lacks it the answer says to shut down first.
  const online = await runta.runtimes.resize("small-disk", { diskSizeGiB: 2 }).then(
    (r) => r,
    (err: { code: string; message: string }) => {
      expect(err).toMatchObject({ code: "failed_precondition", message: expect.stringMatching(/CAP_SYS_RESOURCE.*shut the runtime down/) });
      return null;
    },
  );
  if (!online) {
    await runta.runtimes.stop("small-disk");
    expect((await runta.runtimes.resize("small-disk", { diskSizeGiB: 2 })).resources.requests.disk_size_gib).toBe(2);
    await runta.runtimes.start("small-disk");
  }
  expect((await runta.runtimes.get("small-disk")).info.resources.requests.disk_size_gib).toBe(2);
  expect(await sh("small-disk", "cat /fill > /dev/null && dd if=/dev/zero of=/more bs=1M count=200 2>/dev/null && echo ok")).toBe("ok");
  await expect(runta.runtimes.resize("small-disk", { diskSizeGiB: 1 })).rejects.toMatchObject({ code: "invalid_argument", message: expect.stringMatching(/only grow/) });
  await runta.runtimes.delete("small-disk");
}, 180_000);
