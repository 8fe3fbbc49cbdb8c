import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { CreateRuntimeRequestSchema, LabelsSchema, normalizePackages, parsePackage } from "../../src/api/index.js";
import { derivedImageName, installSteps, removeLeftoverBuilds, sourcesHosts, stepFailure } from "../../src/engine/images/packages.js";
import type { RuntimeRecord } from "../../src/store/record.js";
import { installedVersion, pythonVersion, upstreamVersion } from "../../src/engine/images/python.js";
import { pickImageForPython, versionMatches } from "../../src/api/runtime-version.js";
import { ImageStore } from "../../src/engine/images/store.js";
import { asBrowser } from "../../src/engine/create.js";
import { browserCommand, cdpUrls } from "../../src/engine/browser/browser.js";
import { buildRuntimeSpec } from "../../src/engine/spec.js";

describe("package sets", () => {
  test("Debian and pip spellings parse; bad ones say what is expected", () => {
    expect(parsePackage("cowsay")).toEqual({ kind: "deb", name: "cowsay", version: null });
    expect(parsePackage("libc6=2.36-9+deb12u4")).toEqual({ kind: "deb", name: "libc6", version: "2.36-9+deb12u4" });
    expect(parsePackage("pip:Mstrio_Py==11.3.0")).toEqual({ kind: "pip", name: "mstrio-py", version: "11.3.0" });
    expect(() => parsePackage("Cowsay")).toThrow(/not a Debian package: .*lowercase/);
    expect(() => parsePackage("a;rm -rf /")).toThrow(/not a Debian package/);
    expect(() => parsePackage("pip:x>=1")).toThrow(/not a Python package/);
    expect(() => parsePackage("pip:")).toThrow(/not a Python package/);
  });

  test("a set is deduplicated and sorted, Debian first, so equal sets name one image", () => {
    expect(normalizePackages(["tree", "pip:requests", "cowsay", "tree"])).toEqual(["cowsay", "tree", "pip:requests"]);
    expect(() => normalizePackages(["tree=1", "tree=2"])).toThrow(/twice with different versions/);
    const a = derivedImageName("default", normalizePackages(["tree", "cowsay"]));
    expect(a).toBe(derivedImageName("default", normalizePackages(["cowsay", "tree", "cowsay"])));
    expect(a).toMatch(/^default-pkgs-[0-9a-f]{12}$/);
    expect(derivedImageName("busybox", ["tree", "cowsay"])).not.toBe(derivedImageName("default", ["tree", "cowsay"]));
  });

  test("the create body takes strings and seed 000's objects (Python packages), normalised", () => {
    const body = CreateRuntimeRequestSchema.parse({ packages: ["tree", { name: "mstrio-py", version: "", description: "" }, { name: "Requests", version: "2.31.0" }] });
    expect(body.packages).toEqual(["tree", "pip:mstrio-py", "pip:requests==2.31.0"]);
    const bad = CreateRuntimeRequestSchema.safeParse({ packages: ["Tree"] });
    expect(bad.success).toBe(false);
  });

  test("install steps: apt-get update and install for Debian packages, pip into the system Python for pip ones", () => {
    const steps = installSteps(["cowsay=3.03+dfsg2-8", "pip:requests==2.31.0"]);
    expect(steps.map((s) => s.title)).toEqual(["apt-get update", "apt-get install cowsay=3.03+dfsg2-8", "pip install requests==2.31.0"]);
    expect(steps[1]!.script).toContain("--no-install-recommends 'cowsay=3.03+dfsg2-8'");
    expect(steps[2]!.script).toContain("--break-system-packages");
    expect(installSteps(["pip:x"]).map((s) => s.title)).toEqual(["pip install x"]);
  });

  test("a failed step carries the package manager's words; a missing package is invalid_argument, a mirror out of reach unavailable", () => {
    const missing = stepFailure("apt-get install nope", 100, ["Reading package lists...", "E: Unable to locate package nope"]);
    expect(missing.code).toBe("invalid_argument");
    expect(missing.message).toBe("apt-get install nope failed: E: Unable to locate package nope. Check the package names (Debian: apt-cache search NAME; Python: pip:NAME)");
    expect(stepFailure("apt-get update", 100, ["E: Failed to fetch http://deb.debian.org/x  403  Forbidden"]).code).toBe("unavailable");
    expect(stepFailure("apt-get install x", 1, ["dpkg: error processing", "last words"]).message).toBe("apt-get install x failed: dpkg: error processing; last words");
    const pip = stepFailure("pip install x", 1, [
      "WARNING: Retrying (Retry(total=0)) after connection broken by 'NewConnectionError(...: Failed to establish a new connection: [Errno -3] Temporary failure in name resolution')'",
      "ERROR: Could not find a version that satisfies the requirement x (from versions: none)",
      "ERROR: No matching distribution found for x",
    ]);
    expect(pip.code).toBe("unavailable");
    expect(pip.message).toMatch(/^pip install x failed: ERROR: Could not find a version .*; ERROR: No matching distribution found for x\. No Python package index is reachable from the build runtime/);
  });

  test("the mirror hosts of an apt sources.list", () => {
    expect(sourcesHosts("# c\ndeb http://deb.debian.org/debian bookworm main\ndeb [signed-by=/k] https://Mirror.Example/debian bookworm main\ndeb-src http://x/ y z\n")).toEqual([
      "deb.debian.org",
      "mirror.example",
    ]);
  });
});

