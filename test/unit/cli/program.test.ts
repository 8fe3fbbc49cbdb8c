import { describe, expect, test } from "vitest";
import { fakeClient } from "../../helpers/fake-client.js";
import { cli, worker } from "../../helpers/cli-harness.js";

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
    // With `--` given, an unknown option is runta's own mistake, not the remote command's flag.
    expect((await cli(["exec", "-x", "worker", "--", "ls"])).err).toBe("runta: unknown option '-x' — see runta exec --help\n");
    expect((await cli(["exec", "worker", "ls", "-la"])).err).toBe("runta: unknown option '-la' — put the command after --, e.g. runta exec <runtime> -- ls -la\n");
    const cmd = await cli(["inspcet", "worker"]);
    expect(cmd.err).toBe("runta: unknown command 'inspcet' (Did you mean inspect?) — see runta --help\n");
    for (const [docker, runta] of [["start", "boot"], ["stop", "shutdown"], ["unpause", "resume"], ["images", "image ls"], ["rmi", "image rm"]]) {
      const r = await cli([docker, "worker"]);
      expect(r.code, docker).toBe(2);
      expect(r.err, docker).toBe(`runta: unknown command '${docker}' — runta calls it ${runta}: see runta ${runta} --help\n`);
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
