/** Host facts read from the real machine: cores, memory, kernel, boot id, and the runc version (real, missing, broken). */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { bootId, hostCores, hostMemoryMib, kernelVersion, runcVersion } from "../../src/engine/host.js";

const tmp = mkdtempSync("/tmp/runta-test-host-");
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

test("cores, memory and kernel match what the OS reports", () => {
  expect(hostCores()).toBe(os.availableParallelism());
  expect(hostMemoryMib()).toBe(Math.floor(os.totalmem() / 1024 / 1024));
  expect(kernelVersion()).toBe(execFileSync("uname", ["-r"], { encoding: "utf8" }).trim());
});

test("the boot id is the kernel's UUID and stays the same", () => {
  expect(bootId()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  expect(bootId()).toBe(bootId());
});

test("runcVersion reads the installed runc's version", async () => {
  const expected = /runc version (\S+)/.exec(execFileSync("runc", ["--version"], { encoding: "utf8" }))![1];
  expect(await runcVersion("runc")).toBe(expected);
});

test("a missing or broken runc is unavailable with the fix, and is not cached", async () => {
  const fake = join(tmp, "runc");
  await expect(runcVersion(fake)).rejects.toMatchObject({
    code: "unavailable",
    message: expect.stringMatching(/runc at .* was not found; install it with 'apt-get install runc'/),
  });
  writeFileSync(fake, "#!/bin/sh\necho 'segfault' >&2\nexit 2\n");
  chmodSync(fake, 0o755);
  await expect(runcVersion(fake)).rejects.toMatchObject({ code: "unavailable", message: expect.stringMatching(/failed: segfault/) });
  writeFileSync(fake, "#!/bin/sh\necho 'hello'\n");
  await expect(runcVersion(fake)).rejects.toMatchObject({ message: expect.stringMatching(/printed no version/) });
  writeFileSync(fake, "#!/bin/sh\necho 'runc version 9.9.9'\n");
  expect(await runcVersion(fake)).toBe("9.9.9");
});