describe("python versions of images", () => {
  test("upstream versions and dpkg's status file", () => {
    expect(upstreamVersion("3.11.2-6+deb12u8")).toBe("3.11.2");
    expect(upstreamVersion("1:3.12.1-1")).toBe("3.12.1");
    const status = "Package: python3.11-minimal\nStatus: install ok installed\nVersion: 3.11.2-6\n\nPackage: python3.11\nStatus: install ok installed\nVersion: 3.11.2-6+deb12u8\n";
    expect(installedVersion(status, "python3.11")).toBe("3.11.2-6+deb12u8");
    expect(installedVersion(status, "python3.12")).toBeNull();
    expect(versionMatches("3.11.2", "3.11")).toBe(true);
    expect(versionMatches("3.11.2", "3.11.2")).toBe(true);
    expect(versionMatches("3.11.2", "3.1")).toBe(false);
    expect(versionMatches("3.11.2", "3.10.5")).toBe(false);
  });

  test("read from the image's files, the topmost layer first; the interpreter's name alone without dpkg", async () => {
    const dir = mkdtempSync(join(tmpdir(), "runta-py-"));
    const base = join(dir, "base");
    mkdirSync(join(base, "usr/bin"), { recursive: true });
    mkdirSync(join(base, "var/lib/dpkg"), { recursive: true });
    symlinkSync("python3.11", join(base, "usr/bin/python3"));
    writeFileSync(join(base, "var/lib/dpkg/status"), "Package: python3.11\nStatus: install ok installed\nVersion: 3.11.2-6\n");
    expect(await pythonVersion([base])).toBe("3.11.2");
    const layer = join(dir, "layer");
    mkdirSync(join(layer, "var/lib/dpkg"), { recursive: true });
    writeFileSync(join(layer, "var/lib/dpkg/status"), "Package: python3.11\nStatus: install ok installed\nVersion: 3.11.9-1\n");
    expect(await pythonVersion([layer, base])).toBe("3.11.9");
    const bare = join(dir, "bare");
    mkdirSync(join(bare, "usr/bin"), { recursive: true });
    symlinkSync("/usr/bin/python3.12", join(bare, "usr/bin/python3"));
    expect(await pythonVersion([bare])).toBe("3.12");
    expect(await pythonVersion([join(dir, "nothing")])).toBeNull();
    rmSync(dir, { recursive: true, force: true });
  });
});

