/** Pure parts of images and host facts: debootstrap progress, apt mirror parsing, image name validation, metadata. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { RuntaError } from "../../src/api/index.js";
import {
  FALLBACK_DEBIAN_MIRROR,
  debianMirror,
  mirrorFromDeb822,
  mirrorFromSourcesList,
} from "../../src/engine/host.js";
import { DebootstrapProgress } from "../../src/engine/images/debootstrap.js";
import { ImageStore } from "../../src/engine/images/store.js";

const tmp = mkdtempSync("/tmp/runta-test-images-unit-");
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A debootstrap run as it prints itself, shortened to three packages. */
const DEBOOTSTRAP_OUTPUT = `I: Target architecture can be executed
I: Retrieving InRelease 
I: Checking Release signature
I: Valid Release signature (key id 4D64FEC119C2029067D6E791F8D2585B8783D481)
I: Retrieving Packages 
I: Validating Packages 
I: Resolving dependencies of required packages...
I: Resolving dependencies of base packages...
I: Checking component main on http://deb.debian.org/debian...
I: Retrieving libacl1 2.3.1-3
I: Validating libacl1 2.3.1-3
I: Retrieving bash 5.2.15-2+b2
I: Validating bash 5.2.15-2+b2
I: Retrieving python3 3.11.2-1+b1
I: Validating python3 3.11.2-1+b1
I: Chosen extractor for .deb packages: dpkg-deb
I: Extracting libacl1...
I: Extracting bash...
I: Installing core packages...
I: Unpacking required packages...
I: Unpacking libacl1:amd64...
I: Unpacking bash...
I: Configuring required packages...
I: Configuring libacl1:amd64...
I: Configuring bash...
I: Unpacking the base system...
I: Unpacking python3...
I: Configuring the base system...
I: Configuring python3...
I: Base system installed successfully.`;

describe("DebootstrapProgress", () => {
  test("turns debootstrap's lines into messages with a rising percent that ends at 95", () => {
    const progress = new DebootstrapProgress(3);
    const events = DEBOOTSTRAP_OUTPUT.split("\n").map((l) => progress.feed(l));
    const reported = events.filter((e) => e !== undefined);
    expect(reported.map((e) => e.message)).toContain("downloading bash 5.2.15-2+b2 (2)");
    expect(reported.map((e) => e.message)).toContain("unpacking libacl1:amd64");
    expect(reported.map((e) => e.message)).toContain("configuring python3");
    expect(reported.map((e) => e.message)).toContain("downloading the InRelease index");
    // Validating lines are noise.
    expect(reported.some((e) => e.message.startsWith("Validating"))).toBe(false);
    const percents = reported.map((e) => e.percent);
    for (let i = 1; i < percents.length; i++) expect(percents[i]).toBeGreaterThanOrEqual(percents[i - 1]);
    expect(percents[0]).toBe(0);
    expect(percents.at(-1)).toBe(95);
    // Downloading 3 of the 3 expected packages is the download share (30 %).
    const afterDownloads = reported.find((e) => e.message.startsWith("downloading python3"));
    expect(afterDownloads?.percent).toBe(30);
  });

  test("never goes past 95 nor backwards when more packages come than expected", () => {
    const progress = new DebootstrapProgress(1);
    const a = progress.feed("I: Retrieving a 1")!.percent;
    const b = progress.feed("I: Retrieving b 1")!.percent;
    expect(a).toBe(30);
    expect(b).toBe(30);
    for (const p of ["a", "b"]) {
      progress.feed(`I: Extracting ${p}...`);
      progress.feed(`I: Unpacking ${p}...`);
      progress.feed(`I: Configuring ${p}...`);
    }
    expect(progress.percent()).toBe(95);
  });

  test("collects E: lines for the failure message and ignores unknown output", () => {
    const progress = new DebootstrapProgress();
    expect(progress.feed("E: Couldn't download packages: python3")?.message).toBe("error: Couldn't download packages: python3");
    expect(progress.feed("W: Retrying failed download of x")?.message).toBe("warning: Retrying failed download of x");
    expect(progress.feed("some wget noise")).toBeUndefined();
    expect(progress.feed("")).toBeUndefined();
    expect(progress.errorLines).toEqual(["Couldn't download packages: python3"]);
  });
});

