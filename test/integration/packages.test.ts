/**
 * Packages through the real daemon, runc and the runtime network: a create with a Debian package the default image
 * lacks builds the derived image once (apt in a build runtime allowed to reach only the Debian mirror) and finds the
 * package installed; a second create with the same set reuses the image; concurrent creates of a new set build it
 * once; a package that does not exist fails the create with apt's message and leaves nothing behind.
 *
 * Needs the host's Debian mirror (as the default image's build does). The default image comes from the shared test
 * image cache (SHARED_IMAGES_DIR), hard-linked into this daemon's private images dir (daemonSuite's privateImages)
 * and only read (a lower layer).
 */
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { expect, test } from "vitest";
import { daemonSuite } from "../helpers/daemon-suite.js";

const d = daemonSuite({ defaultImage: true, privateImages: true }).daemon;

const imageDirs = () => readdirSync(d.imagesDir).sort();
const runtimeDirs = () => readdirSync(join(d.dataDir, "runtimes")).filter((n) => !n.startsWith(".") && !n.endsWith(".log"));

test("a create with a Debian package finds it installed; a second create with the same set reuses the image", async () => {
  const runta = d.client();
  const before = await runta.runtimes.exec(await runta.runtimes.create("plain", { memoryMiB: 256 }).then((r) => r.name), "command -v tree || echo absent");
  expect(before.stdoutText).toBe("absent\n");
  await runta.runtimes.delete("plain");

  let t = Date.now();
  const first = await runta.runtimes.create("tools1", { packages: ["tree"], memoryMiB: 256 });
  const firstMs = Date.now() - t;
  expect(first.info.image).toMatch(/^default-pkgs-[0-9a-f]{12}$/);
  const r = await first.exec("tree --version && dpkg -s tree | grep Status");
  expect(r.exit_code).toBe(0);
  expect(r.stdoutText).toContain("install ok installed");

  t = Date.now();
  const second = await runta.runtimes.create("tools2", { packages: ["tree"], memoryMiB: 256 });
  const secondMs = Date.now() - t;
  expect(second.info.image).toBe(first.info.image);
  expect((await second.exec("tree --version")).exit_code).toBe(0);
  console.log(`create with --package tree: first ${firstMs} ms (builds the image), second ${secondMs} ms (reuses it)`);

  const image = (await runta.images.list()).find((i) => i.name === first.info.image)!;
  expect(image.parent).toBe("default");
  expect(image.packages).toEqual(["tree"]);
  expect(image.python_version).toMatch(/^3\.\d+\.\d+$/);
  expect(image.in_use_by.sort()).toEqual(["tools1", "tools2"]);
  // Only the two runtimes: the build runtime is gone.
  expect((await runta.runtimes.list()).map((rt) => rt.name).sort()).toEqual(["tools1", "tools2"]);
  // The parent cannot go while an image stands on it.
  await expect(runta.images.remove("default")).rejects.toThrow(/parent of default-pkgs-/);
  await runta.runtimes.delete("tools1");
  await runta.runtimes.delete("tools2");
  await runta.images.remove(first.info.image);
}, 900_000);

test("concurrent creates with the same new set build its image once", async () => {
  const runta = d.client();
  const [a, b] = await Promise.all([
    runta.runtimes.create("sl1", { packages: ["sl"], memoryMiB: 256 }),
    runta.runtimes.create("sl2", { packages: ["sl"], memoryMiB: 256 }),
  ]);
  expect(a.info.image).toBe(b.info.image);
  expect((await a.exec("test -x /usr/games/sl && echo ok")).stdoutText).toBe("ok\n");
  const builds = d.logs().split("\n").filter((l) => l.includes('"image built"') && l.includes(a.info.image));
  expect(builds).toHaveLength(1);
  await runta.runtimes.delete("sl1");
  await runta.runtimes.delete("sl2");
  await runta.images.remove(a.info.image);
}, 900_000);

test("a package that does not exist fails the create with apt's message and leaves nothing behind", async () => {
  const runta = d.client();
  const images = imageDirs();
  const err = await runta.runtimes.create("bogus", { packages: ["no-such-package-runta"], memoryMiB: 256 }).then(
    () => null,
    (e: Error & { code?: string; status?: number }) => e,
  );
  expect(err?.code).toBe("invalid_argument");
  expect(err?.status).toBe(400);
  expect(err?.message).toContain("E: Unable to locate package no-such-package-runta");
  expect(await runta.runtimes.list()).toEqual([]);
  expect(imageDirs()).toEqual(images);
  expect(runtimeDirs()).toEqual([]);
  expect(existsSync(join(d.imagesDir, ".tmp"))).toBe(false);
}, 900_000);