describe("derived images in the store", () => {
  test("layers stack a derived image's layer over its parent's; a parent cannot be removed under its children", async () => {
    const dir = mkdtempSync(join(tmpdir(), "runta-derived-"));
    const meta = (name: string, more: object = {}) => {
      mkdirSync(join(dir, name, "rootfs"), { recursive: true });
      writeFileSync(join(dir, name, "image.json"), JSON.stringify({ name, created_at: "2026-01-01T00:00:00.000Z", source: "x", size_bytes: 1, ...more }));
    };
    meta("base");
    meta("base-pkgs-1", { parent: "base", packages: ["tree"] });
    meta("base-pkgs-2", { parent: "base-pkgs-1", packages: ["sl"] });
    const s = new ImageStore({ imagesDir: dir });
    expect(s.layers("base-pkgs-2")).toEqual([join(dir, "base-pkgs-2/rootfs"), join(dir, "base-pkgs-1/rootfs"), join(dir, "base/rootfs")]);
    const listed = await s.list();
    expect(listed.find((i) => i.name === "base-pkgs-1")).toMatchObject({ parent: "base", packages: ["tree"] });
    await expect(s.remove("base")).rejects.toThrow("image 'base' is the parent of base-pkgs-1; remove them first: runta image rm base-pkgs-1");
    await expect(s.build("other", () => {})).rejects.toThrow(/only the 'default' image can be built from nothing/);
    await expect(s.build("x", () => {}, { derive: { parent: "missing", packages: ["tree"], install: async () => {} } })).rejects.toThrow(/image 'missing' not found/);
    rmSync(dir, { recursive: true, force: true });
  });

  test("a build runtime a dead daemon left is removed at start (a failed removal logged, the others still removed); users cannot take its label", async () => {
    const rec = (name: string, labels: Record<string, string>) => ({ id: `id-${name}`, name, labels }) as unknown as RuntimeRecord;
    const removed: string[] = [];
    const logged: string[] = [];
    const logger = { debug() {}, info() {}, warn: (m: string) => logged.push(`warn ${m}`), error: (m: string) => logged.push(`error ${m}`) };
    await removeLeftoverBuilds(
      [rec("mine", { "runta.type": "browser" }), rec("build-a", { "runta.build": "default-pkgs-a" }), rec("build-b", { "runta.build": "default-pkgs-b" })],
      async (id) => {
        removed.push(id);
        if (id === "id-build-a") throw new Error("runc said no");
      },
      logger,
    );
    expect(removed).toEqual(["id-build-a", "id-build-b"]);
    expect(logged.filter((l) => l.startsWith("warn removing a build runtime"))).toHaveLength(2);
    expect(logged).toContain("error could not remove a leftover build runtime");
    expect(LabelsSchema.safeParse({ "runta.build": "x" }).error?.issues[0]?.message).toMatch(/"runta.build" is reserved/);
    expect(LabelsSchema.safeParse({ "runta.type": "x", build: "y" }).success).toBe(true);
  });

  test("a derived build whose install fails leaves no image and no temp dir", async () => {
    const dir = mkdtempSync(join(tmpdir(), "runta-derived-"));
    mkdirSync(join(dir, "base", "rootfs"), { recursive: true });
    writeFileSync(join(dir, "base", "image.json"), JSON.stringify({ name: "base", created_at: "2026-01-01T00:00:00.000Z", source: "x", size_bytes: 1 }));
    const s = new ImageStore({ imagesDir: dir });
    const install = async (layer: string) => {
      mkdirSync(join(layer, "etc"), { recursive: true });
      throw stepFailure("apt-get install nope", 100, ["E: Unable to locate package nope"]);
    };
    await expect(s.build("base-pkgs-x", () => {}, { derive: { parent: "base", packages: ["nope"], install } })).rejects.toThrow(/Unable to locate package nope/);
    expect((await s.list()).map((i) => i.name)).toEqual(["base"]);
    const { readdirSync } = await import("node:fs");
    expect(readdirSync(dir)).toEqual(["base"]);
    // A successful one is committed with its parent and packages.
    const ok = await s.build("base-pkgs-y", () => {}, { derive: { parent: "base", packages: ["tree"], install: async (layer) => mkdirSync(join(layer, "usr"), { recursive: true }) } });
    expect(ok).toMatchObject({ name: "base-pkgs-y", parent: "base", packages: ["tree"], python_version: null });
    rmSync(dir, { recursive: true, force: true });
  });
});

