import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EventEmitter } from "node:events";
import { describe, expect, test } from "vitest";
import { fakeClient } from "../../helpers/fake-client.js";
import { cli } from "../../helpers/cli-harness.js";

describe("image", () => {
  test("ls in a pipe and as JSON", async () => {
    const r = await cli(["image", "ls"]);
    expect(r.out.split("\n")[0]).toBe("NAME\tSIZE\tCREATED\tPYTHON\tPARENT\tPACKAGES\tSOURCE\tUSED BY");
    expect(r.out).toContain("default\t150000000\t2026-01-01T00:00:00.000Z\t3.11.2\t-\t-\tdebootstrap\t0");
    expect(JSON.parse((await cli(["image", "ls", "--json"])).out).images.map((i: { name: string }) => i.name)).toEqual(["default", "busybox"]);
  });

  test("build shows progress and prints the name", async () => {
    const r = await cli(["image", "build", "--force"]);
    expect(r.code).toBe(0);
    expect(r.out).toBe("default\n");
    expect(r.err).toContain("building image default: 10% debootstrap: retrieving packages");
    expect(r.client.calls.find((c) => c.method === "images.build")!.args).toEqual(["default", { force: true }]);
  });

  test("Ctrl-C during a build says the daemon goes on building, without a 'failed' line, exit 130", async () => {
    const signals = new EventEmitter();
    const c = fakeClient();
    c.images.build = () => new Promise(() => undefined);
    const pending = cli(["image", "build", "--force"], { client: c, deps: { signals } });
    await new Promise((r) => setTimeout(r, 20));
    signals.emit("SIGINT");
    const r = await pending;
    expect(r.code).toBe(130);
    expect(r.out).toBe("");
    expect(r.err).toBe("building image default…\nrunta: interrupted — the daemon goes on building image default; runta image ls lists it once built\n");
    expect(signals.listenerCount("SIGINT")).toBe(0);
  });

  test("build of an existing image says how to rebuild it, in CLI terms, and builds nothing", async () => {
    const r = await cli(["image", "build"]);
    expect(r.code).toBe(0);
    expect(r.out).toBe("default\n");
    expect(r.err).toBe("runta: image default is already built (2026-01-01T00:00:00.000Z); rebuild it with runta image build --force default\n");
    expect(r.client.calls.some((c) => c.method === "images.build")).toBe(false);
    const j = await cli(["image", "build", "--json"]);
    expect(JSON.parse(j.out).name).toBe("default");
  });

  test("build --package builds the image of the set over the parent; ls shows its parent and packages", async () => {
    const r = await cli(["image", "build", "--package", "tree", "--parent", "busybox"]);
    expect(r.code).toBe(0);
    expect(r.out).toBe("busybox-pkgs-fake\n");
    expect(r.client.calls.find((c) => c.method === "images.build")!.args).toEqual([undefined, { force: false, packages: ["tree"], parent: "busybox" }]);
    const ls = await cli(["image", "ls"], { client: { images: [{ name: "default-pkgs-1", parent: "default", packages: ["cowsay", "tree"], python_version: "3.11.2" }] } });
    expect(ls.out).toContain("default-pkgs-1\t150000000\t2026-01-01T00:00:00.000Z\t3.11.2\tdefault\tcowsay,tree\tpackages\t0");
    const existing = await cli(["image", "build", "--package", "tree", "--package", "cowsay"], { client: { images: [{ name: "default-pkgs-1", parent: "default", packages: ["cowsay", "tree"] }] } });
    expect(existing.err).toBe("runta: image default-pkgs-1 is already built (2026-01-01T00:00:00.000Z); rebuild it with runta image build --force --package cowsay --package tree\n");
    const orphan = await cli(["image", "build", "--parent", "busybox"]);
    expect(orphan.code).toBe(2);
    expect(orphan.err).toContain("--parent needs --package");
  });

  test("import reads a file or stdin", async () => {
    const dir = mkdtempSync(join(tmpdir(), "runta-img-"));
    writeFileSync(join(dir, "rootfs.tar"), Buffer.alloc(2048));
    const f = await cli(["image", "import", "mini", join(dir, "rootfs.tar")]);
    expect(f.code).toBe(0);
    expect(f.client.imageState.get("mini")!.size_bytes).toBe(2048);
    const s = await cli(["image", "import", "piped", "-"], { input: "x".repeat(10) });
    expect(s.client.imageState.get("piped")!.size_bytes).toBe(10);
    const missing = await cli(["image", "import", "m", join(dir, "nope.tar")]);
    expect(missing.code).toBe(2);
    expect(missing.err).toContain("cannot read");
    rmSync(dir, { recursive: true, force: true });
  });

  test("import warns that the daemon's runc lacks the escape fixes, and stays quiet for a fixed runc", async () => {
    const old = await cli(["image", "import", "piped", "-"], { input: "x" });
    expect(old.code).toBe(0);
    expect(old.err).toMatch(/runta: warning: runc 1\.1\.5 on this host lacks fixes .*only import and run images you trust/);
    const fixed = await cli(["image", "import", "piped", "-"], {
      input: "x",
      client: { version: async () => ({ runta: "0.1.0", runc: "1.3.3", kernel: "6.1.0", node: "20.0.0", api: "v1" as const }) },
    });
    expect(fixed.code).toBe(0);
    expect(fixed.err).not.toContain("warning");
  });

  test("reading stdin that is a terminal is refused at once instead of waiting silently (import -, apply/delete -f -)", async () => {
    const imp = await cli(["image", "import", "alpine", "-"], { stdinTTY: true });
    expect(imp.code).toBe(2);
    expect(imp.err).toBe("runta: - reads the tarball from stdin, which is a terminal — pipe it in (docker export $(docker create alpine) | runta image import alpine -) or give a path\n");
    expect(imp.client.calls.some((c) => c.method === "images.import")).toBe(false);
    for (const verb of ["apply", "delete"]) {
      const r = await cli([verb, "-f", "-"], { stdinTTY: true });
      expect(r.code, verb).toBe(2);
      expect(r.err, verb).toBe("runta: -f - reads stdin, which is a terminal — pipe the file in, or give its path with -f\n");
      expect(r.client.calls, verb).toEqual([]);
    }
  });

  test("rm removes each, reporting missing ones", async () => {
    const r = await cli(["image", "rm", "busybox", "ghost"]);
    expect(r.code).toBe(1);
    expect(r.out).toBe("busybox\n");
    expect(r.err).toBe('runta: image "ghost" not found — list them with runta image ls\n');
  });
});
