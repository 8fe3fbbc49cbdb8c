import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { EventEmitter } from "node:events";
import { afterAll, describe, expect, test } from "vitest";
import { run, type CliDeps } from "../../src/cli/main.js";
import type { ResolvedConfig } from "../../src/cli/config.js";
import { resolveConfig } from "../../src/cli/config.js";
import { escapeControl, relativeTime } from "../../src/cli/output.js";
import { ENV_NAME, LABEL_KEY } from "../../src/cli/parse.js";
import { EnvSchema, LabelsSchema } from "../../src/api/schemas.js";
import type { ExecStreamHandle } from "../../src/client/contract.js";
import { apiErrorFromCode } from "../../src/client/errors.js";
import { fakeClient, fakeRuntime, type FakeClient, type FakeClientOptions } from "../helpers/fake-client.js";
import { testIO } from "../helpers/cli.js";

const NOW = new Date("2026-01-01T00:05:00.000Z");
const home = mkdtempSync(join(tmpdir(), "runta-cli-test-"));
afterAll(() => rmSync(home, { recursive: true, force: true }));

async function cli(
  args: string[],
  opts: { client?: FakeClient | FakeClientOptions; tty?: boolean; stdinTTY?: boolean; env?: NodeJS.ProcessEnv; deps?: Partial<CliDeps>; input?: string } = {},
) {
  const io = testIO({ tty: opts.tty, stdinTTY: opts.stdinTTY });
  if (opts.input !== undefined) io.input(opts.input);
  const client = opts.client && "calls" in opts.client ? opts.client : fakeClient(opts.client as FakeClientOptions);
  const code = await run(args, { io, client, env: { HOME: home, PATH: process.env.PATH, ...opts.env }, now: () => NOW, ...opts.deps });
  return { code, out: io.out(), err: io.err(), client };
}

const worker = { id: "0b3d8a4e-5f8c-4d1a-9b7e-2c6f1a0e9d11", name: "worker", created_at: "2026-01-01T00:02:00.000Z" };
const stopped = { id: "7c1f0a2b-3d4e-4f5a-8b6c-9d0e1f2a3b4c", name: "old", status: "shutdown" as const };