test("a build runtime is hidden from lists (pooled shows it); one a daemon killed mid-build left is removed at the next start", async () => {
  let runta = d.client();
  const images = imageDirs();
  const build = runta.images.build(undefined, { packages: ["cowsay"] }).then(
    () => null,
    (e: Error) => e,
  );
  let builder: { name: string; labels: Record<string, string> } | undefined;
  while (!builder) {
    const all = (await runta.runtimes.list({ pooled: true })).map((r) => r.info);
    builder = all.find((r) => r.labels["runta.build"] !== undefined && r.status === "running");
    if (!builder) await new Promise((r) => setTimeout(r, 100));
  }
  expect(builder.labels["runta.build"]).toMatch(/^default-pkgs-[0-9a-f]{12}$/);
  expect(await runta.runtimes.list()).toEqual([]);
  expect((await runta.runtimes.get(builder.name)).info.status).toBe("running");
  // The daemon dies mid-build (no cleanup at all); the build runtime's container outlives it.
  await d.kill();
  expect(await build).toBeInstanceOf(Error);
  await d.restart();
  runta = d.client();
  expect(await runta.runtimes.list({ pooled: true })).toEqual([]);
  expect(d.logs()).toContain("removing a build runtime a previous daemon left");
  expect(runtimeDirs()).toEqual([]);
  // No image came of it: only the dead build's hidden temp dir, which the next build sweeps (images/store.ts).
  expect(imageDirs().filter((n) => !n.startsWith(".tmp-"))).toEqual(images);
  expect((await runta.images.list()).map((i) => i.name).sort()).toEqual(images);
}, 900_000);

test("a pip: package fails with pip's own message: no package index is reachable from the build runtime", async () => {
  const runta = d.client();
  const seen: string[] = [];
  const err = await runta.images.build(undefined, { packages: ["pip:runta-no-such-dist"], onEvent: (ev) => ev.type === "progress" && seen.push(ev.message) }).then(
    () => null,
    (e: Error & { code?: string }) => e,
  );
  expect(seen).toContain("pip install runta-no-such-dist");
  expect(err?.code).toBe("unavailable");
  expect(err?.message).toMatch(/pip install runta-no-such-dist failed: .*No matching distribution found for runta-no-such-dist\. No Python package index is reachable/);
  expect(await runta.runtimes.list()).toEqual([]);
  expect(imageDirs().filter((n) => n.startsWith("."))).toEqual([]);
}, 300_000);

test("runtime_version picks the image by its python3 (seed 000's runtimeVersion too); an unavailable one lists what there is", async () => {
  const runta = d.client();
  const def = (await runta.images.list()).find((i) => i.name === "default")!;
  expect(def.python_version).toMatch(/^3\.\d+\.\d+$/);
  const minor = def.python_version!.split(".").slice(0, 2).join(".");
  const rt = await runta.runtimes.create("py", { runtimeVersion: minor, memoryMiB: 256 });
  expect(rt.info.image).toBe("default");
  expect((await rt.exec("python3 --version")).stdoutText).toBe(`Python ${def.python_version}\n`);
  await runta.runtimes.delete("py");

  const post = (body: object) =>
    fetch(`${d.endpoint}/v1/runtimes`, { method: "POST", headers: { Authorization: `Bearer ${d.token}`, "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const res = await post({ name: "old", runtimeVersion: "3.10.5" });
  expect(res.status).toBe(400);
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect(body.error.message).toBe(
    `runtime_version 3.10.5: no image carries Python 3.10.5; available: Python ${def.python_version} (default). runta installs no other Python: import an image that has it (runta image import)`,
  );
  const onBusybox = await post({ name: "bb", image: "busybox", runtime_version: minor });
  expect(onBusybox.status).toBe(400);
  expect(((await onBusybox.json()) as { error: { message: string } }).error.message).toContain("image busybox carries no python3");
  expect((await post({ runtime_version: "3.11", runtimeVersion: "3.12" })).status).toBe(400);
  expect(await runta.runtimes.list()).toEqual([]);
}, 300_000);
