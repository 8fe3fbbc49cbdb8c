import { EventEmitter } from "node:events";
import { describe, expect, test } from "vitest";
import { ENV_NAME, LABEL_KEY } from "../../../src/cli/parse.js";
import { EnvSchema, LabelsSchema } from "../../../src/api/schemas.js";
import { fakeRuntime } from "../../helpers/fake-client.js";
import { cli, worker } from "../../helpers/cli-harness.js";

describe("run", () => {
  test("the seed line creates, waits and prints the id", async () => {
    const r = await cli(["run", "--name", "worker", "--cpus", "2", "--memory", "2048"]);
    expect(r.code).toBe(0);
    const created = [...r.client.state.values()][0]!;
    expect(r.out).toBe(`${created.id}\n`);
    expect(created.resources.requests).toEqual({ vcpus: 2, memory_mib: 2048 });
    expect(r.client.calls.find((c) => c.method === "create")!.args[1]).toMatchObject({ vcpus: 2, memoryMiB: 2048, wait: true });
  });

  test("image, env, labels and detach are passed through", async () => {
    const r = await cli(["run", "--name", "w", "--image", "busybox", "-e", "A=1", "-e", "B=x=y", "--label", "team=infra", "-d"]);
    expect(r.code).toBe(0);
    expect(r.client.calls.find((c) => c.method === "create")!.args[1]).toMatchObject({
      image: "busybox",
      env: { A: "1", B: "x=y" },
      labels: { team: "infra" },
      wait: false,
    });
    expect(r.client.calls.some((c) => c.method === "images.build")).toBe(false);
  });

  test("--package builds the image of the set once with progress, then creates on it; a later run reuses it", async () => {
    const r = await cli(["run", "--name", "t", "--package", "tree", "--package", "cowsay", "--package", "tree"]);
    expect(r.code).toBe(0);
    const methods = r.client.calls.map((c) => c.method);
    expect(methods.indexOf("images.build")).toBeLessThan(methods.indexOf("create"));
    expect(r.client.calls.find((c) => c.method === "images.build")!.args).toEqual([undefined, { force: false, packages: ["cowsay", "tree"], parent: "default" }]);
    expect(r.client.calls.find((c) => c.method === "create")!.args[1]).toMatchObject({ packages: ["cowsay", "tree"] });
    expect(r.err).toContain("building the image of cowsay tree over default (once; later runs with these packages reuse it)");
    const again = await cli(["run", "--package", "cowsay", "--package", "tree"], {
      client: { images: [{ name: "default" }, { name: "default-pkgs-abc", parent: "default", packages: ["cowsay", "tree"] }] },
    });
    expect(again.code).toBe(0);
    expect(again.client.calls.some((c) => c.method === "images.build")).toBe(false);
  });

  test("--package with a bad name is a usage error naming the accepted forms, before any request", async () => {
    const r = await cli(["run", "--package", "Bad Name"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('--package: "Bad Name" is not a Debian package: packages are Debian NAME or NAME=VERSION, or Python pip:NAME or pip:NAME==VERSION');
    expect(r.client.calls).toEqual([]);
  });

  test("--runtime-version goes to the daemon, which picks the image; with --package the CLI picks the parent by the same rule", async () => {
    const r = await cli(["run", "--runtime-version", "3.11"]);
    expect(r.code).toBe(0);
    expect(r.client.calls.find((c) => c.method === "create")!.args[1]).toMatchObject({ runtimeVersion: "3.11", image: undefined });
    const p = await cli(["run", "--runtime-version", "3.12", "--package", "tree"], {
      client: { images: [{ name: "default" }, { name: "py312", python_version: "3.12.1" }] },
    });
    expect(p.code).toBe(0);
    expect(p.client.calls.find((c) => c.method === "images.build")!.args).toEqual([undefined, { force: false, packages: ["tree"], parent: "py312" }]);
    expect(p.client.calls.find((c) => c.method === "create")!.args[1]).toMatchObject({ runtimeVersion: "3.12", image: "py312", packages: ["tree"] });
    const none = await cli(["run", "--runtime-version", "2.7", "--package", "tree"]);
    expect(none.code).toBe(1);
    expect(none.err).toContain("--runtime-version 2.7: no image carries Python 2.7; available: Python 3.11.2 (default, busybox)");
    expect((await cli(["run", "--runtime-version", "latest"])).code).toBe(2);
  });

  test("--type browser builds the browser image first when missing, then creates a browser runtime", async () => {
    const r = await cli(["run", "--name", "chrome", "--type", "browser"]);
    expect(r.code).toBe(0);
    expect(r.err).toContain('runta: image "browser" is not built yet; building it now');
    expect(r.client.calls.find((c) => c.method === "images.build")!.args).toEqual(["browser", { force: false }]);
    expect(r.client.calls.find((c) => c.method === "create")!.args[1]).toMatchObject({ type: "browser", image: undefined });
    expect((await cli(["run", "--type", "vm"])).code).toBe(2);
  });

  test("-e NAME takes the value from the local environment", async () => {
    const r = await cli(["run", "--image", "busybox", "-e", "FROM_ENV"], { env: { FROM_ENV: "here" } });
    expect(r.client.calls.find((c) => c.method === "create")!.args[1]).toMatchObject({ env: { FROM_ENV: "here" } });
  });

  test("builds the default image first when it is missing, with plain progress lines in a pipe", async () => {
    const r = await cli(["run", "--name", "w"], { client: { images: [] } });
    expect(r.code).toBe(0);
    const methods = r.client.calls.map((c) => c.method);
    expect(methods.indexOf("images.build")).toBeLessThan(methods.indexOf("create"));
    expect(r.err).toContain('image "default" is not built yet');
    expect(r.err).toContain("debootstrap: retrieving packages");
    expect(r.err).not.toContain("\x1b[");
  });

  test("bad flag values are usage errors naming the flag", async () => {
    for (const args of [["--memory", "lots"], ["--memory", "1.5"], ["--cpus", "-1"], ["-e", "=x"], ["--label", "novalue"]]) {
      const r = await cli(["run", ...args]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.err, args.join(" ")).toMatch(new RegExp(`^runta: (${args[0]}|-e).*\\n$`));
      expect(r.client.calls.some((c) => c.method === "create")).toBe(false);
    }
  });

  test("--cpus and --memory outside the API's bounds are usage errors naming the flag and the bounds, nothing created", async () => {
    const cases: [string[], string][] = [
      [["--memory", "1"], 'runta: --memory must be a size of whole MiB between 16m and 256g (512m, 2g; a bare number is MiB), got "1"\n'],
      [["--memory", "999999"], 'runta: --memory must be a size of whole MiB between 16m and 256g (512m, 2g; a bare number is MiB), got "999999"\n'],
      [["-m", "300g"], 'runta: --memory must be a size of whole MiB between 16m and 256g (512m, 2g; a bare number is MiB), got "300g"\n'],
      [["-m", "1000k"], 'runta: --memory must be a size of whole MiB between 16m and 256g (512m, 2g; a bare number is MiB), got "1000k"\n'],
      [["--cpus", "0"], 'runta: --cpus must be a number between 0.01 and 64 in steps of 0.01, got "0"\n'],
      [["--cpus", "1000"], 'runta: --cpus must be a number between 0.01 and 64 in steps of 0.01, got "1000"\n'],
      [["--cpus", "0.001"], 'runta: --cpus must be a number between 0.01 and 64 in steps of 0.01, got "0.001"\n'],
    ];
    for (const [args, err] of cases) {
      for (const verb of [["run", ...args], ["resize", ...args, "worker"]]) {
        const r = await cli(verb, { client: { runtimes: [worker] } });
        expect(r.code, verb.join(" ")).toBe(2);
        expect(r.err, verb.join(" ")).toBe(err);
        expect(r.client.calls.some((c) => c.method === "create" || c.method === "resize"), verb.join(" ")).toBe(false);
      }
    }
    const ok = await cli(["run", "--cpus", "0.29", "--memory", "16"]);
    expect(ok.code).toBe(0);
    expect(ok.client.calls.find((c) => c.method === "create")!.args[1]).toMatchObject({ vcpus: 0.29, memoryMiB: 16 });
  });

  test("--memory takes docker's sizes (powers of 1024); a bare number is MiB; -m is its short form", async () => {
    for (const [given, mib] of [["512m", 512], ["2g", 2048], ["1.5G", 1536], ["2048", 2048], ["524288k", 512], ["1gb", 1024], ["64MiB", 64]] as const) {
      const r = await cli(["run", "-m", given]);
      expect(r.code, given).toBe(0);
      expect(r.client.calls.find((c) => c.method === "create")!.args[1], given).toMatchObject({ memoryMiB: mib });
    }
  });

  test("env names and label keys the API would refuse are usage errors naming the flag, checked like the API's schemas", async () => {
    for (const [args, err] of [
      [["-e", "1BAD=x"], 'runta: -e "1BAD=x": "1BAD" is not a variable name (letters, digits and _, not starting with a digit)\n'],
      [["-e", "A-B"], 'runta: -e "A-B": "A-B" is not a variable name (letters, digits and _, not starting with a digit)\n'],
      [["--label", "bad key=v"], `runta: --label "bad key=v": "bad key" is not a label key (letters, digits, '_', '.', '/', '-', starting with a letter or digit, 1-63 characters)\n`],
    ] as const) {
      const r = await cli(["run", ...args]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.err, args.join(" ")).toBe(err);
      expect(r.client.calls.some((c) => c.method === "create")).toBe(false);
    }
    const x = await cli(["exec", "-e", "9=x", "worker", "--", "env"], { client: { runtimes: [worker] } });
    expect(x.code).toBe(2);
    expect(x.client.calls.some((c) => c.method === "exec")).toBe(false);
    for (const k of ["A", "_a1", "1A", "a-b", "a b", "", "é"]) expect(ENV_NAME.pattern.test(k), k).toBe(EnvSchema.safeParse({ [k]: "v" }).success);
    for (const k of ["a", "team/x", "a.b-c_d", "-a", "a b", "x".repeat(63), "x".repeat(64), ""]) {
      expect(LABEL_KEY.pattern.test(k), k).toBe(LabelsSchema.safeParse({ [k]: "v" }).success);
    }
  });

  test("a --name the API would refuse is a usage error naming the flag", async () => {
    for (const name of ["", "-x", "bad name", "a".repeat(64)]) {
      const r = await cli(["run", "--name", name]);
      expect(r.code, name).toBe(2);
      expect(r.err, name).toBe(`runta: --name "${name}" must start with a letter or digit and contain only letters, digits, '_', '.', '-' (1-63 characters)\n`);
      expect(r.client.calls.some((c) => c.method === "create")).toBe(false);
    }
    expect((await cli(["run", "--name", "a".repeat(63)])).code).toBe(0);
  });

  test("on a terminal the Ctrl-C note starts on a clean line: the spinner's line is cleared, else a newline ends ^C's", async () => {
    for (const env of [{}, { NO_COLOR: "1" }]) {
      const signals = new EventEmitter();
      const pending = cli(["run", "--name", "slow"], { client: { create: () => new Promise(() => undefined) }, deps: { signals }, tty: true, env });
      // The spinner (ora) loads first on a terminal: wait until the command listens.
      for (let i = 0; i < 200 && signals.listenerCount("SIGINT") === 0; i++) await new Promise((r) => setTimeout(r, 10));
      signals.emit("SIGINT");
      const r = await pending;
      expect(r.code).toBe(130);
      const before = r.err.slice(0, r.err.indexOf("runta: interrupted"));
      if (env.NO_COLOR) expect(before).toBe("\n");
      else expect(before).toMatch(/\x1b\[1G\x1b\[0K(\x1b\[\?25h)?$/); // ora's clear: column 1, erase the line
    }
  });

  test("a positional argument (docker's image and command) points at --image and exec -it", async () => {
    const r = await cli(["run", "busybox", "sh"]);
    expect(r.code).toBe(2);
    expect(r.err).toBe("runta: run takes no arguments (got busybox sh) — choose the image with --image <image>; run a command with runta exec -it <runtime> -- <command>\n");
  });

  test("Ctrl-C while waiting says the daemon goes on creating the runtime and how to remove it, exit 130", async () => {
    for (const [args, note] of [
      [["--name", "slow"], "runta: interrupted — the daemon goes on creating runtime slow; see it with runta ps -a, remove it with runta rm slow\n"],
      [[], "runta: interrupted — the daemon goes on creating the runtime; find it with runta ps -a\n"],
    ] as const) {
      const signals = new EventEmitter();
      let created!: () => void;
      const pending = cli(["run", ...args], {
        client: { create: () => new Promise((resolve) => (created = () => resolve(fakeRuntime({ name: "slow" })))) },
        deps: { signals },
      });
      await new Promise((r) => setTimeout(r, 20));
      expect(signals.listenerCount("SIGINT")).toBe(1);
      signals.emit("SIGINT");
      const r = await pending;
      expect(r.code).toBe(130);
      expect(r.out).toBe("");
      expect(r.err).toBe(note);
      expect(signals.listenerCount("SIGINT")).toBe(0);
      created();
    }
  });

  test("a runtime that ends in error is a failure with its reason, not an id", async () => {
    const r = await cli(["run", "--name", "bad"], { client: { create: async (name) => fakeRuntime({ name, status: "error", last_error: "runc create failed: no space" }) } });
    expect(r.code).toBe(1);
    expect(r.out).toBe("");
    expect(r.err).toBe('runta: runtime "bad" did not start (status error: runc create failed: no space) — see runta inspect bad, remove it with runta rm bad\n');
  });

  test("a name clash is an error naming the runtime, exit 1", async () => {
    const r = await cli(["run", "--name", "worker"], { client: { runtimes: [worker] } });
    expect(r.code).toBe(1);
    expect(r.err).toBe('runta: a runtime named "worker" already exists\n');
  });
});