describe("program", () => {
  test("runta alone prints the overview and exits 0", async () => {
    const r = await cli([]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("Usage: runta");
    for (const c of ["run", "ps", "inspect", "exec", "boot", "pause", "resume", "shutdown", "rm", "resize", "apply", "delete", "image", "daemon", "version", "completion"]) {
      expect(r.out).toMatch(new RegExp(`\\n  ${c}\\b`));
    }
  });

  test("--version prints the client version only", async () => {
    const r = await cli(["--version"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^runta version \d+\.\d+\.\d+\n$/);
    expect(r.client.calls).toEqual([]);
  });

  test("every command has --help with an Examples section", async () => {
    for (const c of [["run"], ["ps"], ["inspect"], ["exec"], ["boot"], ["pause"], ["resume"], ["shutdown"], ["rm"], ["resize"], ["apply"], ["delete"],
      ["image"], ["image", "ls"], ["image", "build"], ["image", "import"], ["image", "rm"], ["daemon"], ["daemon", "run"], ["daemon", "start"],
      ["daemon", "stop"], ["daemon", "status"], ["version"], ["completion"]]) {
      const r = await cli([...c, "--help"]);
      expect(r.code, c.join(" ")).toBe(0);
      expect(r.out, c.join(" ")).toContain("Examples:");
      // Each example is one indented command line that runs runta (comments after # allowed).
      const examples = r.out.split("Examples:\n")[1]!.split("\n\n")[0]!.split("\n").filter((l) => l.trim() !== "");
      for (const line of examples) expect(line, c.join(" ")).toMatch(/^ {2}(\S.* )?runta /);
    }
  });

  test("a command group alone prints its help, exit 0", async () => {
    const r = await cli(["image"]);
    expect(r.code).toBe(0);
    expect(r.out + r.err).toContain("Usage: runta image");
    expect(r.err).not.toContain("runta: ");
  });

  test("an unknown command or flag is a one-line usage error, exit 2", async () => {
    const r = await cli(["frobnicate"]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^runta: unknown command 'frobnicate'.* — see runta --help\n$/);
    const f = await cli(["ps", "--bogus"]);
    expect(f.code).toBe(2);
    expect(f.err).toBe("runta: unknown option '--bogus' — see runta ps --help\n");
  });

  test("a near miss keeps commander's suggestion on the one line; docker's verbs name runta's", async () => {
    const typo = await cli(["ps", "--al"]);
    expect(typo.code).toBe(2);
    expect(typo.err).toBe("runta: unknown option '--al' (Did you mean --all?) — see runta ps --help\n");
    const flag = await cli(["exec", "--tyy", "worker", "--", "bash"]);
    expect(flag.err).toBe("runta: unknown option '--tyy' (Did you mean --tty?) — see runta exec --help\n");
    const cmd = await cli(["inspcet", "worker"]);
    expect(cmd.err).toBe("runta: unknown command 'inspcet' (Did you mean inspect?) — see runta --help\n");
    for (const [docker, runta] of [["start", "boot"], ["stop", "shutdown"], ["unpause", "resume"], ["images", "image ls"], ["rmi", "image rm"]]) {
      const r = await cli([docker, "worker"]);
      expect(r.code, docker).toBe(2);
      expect(r.err, docker).toMatch(new RegExp(`^runta: unknown command '${docker}'.* — runta calls it ${runta}; see runta --help\n$`));
    }
  });

  test("a command's flag given before the command says to put it after the command", async () => {
    const r = await cli(["--json", "ps"]);
    expect(r.code).toBe(2);
    expect(r.err).toBe(`${JSON.stringify({ error: { code: "usage", message: "unknown option '--json' — --json belongs to the command: put it after it, e.g. runta ps --json" } })}\n`);
    const a = await cli(["-a", "ps"]);
    expect(a.err).toBe("runta: unknown option '-a' — -a belongs to the command: put it after it, e.g. runta ps -a\n");
    expect((await cli(["--bogus", "ps"])).err).toBe("runta: unknown option '--bogus' — see runta ps --help\n");
  });

  test("exec without -- explains where the command goes", async () => {
    const r = await cli(["exec", "worker", "ls", "-la"], { client: { runtimes: [worker] } });
    expect(r.code).toBe(2);
    expect(r.err).toContain("put the command after --");
  });

  test("an unexpected error is one line without a stack trace", async () => {
    const c = fakeClient();
    c.runtimes.list = async () => {
      throw new TypeError("boom");
    };
    const r = await cli(["ps"], { client: c });
    expect(r.code).toBe(1);
    expect(r.err.trim().split("\n")).toHaveLength(1);
    expect(r.err).toContain("unexpected failure: boom");
    expect(r.err).not.toMatch(/\bat .*\.ts:\d+/);
  });

  test("with --json errors are {error:{code,message}} on stderr", async () => {
    const r = await cli(["inspect", "nope", "--json"]);
    expect(r.code).toBe(1);
    const line = r.err.trim().split("\n").pop()!;
    expect(JSON.parse(line)).toEqual({ error: { code: "not_found", message: expect.stringContaining('runtime "nope" not found') } });
  });

  test("--token warns that argv is visible", async () => {
    const r = await cli(["ps", "--token", "s3cret"]);
    expect(r.code).toBe(0);
    expect(r.err).toContain("--token is visible to other users");
    expect(r.err + r.out).not.toContain("s3cret");
  });
});

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
      [["--memory", "1"], 'runta: --memory must be a whole number of MiB between 16 and 262144, got "1"\n'],
      [["--memory", "999999"], 'runta: --memory must be a whole number of MiB between 16 and 262144, got "999999"\n'],
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

describe("ps", () => {
  const rows = { runtimes: [worker, stopped, { name: "evil\x1b[31mred\nline", id: "1b3d8a4e-5f8c-4d1a-9b7e-2c6f1a0e9d11" }] };

  test("without -a shows only running, paused and creating runtimes", async () => {
    const r = await cli(["ps"], { client: rows });
    expect(r.out).toContain("worker");
    expect(r.out).not.toContain("old");
    expect(r.client.calls.find((c) => c.method === "list")!.args[0]).toEqual({ status: ["creating", "running", "paused"] });
  });

  test("in a pipe: header, tab-separated full ids and ISO times", async () => {
    const r = await cli(["ps", "-a"], { client: rows });
    const lines = r.out.trim().split("\n");
    expect(lines[0]).toBe("RUNTIME ID\tNAME\tIMAGE\tSTATUS\tCPUS\tMEMORY\tCREATED");
    expect(lines).toContain(`${worker.id}\tworker\tdefault\trunning\t1\t1024MiB\t2026-01-01T00:02:00.000Z`);
    expect(lines.some((l) => l.startsWith(`${stopped.id}\told\tdefault\tshutdown`))).toBe(true);
  });

  test("on a TTY: borderless table, 12-character ids, relative times", async () => {
    const r = await cli(["ps", "-a"], { client: rows, tty: true, env: { NO_COLOR: "1" } });
    const lines = r.out.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^RUNTIME ID\s+NAME\s+IMAGE\s+STATUS\s+CPUS\s+MEMORY\s+CREATED$/);
    expect(r.out).toMatch(/0b3d8a4e5f8c\s+worker\s+default\s+running\s+1\s+1024MiB\s+3 minutes ago/);
    expect(r.out).not.toContain(worker.id);
    expect(r.out).not.toMatch(/[│┌─]/);
  });

  test("control characters from runtime data are escaped in tables, in both modes", async () => {
    for (const tty of [true, false]) {
      const r = await cli(["ps"], { client: rows, tty, env: { NO_COLOR: "1" } });
      expect(r.out).toContain("evil\\x1b[31mred\\nline");
      expect(r.out).not.toContain("\x1b");
    }
  });

  test("NO_COLOR and pipes get no ANSI escapes at all", async () => {
    expect((await cli(["ps", "-a"], { client: rows, tty: true, env: { NO_COLOR: "1" } })).out).not.toMatch(/\x1b\[/);
    expect((await cli(["run", "--name", "x"], { client: { images: [] }, tty: true, env: { NO_COLOR: "1" } })).err).not.toMatch(/\x1b\[/);
  });

  test("on a colour TTY the status is coloured; the same TTY with NO_COLOR is plain", async () => {
    const coloured = (await cli(["ps"], { client: rows, tty: true })).out;
    expect(coloured).toContain("\x1b[32mrunning\x1b[39m");
    // No padding left at the end of a line, not even hidden before the header's closing escape codes.
    for (const line of coloured.split("\n")) expect(line.replace(/\x1b\[[0-9;]*m/g, "")).toBe(line.replace(/\x1b\[[0-9;]*m/g, "").trimEnd());
    expect((await cli(["ps"], { client: rows, tty: true, env: { NO_COLOR: "1" } })).out).toContain("running");
  });

  test("on a TTY with colour, the create spinner draws on stderr only", async () => {
    const r = await cli(["run", "--name", "x"], { tty: true });
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^[0-9a-f-]{36}\n$/);
    expect(r.err).toContain("creating runtime x…");
  });

  test("-q prints full ids only; --json prints the raw API objects as an array", async () => {
    const q = await cli(["ps", "-a", "-q"], { client: rows, tty: true });
    expect(q.out.trim().split("\n")).toEqual([worker.id, stopped.id, rows.runtimes[2]!.id]);
    const j = await cli(["ps", "--json"], { client: { runtimes: [stopped] } });
    expect(JSON.parse(j.out)).toEqual([]);
    const all = JSON.parse((await cli(["ps", "-a", "--json"], { client: rows })).out);
    expect(all).toHaveLength(3);
    expect(all[0]).toMatchObject({ id: worker.id, name: "worker", status: "running", resources: { requests: { vcpus: 1, memory_mib: 1024 } } });
  });

  test("--filter status= narrows the list; a bad filter is a usage error", async () => {
    const r = await cli(["ps", "--filter", "status=shutdown", "-q"], { client: rows });
    expect(r.out).toBe(`${stopped.id}\n`);
    const bad = await cli(["ps", "--filter", "status=sleepy"], { client: rows });
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("use one of creating, running");
  });
});

describe("inspect", () => {
  test("prints a JSON array even for one runtime", async () => {
    const r = await cli(["inspect", "worker"], { client: { runtimes: [worker] } });
    expect(r.code).toBe(0);
    const parsed = JSON.parse(r.out);
    expect(Array.isArray(parsed)).toBe(true);
    expect(parsed[0]).toMatchObject({ id: worker.id, name: "worker" });
  });

  test("prints what it found, then one error line per missing runtime, exit 1", async () => {
    const r = await cli(["inspect", "worker", "ghost"], { client: { runtimes: [worker] } });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)).toHaveLength(1);
    expect(r.err).toBe('runta: runtime "ghost" not found — list them with runta ps -a\n');
  });
});

describe("exec", () => {
  const client = () => fakeClient({ runtimes: [worker, { ...stopped, name: "sleepy", status: "paused", id: "2b3d8a4e-5f8c-4d1a-9b7e-2c6f1a0e9d11" }] });

  test("the seed line passes argv after -- as is and writes output raw", async () => {
    const r = await cli(["exec", "worker", "--", "sh", "-lc", "pwd && python3 --version"], { client: fakeClient({ runtimes: [worker], exec: async () => ({ stdout: "/root\nPython 3.11.2\n", stderr: "warn\n" }) }) });
    expect(r.code).toBe(0);
    expect(r.out).toBe("/root\nPython 3.11.2\n");
    expect(r.err).toBe("warn\n");
    expect(r.client.calls.find((x) => x.method === "exec")!.args.slice(0, 2)).toEqual(["worker", ["sh", "-lc", "pwd && python3 --version"]]);
  });

  test("returns the remote exit code: plain, 126/127 and 128+n on signal", async () => {
    for (const code of [3, 126, 127, 137]) {
      const r = await cli(["exec", "worker", "--", "x"], { client: { runtimes: [worker], exec: async () => ({ exit_code: code }) } });
      expect(r.code).toBe(code);
    }
  });

  test("-e, -w and --timeout reach the API", async () => {
    const r = await cli(["exec", "-e", "APP_ENV=dev", "-w", "/tmp", "--timeout", "5", "worker", "--", "env"], { client: { runtimes: [worker] } });
    expect(r.client.calls.find((x) => x.method === "exec")!.args[2]).toEqual({ env: { APP_ENV: "dev" }, cwd: "/tmp", timeoutSecs: 5 });
    expect((await cli(["exec", "-w", "tmp", "worker", "--", "pwd"])).code).toBe(2);
  });

  test("--timeout beyond the API's maximum is a usage error naming the flag, not runta's failure", async () => {
    const r = await cli(["exec", "--timeout", "99999", "worker", "--", "true"], { client: { runtimes: [worker] } });
    expect(r.code).toBe(2);
    expect(r.err).toBe('runta: --timeout must be a number of seconds above 0 and at most 3600, got "99999"\n');
    expect(r.client.calls.some((c) => c.method === "exec")).toBe(false);
    expect((await cli(["exec", "--timeout", "0.5", "worker", "--", "true"], { client: { runtimes: [worker] } })).code).toBe(0);
  });

  test("truncation, timeout and OOM are warned about on stderr", async () => {
    const r = await cli(["exec", "worker", "--", "yes"], {
      client: { runtimes: [worker], exec: async () => ({ stdout: "y\n", stdout_truncated: true, timed_out: true, exit_code: 137 }) },
    });
    expect(r.code).toBe(137);
    expect(r.err).toContain("runta: warning: stdout truncated");
    expect(r.err).toContain("timed out");
  });

  test("runta's own failure is 125 (missing or paused runtime)", async () => {
    const missing = await cli(["exec", "ghost", "--", "true"], { client: client() });
    expect(missing.code).toBe(125);
    expect(missing.err).toContain('runtime "ghost" not found');
    const paused = await cli(["exec", "sleepy", "--", "true"], { client: client() });
    expect(paused.code).toBe(125);
    expect(paused.err).toContain("is paused");
  });

  test("Ctrl-C during a buffered exec says the command is killed with it, exit 130", async () => {
    const signals = new EventEmitter();
    const pending = cli(["exec", "--timeout", "90", "worker", "--", "sleep", "100"], {
      client: { runtimes: [worker], exec: () => new Promise(() => undefined) },
      deps: { signals },
    });
    await new Promise((r) => setTimeout(r, 20));
    signals.emit("SIGINT");
    const r = await pending;
    expect(r.code).toBe(130);
    expect(r.err).toBe("runta: interrupted — the command in worker is killed with its children\n");
    expect(signals.listenerCount("SIGINT")).toBe(0);
  });

  test("-t without a terminal on stdin is a usage error, exit 2", async () => {
    const r = await cli(["exec", "-t", "worker", "--", "bash"], { client: client() });
    expect(r.code).toBe(2);
    expect(r.err).toContain("the input device is not a TTY");
  });

  test("-it goes through the bridge with the terminal size and the local TERM, and returns its code", async () => {
    const handle = new EventEmitter() as unknown as ExecStreamHandle;
    let bridged: { tty: boolean; interactive: boolean } | undefined;
    const c = fakeClient({ runtimes: [worker], execStream: () => handle });
    const r = await cli(["exec", "-it", "worker", "--", "bash"], {
      client: c,
      tty: true,
      env: { TERM: "screen" },
      deps: {
        bridge: async (h, _io, o) => {
          expect(h).toBe(handle);
          bridged = o;
          return 42;
        },
      },
    });
    expect(r.code).toBe(42);
    expect(bridged).toMatchObject({ tty: true, interactive: true });
    expect(c.calls.find((x) => x.method === "execStream")!.args).toEqual([worker.id, ["bash"], { tty: true, rows: 40, cols: 120, env: { TERM: "screen" }, cwd: undefined }]);
  });

  test("--timeout with a streamed session is refused rather than ignored", async () => {
    const r = await cli(["exec", "-i", "--timeout", "5", "worker", "--", "cat"], { client: { runtimes: [worker] } });
    expect(r.code).toBe(2);
    expect(r.err).toContain("--timeout applies to plain exec only");
  });

  test("-i alone streams without a tty", async () => {
    const c = fakeClient({ runtimes: [worker], execStream: () => new EventEmitter() as unknown as ExecStreamHandle });
    const r = await cli(["exec", "-i", "worker", "--", "cat"], { client: c, deps: { bridge: async (_h, _io, o) => (o.tty ? 9 : 0) } });
    expect(r.code).toBe(0);
    expect(c.calls.find((x) => x.method === "execStream")!.args[2]).toMatchObject({ tty: false });
  });
});

describe("lifecycle verbs", () => {
  test("the seed sequence boot/pause/resume/shutdown/rm works and prints each name", async () => {
    const c = fakeClient({ runtimes: [worker] });
    for (const verb of ["shutdown", "boot", "pause", "resume", "shutdown", "rm"]) {
      const r = await cli([verb, "worker"], { client: c });
      expect(r.code, verb).toBe(0);
      expect(r.out, verb).toBe("worker\n");
    }
    expect(c.state.size).toBe(0);
  });

  test("keeps going past a missing runtime, then exits 1", async () => {
    const c = fakeClient({ runtimes: [worker, { ...worker, id: "3b3d8a4e-5f8c-4d1a-9b7e-2c6f1a0e9d11", name: "b2" }] });
    const r = await cli(["pause", "worker", "ghost", "b2"], { client: c });
    expect(r.code).toBe(1);
    expect(r.out).toBe("worker\nb2\n");
    expect(r.err).toBe('runta: runtime "ghost" not found — list them with runta ps -a\n');
  });

  test("accepts the short id ps shows on a terminal, and any unique id prefix", async () => {
    const c = fakeClient({ runtimes: [worker, stopped] });
    expect((await cli(["pause", "0b3d8a4e5f8c"], { client: c })).out).toBe("0b3d8a4e5f8c\n");
    expect(c.state.get(worker.id)!.status).toBe("paused");
    expect((await cli(["inspect", "7c1f"], { client: c })).out).toContain(stopped.id);
    expect((await cli(["exec", "0b3d8a4e-5f8c", "--", "true"], { client: { runtimes: [worker] } })).code).toBe(0);
  });

  test("an ambiguous prefix names the candidates; a name is never mistaken for a prefix", async () => {
    const twin = { ...worker, id: "0b3d8a4e-ffff-4d1a-9b7e-2c6f1a0e9d11", name: "twin" };
    const r = await cli(["pause", "0b3d"], { client: { runtimes: [worker, twin] } });
    expect(r.code).toBe(1);
    expect(r.err).toBe('runta: "0b3d" matches 2 runtimes (worker, twin) — give more characters of the id, or the name\n');
    const named = await cli(["pause", "abc"], { client: { runtimes: [{ ...worker, name: "abc" }, { ...stopped, id: "abcabcab-3d4e-4f5a-8b6c-9d0e1f2a3b4c", status: "running" }] } });
    expect(named.code).toBe(0);
    expect([...named.client.state.values()].find((x) => x.name === "abc")!.status).toBe("paused");
  });

  test("an empty runtime argument is refused before any request, and the other targets still run", async () => {
    const r = await cli(["rm", "", "worker"], { client: { runtimes: [worker] } });
    expect(r.code).toBe(1);
    expect(r.out).toBe("worker\n");
    expect(r.err).toBe('runta: runtime "" is empty — give a runtime name or id (see runta ps -a)\n');
    expect(r.client.calls.filter((c) => c.method === "delete").map((c) => c.args[0])).toEqual(["worker"]);
    const x = await cli(["exec", " ", "--", "true"], { client: { runtimes: [worker] } });
    expect(x.code).toBe(2);
    expect(x.client.calls.some((c) => c.method === "exec")).toBe(false);
  });

  test("an impossible transition reports the status, exit 1", async () => {
    const r = await cli(["pause", "old"], { client: { runtimes: [stopped] } });
    expect(r.code).toBe(1);
    expect(r.err).toBe('runta: cannot pause runtime "old": it is shutdown\n');
  });

  test("rm accepts -f and removes a runtime in any state", async () => {
    const r = await cli(["rm", "-f", "old", "worker"], { client: { runtimes: [worker, stopped] } });
    expect(r.code).toBe(0);
    expect(r.client.state.size).toBe(0);
  });
});

describe("resize", () => {
  test("the seed line resizes memory and prints the values read back", async () => {
    const r = await cli(["resize", "--memory", "4096", "worker"], { client: { runtimes: [worker] } });
    expect(r.code).toBe(0);
    expect(r.out).toBe("worker: memory 4096 MiB, cpus 1\n");
    expect(r.client.calls.find((c) => c.method === "resize")!.args).toEqual(["worker", { memoryMiB: 4096, vcpus: undefined }]);
  });

  test("needs --memory or --cpus", async () => {
    const r = await cli(["resize", "worker"], { client: { runtimes: [worker] } });
    expect(r.code).toBe(2);
    expect(r.err).toContain("resize needs --memory");
  });

  test("--json prints the updated runtime", async () => {
    const r = await cli(["resize", "--cpus", "0.5", "--json", "worker"], { client: { runtimes: [worker] } });
    expect(JSON.parse(r.out).resources.requests).toEqual({ vcpus: 0.5, memory_mib: 1024 });
  });
});

describe("image", () => {
  test("ls in a pipe and as JSON", async () => {
    const r = await cli(["image", "ls"]);
    expect(r.out.split("\n")[0]).toBe("NAME\tSIZE\tCREATED\tSOURCE\tUSED BY");
    expect(r.out).toContain("default\t150000000\t2026-01-01T00:00:00.000Z\tdebootstrap\t0");
    expect(JSON.parse((await cli(["image", "ls", "--json"])).out).map((i: { name: string }) => i.name)).toEqual(["default", "busybox"]);
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

describe("version", () => {
  test("prints client and server versions", async () => {
    const r = await cli(["version"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Client:\n  Version: \d+\.\d+\.\d+[\s\S]*Server:\n  Version: 0\.1\.0/);
  });

  test("a down daemon is reported, not an error", async () => {
    const r = await cli(["version", "--json"], {
      client: { version: async () => { throw apiErrorFromCode("unavailable", "cannot reach the runta daemon at http://127.0.0.1:1"); } },
    });
    expect(r.code).toBe(0);
    const v = JSON.parse(r.out);
    expect(v.server).toBeNull();
    expect(v.server_error).toContain("cannot reach");
  });
});

describe("config", () => {
  const cfgHome = mkdtempSync(join(tmpdir(), "runta-cfg-"));
  mkdirSync(join(cfgHome, ".config", "runta"), { recursive: true });
  writeFileSync(join(cfgHome, ".config", "runta", "config.json"), JSON.stringify({ endpoint: "http://file.example:1", token: "filetoken" }));
  afterAll(() => rmSync(cfgHome, { recursive: true, force: true }));

  test("flag > env > config file > default, each with its source", () => {
    const env = { HOME: cfgHome, RUNTA_ENDPOINT: "http://env.example:2", RUNTA_TOKEN: "envtoken" };
    const flag = resolveConfig({ endpoint: "http://flag.example:3", token: "flagtoken" }, env);
    expect(flag.endpoint).toMatchObject({ value: "http://flag.example:3", source: "flag" });
    expect(flag.token).toMatchObject({ value: "flagtoken", source: "flag" });
    const fromEnv = resolveConfig({}, env);
    expect(fromEnv.endpoint).toMatchObject({ source: "env", origin: "RUNTA_ENDPOINT" });
    expect(fromEnv.token).toMatchObject({ source: "env", origin: "RUNTA_TOKEN" });
    const fromFile = resolveConfig({}, { HOME: cfgHome });
    expect(fromFile.endpoint).toMatchObject({ value: "http://file.example:1", source: "config", origin: "~/.config/runta/config.json" });
    expect(fromFile.token?.value).toBe("filetoken");
    const none = resolveConfig({}, { HOME: home });
    expect(none.endpoint).toMatchObject({ value: "http://127.0.0.1:7420", source: "default" });
    expect(none.token).toBeUndefined();
    expect(none.local.tokenFile).toBe("/var/lib/runta/token");
    expect(resolveConfig({}, { HOME: home, RUNTA_DATA_DIR: "/tmp/x", RUNTA_LISTEN: "127.0.0.1:9" }).local).toMatchObject({
      endpoint: "http://127.0.0.1:9", tokenFile: "/tmp/x/token", pidFile: "/tmp/x/daemon.pid", logFile: "/tmp/x/daemon.log",
    });
  });

  test("the CLI hands the resolved config to the client factory and names the source in errors", async () => {
    let seen: ResolvedConfig | undefined;
    const io = testIO();
    const code = await run(["ps"], {
      io,
      env: { HOME: home, RUNTA_ENDPOINT: "http://127.0.0.1:1", RUNTA_TOKEN: "t" },
      client: (cfg) => {
        seen = cfg;
        const c = fakeClient();
        c.runtimes.list = async () => {
          throw apiErrorFromCode("unavailable", "cannot reach the runta daemon at http://127.0.0.1:1 (ECONNREFUSED): is it running?");
        };
        return c;
      },
    });
    expect(seen?.endpoint.source).toBe("env");
    expect(code).toBe(1);
    expect(io.err()).toContain("http://127.0.0.1:1 (from RUNTA_ENDPOINT)");
    expect(io.err()).not.toContain("t\n");
  });

  test("a rejected token is one line naming where the token came from and where the local daemon keeps its own", async () => {
    const denied = () => {
      const c = fakeClient();
      c.runtimes.list = async () => {
        throw apiErrorFromCode("unauthenticated", "invalid API token: use the token from <data-dir>/token (RUNTA_TOKEN or --token)");
      };
      return c;
    };
    const env = await cli(["ps"], { env: { RUNTA_ENDPOINT: "http://127.0.0.1:7420", RUNTA_TOKEN: "s3cret" }, deps: { client: denied } });
    expect(env.code).toBe(1);
    expect(env.err).toBe("runta: invalid API token (from RUNTA_TOKEN) — use the daemon's token (the local daemon keeps it in /var/lib/runta/token)\n");
    expect(env.err).not.toContain("s3cret");
    const local = await cli(["ps"], { deps: { client: denied } });
    expect(local.code).toBe(1);
    expect(local.err).toBe("runta: invalid API token (read from /var/lib/runta/token) — the daemon at http://127.0.0.1:7420 uses another token: set RUNTA_TOKEN\n");
  });

  test("an unreachable endpoint other than the local daemon's is not answered with 'runta daemon start'", async () => {
    const down = (msg: string) => () => {
      const c = fakeClient();
      c.runtimes.list = async () => {
        throw apiErrorFromCode("unavailable", msg);
      };
      return c;
    };
    const remote = await cli(["ps"], {
      env: { RUNTA_ENDPOINT: "http://10.0.0.9:7420", RUNTA_TOKEN: "t" },
      deps: { client: down("cannot reach the runta daemon at http://10.0.0.9:7420 (ECONNREFUSED): is it running? start it with 'runta daemon start'") },
    });
    expect(remote.code).toBe(1);
    expect(remote.err).toBe("runta: cannot reach the runta daemon at http://10.0.0.9:7420 (from RUNTA_ENDPOINT) (ECONNREFUSED): is a runta daemon running there? check the endpoint\n");
    const local = await cli(["ps"], {
      env: { RUNTA_ENDPOINT: "http://127.0.0.1:7420", RUNTA_TOKEN: "t" },
      deps: { client: down("cannot reach the runta daemon at http://127.0.0.1:7420 (ECONNREFUSED): is it running? start it with 'runta daemon start'") },
    });
    expect(local.err).toContain("start it with 'runta daemon start'");
  });

  test("a bad endpoint or config file says where it came from", async () => {
    const r = await cli(["ps"], { env: { RUNTA_ENDPOINT: "ftp://x" }, deps: { client: () => fakeClient({}) } });
    expect(r.code).toBe(1);
    expect(r.err).toContain('endpoint "ftp://x" (from RUNTA_ENDPOINT) must be http:// or https://');
    const bad = mkdtempSync(join(tmpdir(), "runta-cfg-bad-"));
    mkdirSync(join(bad, ".config", "runta"), { recursive: true });
    writeFileSync(join(bad, ".config", "runta", "config.json"), "{nope");
    const b = await cli(["ps"], { env: { HOME: bad }, deps: { client: () => fakeClient({}) } });
    expect(b.code).toBe(1);
    expect(b.err).toContain("config.json is not valid JSON");
    rmSync(bad, { recursive: true, force: true });
  });
});

describe("embedded daemon preconditions", () => {
  // Nothing configured and nothing answering on the (hidden, test-only) local address: the CLI would start a daemon.
  const local = (extra: NodeJS.ProcessEnv) => ({ HOME: home, RUNTA_DATA_DIR: join(home, "data"), RUNTA_LISTEN: "127.0.0.1:1", ...extra });

  test("not root: a clear error with the fix, nothing spawned", async () => {
    const io = testIO();
    const code = await run(["ps"], { io, env: local({ PATH: process.env.PATH }), isRoot: () => false });
    expect(code).toBe(1);
    expect(io.err()).toBe("runta: runta needs root to run runtimes — try sudo runta …, or point RUNTA_ENDPOINT/RUNTA_TOKEN at a running daemon\n");
  });

  test("runc missing: says which package to install", async () => {
    const io = testIO();
    const code = await run(["ps"], { io, env: local({ PATH: join(home, "empty-bin") }), isRoot: () => true });
    expect(code).toBe(1);
    expect(io.err()).toBe("runta: runc is not installed — install it with: apt-get install runc catatonit\n");
  });

  test("commands that must not start a daemon say how to start one", async () => {
    const io = testIO();
    expect(await run(["version"], { io, env: local({}), isRoot: () => true })).toBe(0);
    expect(io.out()).toContain("unavailable: no runta daemon answers at http://127.0.0.1:1 (the local default) — start one with runta daemon start");
  });
});

describe("output helpers", () => {
  test("relative times read like docker's", () => {
    const at = (secs: number) => new Date(NOW.getTime() - secs * 1000).toISOString();
    expect(relativeTime(at(0), NOW)).toBe("Less than a second ago");
    expect(relativeTime(at(30), NOW)).toBe("30 seconds ago");
    expect(relativeTime(at(70), NOW)).toBe("About a minute ago");
    expect(relativeTime(at(180), NOW)).toBe("3 minutes ago");
    expect(relativeTime(at(2 * 3600), NOW)).toBe("2 hours ago");
    expect(relativeTime(at(3 * 86400), NOW)).toBe("3 days ago");
  });

  test("escapeControl makes control characters visible", () => {
    expect(escapeControl("a\tb\nc\x1b[0m\x7f")).toBe("a\\tb\\nc\\x1b[0m\\x7f");
  });
});
