/**
 * A command runc started but whose execve failed (runc init prints `exec <path>: <error>` and exits 1) reports what a
 * shell would: 126 for a file that is not a valid executable, 127 for a missing interpreter — buffered through the API
 * and streamed through the CLI. Arguments no program can receive (a NUL byte, one past the kernel's 128 KiB) are
 * refused before anything runs.
 */
import { beforeAll, expect, test } from "vitest";
import { runtaBin } from "../helpers/cli.js";
import { daemonSuite } from "../helpers/daemon-suite.js";

const d = daemonSuite().daemon;

beforeAll(async () => {
  const runta = d.client();
  await runta.runtimes.create("fails", { image: "busybox", memoryMiB: 64 });
  // An ELF header with nothing behind it, a file of zeros, and a script whose interpreter does not exist.
  await runta.runtimes.exec("fails", ["sh", "-c", "printf '\\177ELF\\002\\001\\001junk' > /bad-elf; head -c 64 /dev/zero > /zeros; printf '#!/nowhere\\n' > /bad-interp; chmod +x /bad-elf /zeros /bad-interp"]);
});

test.each([
  ["/bad-elf", 126, "exec format error"],
  ["/zeros", 126, "exec format error"],
  ["/bad-interp", 127, "no such file or directory"],
])("buffered: %s exits %i (%s)", async (path, code, why) => {
  const out = await d.client().runtimes.exec("fails", [path]);
  expect(out.exit_code).toBe(code);
  expect(out.stderrText).toBe(`runta: ${path}: ${why}\n`);
});

test("streamed (plain runta exec): the same exit codes", async () => {
  const elf = await runtaBin(["exec", "fails", "--", "/bad-elf"], { env: d.env });
  expect(elf.exitCode).toBe(126);
  expect(elf.stderr).toContain("exec format error");
  const interp = await runtaBin(["exec", "fails", "--", "/bad-interp"], { env: d.env });
  expect(interp.exitCode).toBe(127);
  // A command that prints such a line itself among other output keeps its own status.
  const own = await runtaBin(["exec", "fails", "--", "sh", "-c", "echo out; echo 'exec /x: exec format error' >&2; exit 1"], { env: d.env });
  expect(own.exitCode).toBe(1);
});

test("an argument with a NUL byte, or longer than the kernel takes, is refused before anything runs", async () => {
  const runta = d.client();
  await expect(runta.runtimes.exec("fails", ["echo", "a\0b"])).rejects.toMatchObject({ code: "invalid_argument", message: expect.stringContaining("NUL") });
  await expect(runta.runtimes.exec("fails", ["echo", "a".repeat(131072)])).rejects.toMatchObject({
    code: "invalid_argument",
    message: expect.stringContaining("131071 bytes"),
  });
  expect((await runta.runtimes.exec("fails", ["sh", "-c", 'echo ${#1}', "x", "a".repeat(131072 - 1)])).stdoutText).toBe("131071\n");
});
