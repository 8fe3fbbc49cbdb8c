/**
 * `runta run --package` and `runta image build --package` through the built CLI against a real daemon: the first run
 * builds the image of the set with progress on stderr, the next reuses it, `image ls` shows its parent and packages,
 * `--force` rebuilds it, and a package that does not exist exits 1 with apt's message, leaving no runtime or image.
 * Needs the host's Debian mirror. A private images dir: the shared default image hard-linked in (no copy).
 */
import { readdirSync } from "node:fs";
import { expect, test } from "vitest";
import { cliSuite } from "../helpers/cli-suite.js";

const suite = cliSuite({ defaultImage: true, privateImages: true });
const runta = suite.runta;

test("run --package builds the image once with progress, the next run reuses it, image ls shows parent and packages", async () => {
  const first = await runta(["run", "--name", "tools", "--package", "tree", "--memory", "256m"]);
  expect(first.exitCode, String(first.stderr)).toBe(0);
  expect(String(first.stderr)).toContain("runta: building the image of tree over default");
  expect(String(first.stderr)).toContain("apt-get install tree");
  const tree = await runta(["exec", "tools", "--", "tree", "--version"]);
  expect(tree.exitCode).toBe(0);
  expect(String(tree.stdout)).toMatch(/^tree v\d/);

  const second = await runta(["run", "--name", "tools2", "--package", "tree", "--memory", "256m"]);
  expect(second.exitCode).toBe(0);
  expect(String(second.stderr)).not.toContain("building");

  const ls = await runta(["image", "ls"]);
  const row = String(ls.stdout).split("\n").find((l) => l.startsWith("default-pkgs-"))!;
  expect(row.split("\t").slice(3, 8)).toEqual([expect.stringMatching(/^3\.\d+\.\d+$/), "default", "tree", "packages", "2"]);

  const again = await runta(["image", "build", "--package", "tree"]);
  expect(again.exitCode).toBe(0);
  expect(String(again.stderr)).toContain("is already built");
  const forced = await runta(["image", "build", "--package", "tree", "--force"]);
  expect(forced.exitCode, String(forced.stderr)).toBe(0);
  expect(String(forced.stdout)).toBe(`${row.split("\t")[0]}\n`);
  expect(String(forced.stderr)).toContain("apt-get install tree");
}, 900_000);

test("a package that does not exist: exit 1 with apt's message, and nothing left", async () => {
  const before = readdirSync(suite.daemon.imagesDir).sort();
  const r = await runta(["run", "--name", "bad", "--package", "no-such-package-runta"]);
  expect(r.exitCode).toBe(1);
  expect(String(r.stderr)).toContain("E: Unable to locate package no-such-package-runta");
  expect(String((await runta(["ps", "-a", "-q"])).stdout).split("\n").filter(Boolean)).toHaveLength(2);
  expect(String((await runta(["ps", "-a"])).stdout)).not.toContain("bad");
  expect(readdirSync(suite.daemon.imagesDir).sort()).toEqual(before);
  const usage = await runta(["run", "--package", "Not-A-Name"]);
  expect(usage.exitCode).toBe(2);
}, 300_000);

test("run --runtime-version picks the image by its Python; an unavailable version exits 1 listing the available ones", async () => {
  const images = JSON.parse(String((await runta(["image", "ls", "--json"])).stdout)).images as { name: string; python_version: string | null }[];
  const version = images.find((i) => i.name === "default")!.python_version!;
  expect(String((await runta(["run", "--name", "py", "--runtime-version", version, "--memory", "256m"])).exitCode)).toBe("0");
  expect(String((await runta(["exec", "py", "--", "python3", "--version"])).stdout)).toBe(`Python ${version}\n`);
  const missing = await runta(["run", "--name", "old", "--runtime-version", "3.10.5"]);
  expect(missing.exitCode).toBe(1);
  expect(String(missing.stderr)).toContain(`no image carries Python 3.10.5; available: Python ${version} (default`);
  const bad = await runta(["run", "--runtime-version", "latest"]);
  expect(bad.exitCode).toBe(2);
}, 300_000);