describe("Debian mirror from apt sources", () => {
  test("one-line sources: the first deb line of the main archive, options and comments ignored", () => {
    const text = `# a comment
deb-src http://src.example.org/debian bookworm main
deb [arch=amd64 signed-by=/usr/share/keyrings/docker.gpg] https://download.docker.com/linux/debian bookworm stable
deb http://security.debian.org/debian-security bookworm-security main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://ftp.fr.debian.org/debian/ bookworm main contrib
deb http://deb.debian.org/debian bookworm-updates main`;
    expect(mirrorFromSourcesList(text)).toBe("http://ftp.fr.debian.org/debian");
  });

  test("one-line sources: a local mirror whose path ends in /debian counts, third-party repos do not", () => {
    expect(mirrorFromSourcesList("deb https://deb.nodesource.com/node_20.x nodistro main")).toBeUndefined();
    expect(mirrorFromSourcesList("deb http://mirror.internal.example/debian bookworm main")).toBe("http://mirror.internal.example/debian");
    expect(mirrorFromSourcesList("#deb http://deb.debian.org/debian bookworm main")).toBeUndefined();
  });

  test("deb822 sources: skips security, deb-src-only and disabled stanzas", () => {
    const text = `Types: deb-src
URIs: http://src.example.org/debian
Suites: bookworm
Components: main

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main

Types: deb
Enabled: no
URIs: http://disabled.debian.org/debian
Suites: bookworm
Components: main

Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian/
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg`;
    expect(mirrorFromDeb822(text)).toBe("http://deb.debian.org/debian");
  });

  test("debianMirror reads sources.list first, then sources.list.d in name order, else falls back", () => {
    const apt = join(tmp, "apt");
    mkdirSync(join(apt, "sources.list.d"), { recursive: true });
    expect(debianMirror(apt)).toBe(FALLBACK_DEBIAN_MIRROR);
    writeFileSync(join(apt, "sources.list.d", "b.sources"), "Types: deb\nURIs: http://b.debian.org/debian\nSuites: bookworm\nComponents: main\n");
    writeFileSync(join(apt, "sources.list.d", "a.list"), "deb http://a.debian.org/debian bookworm main\n");
    writeFileSync(join(apt, "sources.list.d", "c.list.disabled"), "deb http://c.debian.org/debian bookworm main\n");
    expect(debianMirror(apt)).toBe("http://a.debian.org/debian");
    writeFileSync(join(apt, "sources.list"), "deb http://first.debian.org/debian bookworm main\n");
    expect(debianMirror(apt)).toBe("http://first.debian.org/debian");
    expect(debianMirror(join(tmp, "no-apt-here"))).toBe(FALLBACK_DEBIAN_MIRROR);
  });
});

describe("image names and metadata", () => {
  const store = new ImageStore({ imagesDir: join(tmp, "images") });

  test.each([
    ["../etc", "path traversal"],
    ["a/b", "a slash"],
    ["Upper", "upper case"],
    ["x".repeat(300), "300 characters"],
    ["bad\u0001name", "a control character"],
    ["", "empty"],
    [".hidden", "a leading dot"],
  ])("refuses %j (%s) as invalid_argument", async (name) => {
    for (const call of [() => store.rootfsPath(name), () => store.remove(name), () => store.get(name)]) {
      let err: unknown;
      try {
        await call();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(RuntaError);
      expect((err as RuntaError).code).toBe("invalid_argument");
      expect((err as RuntaError).message).toMatch(/invalid image name/);
    }
    expect(store.exists(name)).toBe(false);
  });

  test("a valid but absent image is not_found with the fix", async () => {
    expect(() => store.rootfsPath("default")).toThrow(/image 'default' not found; build it with 'runta image build'/);
    await expect(store.remove("nothing")).rejects.toMatchObject({ code: "not_found" });
  });

  test("only the default image can be built", async () => {
    await expect(store.build("python", () => {})).rejects.toMatchObject({
      code: "invalid_argument",
      message: expect.stringMatching(/only the 'default' image can be built/),
    });
  });

  test("list reads image.json, skips corrupt metadata with a warning and hidden temp dirs", async () => {
    const dir = join(tmp, "list-images");
    const warnings: string[] = [];
    const s = new ImageStore({ imagesDir: dir, logger: { debug() {}, info() {}, warn: (m) => warnings.push(m), error() {} } });
    expect(await s.list()).toEqual([]);
    for (const name of ["good", "corrupt", ".tmp-x-1-abcdef01"]) mkdirSync(join(dir, name, "rootfs"), { recursive: true });
    writeFileSync(
      join(dir, "good", "image.json"),
      JSON.stringify({ name: "good", created_at: "2026-01-01T00:00:00.000Z", source: "import", size_bytes: 42, build_ms: 5 }),
    );
    writeFileSync(join(dir, "corrupt", "image.json"), "{not json");
    expect(await s.list()).toEqual([
      { name: "good", created_at: "2026-01-01T00:00:00.000Z", source: "import", size_bytes: 42, in_use_by: [], parent: null, packages: [], python_version: null },
    ]);
    expect(warnings).toEqual(["skipping image with unreadable metadata"]);
    expect(s.rootfsPath("good")).toBe(join(dir, "good", "rootfs"));
  });
});