describe("runtime version: an image picked by the Python it carries", () => {
  const images = [
    { name: "busybox", parent: null, python_version: null },
    { name: "default", parent: null, python_version: "3.11.2" },
    { name: "default-pkgs-1", parent: "default", python_version: "3.11.2" },
    { name: "py312", parent: null, python_version: "3.12.1" },
  ];
  test("the default image when it fits, else a base image, else a derived one; a named image must fit", () => {
    expect(pickImageForPython(images, "3.11")).toBe("default");
    expect(pickImageForPython(images, "3")).toBe("default");
    expect(pickImageForPython(images, "3.12.1")).toBe("py312");
    expect(pickImageForPython([images[2]!], "3.11.2")).toBe("default-pkgs-1");
    expect(pickImageForPython(images, "3.11.2", "default-pkgs-1")).toBe("default-pkgs-1");
  });
  test("an unavailable version is an error listing the versions there are", () => {
    expect(() => pickImageForPython(images, "3.10.5")).toThrow(
      "no image carries Python 3.10.5; available: Python 3.11.2 (default, default-pkgs-1), 3.12.1 (py312). runta installs no other Python: import an image that has it (runta image import)",
    );
    expect(() => pickImageForPython(images, "3.12", "default")).toThrow("image default carries Python 3.11.2, not 3.12; available: Python 3.11.2 (default, default-pkgs-1), 3.12.1 (py312)");
    expect(() => pickImageForPython(images, "3.11", "busybox")).toThrow(/image busybox carries no python3, not 3.11/);
    expect(() => pickImageForPython(images, "latest")).toThrow(/must be a Python version like 3.11 or 3.11.2/);
    expect(() => pickImageForPython([], "3.11")).toThrow(/no image with a python3 is known/);
  });
});

describe("browser runtimes", () => {
  test("type browser: the browser image, the type label and the DevTools port published; a network is needed", () => {
    expect(asBrowser({ name: "b", type: "browser", labels: { a: "1" } })).toMatchObject({
      image: "browser",
      labels: { a: "1", "runta.type": "browser" },
      ports: [{ port: 9222, protocol: "http" }],
    });
    expect(asBrowser({ type: "browser", ports: [{ port: 9222, protocol: "http" }] }).ports).toHaveLength(1);
    expect(asBrowser({ name: "plain" })).toEqual({ name: "plain" });
    expect(() => asBrowser({ type: "browser", network: "none" })).toThrow(/needs a network/);
  });

  test("Chromium is the init's child behind a forwarder on 0.0.0.0:9222; a plain runtime's init just reaps", () => {
    const cmd = browserCommand();
    expect(cmd.slice(0, 2)).toEqual(["/bin/sh", "-c"]);
    expect(cmd[2]).toMatch(/^socat TCP-LISTEN:9222,fork,reuseaddr TCP:127\.0\.0\.1:9223 & exec chromium --headless --no-sandbox .*--remote-debugging-port=9223/);
    const base = { id: "11111111-2222-3333-4444-555555555555", hostname: "h", rootfsPath: "/x", vcpus: 1, memoryMib: 64, env: {}, cgroupParent: "p" };
    expect((buildRuntimeSpec({ ...base, initArgv: ["/.runta/catatonit", "--", "/bin/true"] }).process as { args: string[] }).args).toEqual(["/.runta/catatonit", "--", "/bin/true"]);
    expect((buildRuntimeSpec(base).process as { args: string[] }).args).toEqual(["/.runta/catatonit", "-P"]);
  });

  test("the CDP URL is null while nothing answers at the runtime's address", async () => {
    expect(await cdpUrls("http://9222-x.runta.localhost:4000/", null)).toEqual({ http: "http://9222-x.runta.localhost:4000", ws: null });
    expect(await cdpUrls("http://9222-x.runta.localhost:4000/", "127.0.0.1", 200)).toMatchObject({ ws: null });
  });
});
