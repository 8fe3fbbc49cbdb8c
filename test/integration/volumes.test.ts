/**
 * Volumes through the real daemon, runc and the SDK: a volume written by one runtime is read by another and outlives
 * both; two runtimes share one at once; read-only is read-only (inside, and through cp); the size bound is ENOSPC
 * inside and 507 through cp; mounts survive shutdown/boot and a daemon restart; rm of a volume in use is refused
 * naming the runtimes; bad mounts are refused with nothing created; cp reaches files under a mount, symlinks
 * resolved within the runtime.
 */
import tar from "tar-stream";
import { beforeAll, expect, test } from "vitest";
import type { Runta } from "../../src/client/index.js";
import { mountPoints } from "../../src/engine/mounts.js";
import { daemonSuite } from "../helpers/daemon-suite.js";

const d = daemonSuite().daemon;
let runta: Runta;

beforeAll(async () => {
  runta = d.client();
});

async function sh(rt: string, line: string): Promise<{ code: number; out: string }> {
  const r = await runta.runtimes.exec(rt, ["sh", "-c", line]);
  return { code: r.exit_code, out: (r.stdout + r.stderr).trim() };
}

const small = { image: "busybox", memoryMiB: 64 };

async function collect(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

/** A tar stream of one file (its parent directories implied). */
function tarOf(name: string, body: string): Promise<Buffer> {
  const pack = tar.pack();
  pack.entry({ name }, body);
  pack.finalize();
  return collect(pack as unknown as AsyncIterable<Uint8Array>);
}

/** The member names of a tar stream. */
async function tarNames(stream: AsyncIterable<Uint8Array>): Promise<string[]> {
  const names: string[] = [];
  const extract = tar.extract();
  await new Promise<void>((resolve, reject) => {
    extract.on("entry", (h, body, next) => {
      names.push(h.type === "directory" ? `${h.name.replace(/\/$/, "")}/` : h.name);
      body.on("end", () => next());
      body.resume();
    });
    extract.on("finish", resolve);
    extract.on("error", reject);
    collect(stream).then((b) => extract.end(b), reject);
  });
  return names;
}

test("a volume written by one runtime is read by another, shared at once, and outlives both", async () => {
  const vol = await runta.volumes.create("shared", { sizeMiB: 64 });
  expect(vol).toMatchObject({ name: "shared", size_bytes: 64 * 1024 * 1024, in_use_by: [] });
  const a = await runta.runtimes.create("vol-a", { ...small, volumes: [{ volume: "shared", path: "/work" }] });
  expect(a.info.volumes).toEqual([{ volume: "shared", volume_id: vol.id, path: "/work", read_only: false }]);
  // An empty directory (no lost+found), on its own disk of the volume's size.
  expect(await sh("vol-a", "ls -A /work | wc -l; echo from-a > /work/note; df -k /work | tail -1")).toMatchObject({ code: 0, out: expect.stringMatching(/^0\n.*\b(5\d{4}|6\d{4})\b/) });
  const b = await runta.runtimes.create("vol-b", { ...small, volumes: [{ volume: "shared", path: "/data/shared" }] });
  expect(await sh("vol-b", "cat /data/shared/note; echo from-b >> /data/shared/note")).toEqual({ code: 0, out: "from-a" });
  expect((await sh("vol-a", "cat /work/note")).out).toBe("from-a\nfrom-b");
  expect((await runta.volumes.get("shared")).in_use_by.sort()).toEqual(["vol-a", "vol-b"]);
  await a.delete();
  await b.delete();
  const c = await runta.runtimes.create("vol-c", { ...small, volumes: [{ volume: vol.id, path: "/w" }] });
  expect((await sh("vol-c", "cat /w/note")).out).toBe("from-a\nfrom-b");
  expect((await runta.volumes.get("shared")).used_bytes).toBeGreaterThan(0);
  await c.delete();
}, 180_000);

test("read-only mounts cannot be written, inside or through cp; another runtime writes the same volume", async () => {
  await runta.volumes.create("ro-vol", { sizeMiB: 32 });
  await runta.runtimes.create("ro-writer", { ...small, volumes: [{ volume: "ro-vol", path: "/v" }] });
  await sh("ro-writer", "echo hello > /v/f");
  const reader = await runta.runtimes.create("ro-reader", { ...small, volumes: [{ volume: "ro-vol", path: "/v", readOnly: true }] });
  expect(reader.info.volumes[0]).toMatchObject({ read_only: true });
  const w = await sh("ro-reader", "cat /v/f && echo x > /v/g");
  expect(w.code).not.toBe(0);
  expect(w.out).toMatch(/^hello\n.*Read-only file system/);
  await expect(reader.files.write("/v/g", "nope")).rejects.toMatchObject({ code: "failed_precondition", message: expect.stringContaining("read-only") });
  await expect(reader.files.upload("/", await tarOf("v/sub/x", "nope"))).rejects.toMatchObject({ code: "failed_precondition" });
  expect((await sh("ro-writer", "ls /v")).out).toBe("f");
  // Reading through cp works on a read-only mount.
  expect((await reader.files.read("/v/f")).toString()).toBe("hello\n");
  await reader.delete();
  await runta.runtimes.delete("ro-writer");
}, 180_000);

test("the size bound: ENOSPC inside, 507 through cp, the runtime's own disk untouched", async () => {
  await runta.volumes.create("tiny", { sizeMiB: 16 });
  const rt = await runta.runtimes.create("filler", { ...small, volumes: [{ volume: "tiny", path: "/t" }] });
  const fill = await sh("filler", "dd if=/dev/zero of=/t/big bs=1M count=64 2>&1; echo rc=$?");
  expect(fill.out).toMatch(/No space left on device/);
  expect(fill.out).toMatch(/rc=1$/);
  // The root filesystem still takes writes.
  expect(await sh("filler", "echo ok > /root-file && cat /root-file")).toEqual({ code: 0, out: "ok" });
  await expect(rt.files.write("/t/more", Buffer.alloc(4 * 1024 * 1024))).rejects.toMatchObject({ status: 507, message: expect.stringContaining('volume "tiny"') });
  await rt.delete();
}, 180_000);

test("a volume grows (online with CAP_SYS_RESOURCE, else with the runtimes mounting it shut down) and they write past the old bound; shrinking and bad sizes are refused", async () => {
  await runta.volumes.create("grow", { sizeMiB: 16 });
  const rt = await runta.runtimes.create("grower", { ...small, volumes: [{ volume: "grow", path: "/g" }] });
  const full = await sh("grower", "dd if=/dev/zero of=/g/a bs=1M count=32 2>&1; echo rc=$?");
  expect(full.out).toMatch(/No space left on device[\s\S]*rc=1$/);
  // Online ext4 growth needs CAP_SYS_RESOURCE; where the daemon lacks it (this sandbox) the answer names the runtimes
  // to shut down, and the volume grows offline once they are.
  const grown = await runta.volumes.resize("grow", 128).then(
    (v) => v,
    async (err: unknown) => {
      expect(err).toMatchObject({ code: "failed_precondition", message: expect.stringMatching(/CAP_SYS_RESOURCE.*runta shutdown grower\b/) });
      expect((await runta.volumes.get("grow")).size_bytes).toBe(16 * 2 ** 20);
      await runta.runtimes.stop("grower");
      const v = await runta.volumes.resize("grow", 128);
      await runta.runtimes.start("grower");
      return v;
    },
  );
  expect(grown).toMatchObject({ name: "grow", size_bytes: 128 * 2 ** 20, in_use_by: ["grower"] });
  expect((await runta.runtimes.get("grower")).info.status).toBe("running");
  // The mount inside sees the new size, keeps what was written and takes 64 MiB more.
  expect((await sh("grower", "ls /g")).out).toBe("a");
  const df = await sh("grower", "df -k /g | tail -1");
  expect(Number(df.out.split(/\s+/)[1])).toBeGreaterThan(100 * 1024);
  expect(await sh("grower", "rm /g/a && dd if=/dev/zero of=/g/b bs=1M count=64 2>/dev/null && ls -l /g/b | awk '{print $5}'")).toEqual({ code: 0, out: String(64 * 2 ** 20) });
  expect((await runta.volumes.get("grow")).used_bytes).toBeGreaterThan(64 * 2 ** 20);
  await expect(runta.volumes.resize("grow", 64)).rejects.toMatchObject({ status: 422, message: expect.stringContaining("volumes only grow") });
  await expect(runta.volumes.resize("grow", 2 * 1048576)).rejects.toMatchObject({ code: "invalid_argument", message: expect.stringContaining("size_mib: must be between 16 and 1048576") });
  await expect(runta.volumes.resize("nope", 64)).rejects.toMatchObject({ status: 404 });
  expect((await runta.volumes.get("grow")).size_bytes).toBe(128 * 2 ** 20);
  await rt.delete();
  // A volume no runtime mounts grows whether or not the daemon can grow online, and stays mounted on the host.
  expect(await runta.volumes.resize("grow", 256)).toMatchObject({ size_bytes: 256 * 2 ** 20, used_bytes: expect.any(Number) });
  expect(await runta.volumes.resize("grow", 256)).toMatchObject({ size_bytes: 256 * 2 ** 20 });
  await runta.volumes.remove("grow");
}, 180_000);

test("mounts survive shutdown/boot and a daemon restart; rm of a runtime keeps its volumes; rm of a volume in use is refused", async () => {
  await runta.volumes.create("durable", { sizeMiB: 32 });
  const rt = await runta.runtimes.create("keeper", { ...small, volumes: [{ volume: "durable", path: "/keep" }] });
  await sh("keeper", "echo one > /keep/a");
  await expect(runta.volumes.remove("durable")).rejects.toMatchObject({ code: "failed_precondition", message: expect.stringContaining("keeper") });
  await rt.stop();
  // Still in use while shut down: the next boot mounts it again.
  await expect(runta.volumes.remove("durable")).rejects.toMatchObject({ code: "failed_precondition" });
  // cp reaches a shut-down runtime's volume.
  expect((await rt.files.read("/keep/a")).toString()).toBe("one\n");
  await rt.start();
  expect((await sh("keeper", "cat /keep/a; echo two > /keep/b")).out).toBe("one");
  await d.restart();
  runta = d.client();
  expect((await sh("keeper", "cat /keep/b")).out).toBe("two");
  await runta.runtimes.stop("keeper");
  await runta.runtimes.start("keeper");
  expect((await sh("keeper", "cat /keep/a /keep/b")).out).toBe("one\ntwo");
  await runta.runtimes.delete("keeper");
  const removed = await runta.volumes.remove("durable");
  expect(removed.name).toBe("durable");
  expect((await mountPoints()).filter((m) => m.startsWith(`${d.dataDir}/volumes/`))).toHaveLength(3); // shared, ro-vol and tiny are left
  await expect(runta.volumes.get("durable")).rejects.toMatchObject({ code: "not_found" });
}, 240_000);

test("bad mounts are refused, naming the problem, and nothing is created", async () => {
  const before = (await runta.runtimes.list()).length;
  const bad: Array<[Array<{ volume: string; path: string }>, RegExp]> = [
    [[{ volume: "nope", path: "/w" }], /volume "nope" not found/],
    [[{ volume: "shared", path: "work" }], /absolute/],
    [[{ volume: "shared", path: "/proc/x" }], /under \/proc/],
    [[{ volume: "shared", path: "/" }], /is \//],
    [[{ volume: "shared", path: "/dev" }], /is \/dev/],
    [[{ volume: "shared", path: "/a/../b" }], /'\.\.'/],
    [[{ volume: "shared", path: "/w" }, { volume: "tiny", path: "/w/" }], /given twice/],
  ];
  for (const [volumes, message] of bad) {
    await expect(runta.runtimes.create("bad-mount", { ...small, volumes })).rejects.toMatchObject({ message: expect.stringMatching(message) });
  }
  expect((await runta.runtimes.list()).length).toBe(before);
  await expect(runta.volumes.create("bad/name")).rejects.toMatchObject({ code: "invalid_argument" });
  await expect(runta.volumes.create("shared")).rejects.toMatchObject({ code: "already_exists" });
  await expect(runta.volumes.create("huge", { sizeMiB: 1 })).rejects.toMatchObject({ code: "invalid_argument" });
}, 120_000);

test("cp into and out of a path under a mount reaches the volume; symlinks in the runtime stay inside it", async () => {
  const rt = await runta.runtimes.create("cp-vol", { ...small, volumes: [{ volume: "shared", path: "/work" }] });
  await rt.files.write("/work/in.txt", "via cp\n");
  expect((await sh("cp-vol", "cat /work/in.txt; ln -s /work /link; ln -s ../../etc /work/up")).out).toBe("via cp");
  // Through a symlink in the root to the mount, and from the volume back up into the root.
  expect((await rt.files.read("/link/in.txt")).toString()).toBe("via cp\n");
  expect((await rt.files.stat("/work/up/passwd")).type).toBe("file");
  // A tree copied into / lands in the volume where it crosses the mount; a tree read from / includes the volume.
  await rt.files.upload("/", await tarOf("work/tree/x", "in a tree"));
  expect((await sh("cp-vol", "cat /work/tree/x")).out).toBe("in a tree");
  const names = await tarNames(await rt.files.download("/work"));
  expect(names).toEqual(expect.arrayContaining(["work/", "work/in.txt", "work/tree/x"]));
  // The root's own directory under the mount point stays empty on the host side.
  await rt.delete();
}, 180_000);

test("seed 002's workspace_mount: volume <name>-workspace at /workspace, made once, kept after the runtime, found again; undone when the create fails", async () => {
  const create = (body: Record<string, unknown>) =>
    fetch(`${d.endpoint}/v1/runtimes`, {
      method: "POST",
      headers: { Authorization: `Bearer ${d.token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ image: "busybox", resources: { requests: { memory_mib: 64 } }, workspace_mount: true, ...body }),
    });
  const first = await create({ name: "agent" });
  expect(first.status).toBe(201);
  expect((await first.json()).data.volumes).toEqual([{ volume: "agent-workspace", volume_id: expect.any(String), path: "/workspace", read_only: false }]);
  await sh("agent", "echo kept > /workspace/state");
  await runta.runtimes.delete("agent");
  expect((await runta.volumes.get("agent-workspace")).in_use_by).toEqual([]);
  const again = await create({ name: "agent" });
  expect(again.status).toBe(201);
  expect((await sh("agent", "cat /workspace/state")).out).toBe("kept");
  await runta.runtimes.delete("agent");
  // A create that fails leaves no workspace it made behind; one without a name is refused before anything is made.
  const failed = await create({ name: "doomed", image: "no-such-image" });
  expect(failed.status).toBe(404);
  await expect(runta.volumes.get("doomed-workspace")).rejects.toMatchObject({ code: "not_found" });
  const nameless = await create({});
  expect(nameless.status).toBe(400);
  expect((await nameless.json()).error.message).toContain("workspace_mount needs a name");
  await runta.volumes.remove("agent-workspace");
}, 180_000);
