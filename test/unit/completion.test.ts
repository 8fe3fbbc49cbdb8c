import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Command } from "commander";
import { afterAll, describe, expect, test } from "vitest";
import { createContext } from "../../src/cli/context.js";
import { buildProgram } from "../../src/cli/program.js";
import { completionScript, SHELLS } from "../../src/cli/completion.js";
import { run } from "../../src/cli/main.js";
import { fakeClient } from "../helpers/fake-client.js";
import { testIO } from "../helpers/cli.js";

const program = await buildProgram(createContext({ io: testIO(), env: {} }));
const FILES = { bash: "completions/runta.bash", zsh: "completions/_runta", fish: "completions/runta.fish" } as const;

/** Every visible command path and the long flags it declares. */
function walk(cmd: Command, path: string[] = []): { path: string[]; longs: string[] }[] {
  return cmd.commands
    .filter((c) => !c.name().startsWith("__"))
    .flatMap((c) => [{ path: [...path, c.name()], longs: c.options.map((o) => o.long!).filter(Boolean) }, ...walk(c, [...path, c.name()])]);
}

describe("completion scripts", () => {
  const tree = walk(program);

  test("the tree is what we expect to complete", () => {
    expect(tree.map((n) => n.path.join(" "))).toEqual(expect.arrayContaining(["run", "ps", "exec", "image ls", "daemon status", "apply", "delete", "completion"]));
  });

  for (const shell of SHELLS) {
    test(`${shell}: every command, subcommand and long flag appears`, () => {
      const script = completionScript(program, shell);
      for (const node of tree) {
        expect(script, node.path.join(" ")).toMatch(new RegExp(`(^|[\\s'"(])${node.path.at(-1)}[)\\s:'"]`));
        for (const long of node.longs) {
          const word = shell === "fish" ? `-l ${long.slice(2)}` : long;
          expect(script, `${node.path.join(" ")} ${long}`).toContain(word);
        }
      }
      expect(script).toContain("runta __complete runtimes");
    });

    test(`${shell}: the committed file equals \`runta completion ${shell}\``, async () => {
      const io = testIO();
      expect(await run(["completion", shell], { io, client: fakeClient() })).toBe(0);
      expect(readFileSync(FILES[shell], "utf8")).toBe(io.out());
    });
  }

  test("an unknown shell is a usage error", async () => {
    const io = testIO();
    expect(await run(["completion", "tcsh"], { io, client: fakeClient() })).toBe(2);
    expect(io.err()).toContain("tcsh");
  });
});

describe("bash completion behaves", () => {
  const dir = mkdtempSync(join(tmpdir(), "runta-compl-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // A stand-in `runta` on PATH answers `__complete runtimes` like the real CLI would.
  writeFileSync(join(dir, "runta"), '#!/bin/sh\n[ "$1 $2" = "__complete runtimes" ] && printf "worker\\nweb\\n"\n');
  chmodSync(join(dir, "runta"), 0o755);

  const complete = (words: string[]): string[] => {
    const script = `source ${JSON.stringify(join(process.cwd(), FILES.bash))}
COMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _runta; printf '%s\\n' "\${COMPREPLY[@]}"`;
    return execFileSync("bash", ["-c", script], { env: { PATH: `${dir}:${process.env.PATH}` }, encoding: "utf8" }).split("\n").filter(Boolean);
  };

  test("commands, flags, subcommands and runtime names", () => {
    expect(complete(["runta", "pa"])).toEqual(["pause"]);
    expect(complete(["runta", "ps", "--a"])).toEqual(["--all"]);
    expect(complete(["runta", "image", "b"])).toEqual(["build"]);
    expect(complete(["runta", "pause", "w"]).sort()).toEqual(["web", "worker"]);
    expect(complete(["runta", "resize", "--memory", "4096", "wo"])).toEqual(["worker"]);
    expect(complete(["runta", "completion", "z"])).toEqual(["zsh"]);
  });

  test("exec and resize take one runtime: names are offered for it, not for the words after it", () => {
    expect(complete(["runta", "exec", "-it", "wo"])).toEqual(["worker"]);
    expect(complete(["runta", "exec", "worker", ""])).toEqual([]);
    expect(complete(["runta", "exec", "-e", "A=1", "worker", "w"])).toEqual([]);
    expect(complete(["runta", "resize", "--memory", "4096", "worker", ""])).toEqual([]);
    expect(complete(["runta", "rm", "worker", "w"]).sort()).toEqual(["web", "worker"]);
  });

  test("a flag's value is skipped per command: -t takes one on shutdown, not on exec; -f on ps, not on rm; aliases complete", () => {
    expect(complete(["runta", "shutdown", "-t", ""])).toEqual([]);
    expect(complete(["runta", "shutdown", "-t", "5", "wo"])).toEqual(["worker"]);
    expect(complete(["runta", "exec", "-t", "wo"])).toEqual(["worker"]);
    expect(complete(["runta", "rm", "-f", "wo"])).toEqual(["worker"]);
    expect(complete(["runta", "ls", "--a"])).toEqual(["--all"]);
    expect(complete(["runta", "snapshot", "r"]).sort()).toEqual(["restore", "rm"]);
  });

  test("the hidden __complete lists names quietly, even without a daemon", async () => {
    const io = testIO();
    expect(await run(["__complete", "runtimes"], { io, client: fakeClient({ runtimes: [{ name: "a" }, { name: "b", status: "shutdown" }] }) })).toBe(0);
    expect(io.out()).toBe("a\nb\n");
    const down = fakeClient();
    down.runtimes.list = async () => {
      throw new Error("connection refused");
    };
    const io2 = testIO();
    expect(await run(["__complete", "runtimes"], { io: io2, client: down })).toBe(0);
    expect(io2.out() + io2.err()).toBe("");
  });
});
