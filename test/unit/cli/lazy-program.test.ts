/**
 * Start-up work a command does not need is not done. The command tree is built lazily: an invocation defines only the command it runs (program.ts COMMANDS), so the
 * table of names and aliases must match the commands' own definitions, and what one command shows (help, errors)
 * must not depend on whether its siblings were loaded.
 */
import type { Command } from "commander";
import { describe, expect, test } from "vitest";
import { createContext } from "../../../src/cli/context.js";
import { run } from "../../../src/cli/main.js";
import { buildProgram, COMMAND_NAMES } from "../../../src/cli/program.js";
import { processIO } from "../../../src/cli/io.js";
import { testIO } from "../../helpers/cli.js";
import { fakeClient } from "../../helpers/fake-client.js";
import { worker } from "../../helpers/cli-harness.js";

const names = (p: Command) => p.commands.map((c) => c.name());
const program = (argv?: string[]) => buildProgram(createContext({ io: testIO(), env: {} }), argv);

describe("lazy command tree", () => {
  test("the table names every command with its aliases and hidden flag, in help's order", async () => {
    const full = await program();
    expect(full.commands.map((c) => ({ name: c.name(), aliases: c.aliases(), hidden: (c as unknown as { _hidden: boolean })._hidden }))).toEqual(
      COMMAND_NAMES.map((c) => ({ name: c.name, aliases: [...c.aliases], hidden: c.hidden })),
    );
  });

  test("a command word (after the global flags, or an alias) builds that command alone", async () => {
    expect(names(await program(["exec", "rt", "--", "true"]))).toEqual(["exec"]);
    expect(names(await program(["--endpoint", "http://127.0.0.1:1", "--token=t", "ps", "-a"]))).toEqual(["ps"]);
    expect(names(await program(["ls"]))).toEqual(["ps"]);
    expect(names(await program(["snapshot", "ls"]))).toEqual(["checkpoint"]);
    expect(names(await program(["__complete", "runtimes"]))).toEqual(["__complete"]);
  });

  test("no command, help, completion, an unknown word or a word after -- build every command", async () => {
    const all = COMMAND_NAMES.length;
    for (const argv of [[], ["--help"], ["help", "exec"], ["completion", "bash"], ["stat"], ["--", "exec"], ["--endpoint", "exec"]]) {
      expect((await program(argv)).commands, argv.join(" ")).toHaveLength(all);
    }
  });

  test("a command's help is the same whether its siblings were built or not", async () => {
    for (const path of [["exec"], ["ps"], ["image", "ls"], ["run"]]) {
      const help = async (p: Command) => {
        let cmd = p;
        for (const word of path) cmd = cmd.commands.find((c) => c.name() === word)!;
        return cmd.helpInformation();
      };
      expect(await help(await program(path)), path.join(" ")).toBe(await help(await program()));
    }
  });

  test("through run(): a mistyped flag of a lazily built command is still a usage error naming its help", async () => {
    const io = testIO();
    const code = await run(["exec", "--bogus", "rt", "--", "true"], { io, env: {} });
    expect(code).toBe(2);
    expect(io.err()).toContain("unknown option '--bogus'");
    const io2 = testIO();
    expect(await run(["ls", "--nope"], { io: io2, env: {} })).toBe(2);
    expect(io2.err()).toContain("see runta ps --help");
  });
});

describe("process streams are made on first use", () => {
  test("processIO hands out each process stream when first asked, and says so once", () => {
    const opened: string[] = [];
    const io = processIO((name) => opened.push(name));
    expect(opened).toEqual([]);
    expect(io.stderr).toBe(process.stderr);
    expect(io.stderr).toBe(process.stderr);
    expect(opened).toEqual(["stderr"]);
  });

  test("a plain exec that prints nothing never asks for stdout or stderr; one that prints, for the one it prints to", async () => {
    const asked = (out: string) => {
      const real = testIO();
      const names: string[] = [];
      const io = {
        get stdin() {
          return real.stdin;
        },
        get stdout() {
          names.push("stdout");
          return real.stdout;
        },
        get stderr() {
          names.push("stderr");
          return real.stderr;
        },
      };
      return { io, names, real, out };
    };
    const quiet = asked("");
    expect(await run(["exec", "worker", "--", "true"], { io: quiet.io, env: {}, client: fakeClient({ runtimes: [worker] }) })).toBe(0);
    expect(quiet.names).toEqual([]);
    const loud = asked("hi\n");
    const client = fakeClient({ runtimes: [worker], execRun: async () => ({ stdout: "hi\n" }) });
    expect(await run(["exec", "worker", "--", "echo", "hi"], { io: loud.io, env: {}, client })).toBe(0);
    expect([...new Set(loud.names)]).toEqual(["stdout"]);
    expect(loud.real.out()).toBe("hi\n");
  });
});
