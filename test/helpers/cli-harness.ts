/**
 * The in-process CLI harness of the unit tests under test/unit/cli/: `cli()` runs `run()` with buffered IO, a fake
 * client, a private HOME (removed after the file) and a fixed clock; `worker` and `stopped` are the usual runtimes.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";
import { run, type CliDeps } from "../../src/cli/main.js";
import { fakeClient, type FakeClient, type FakeClientOptions } from "./fake-client.js";
import { testIO } from "./cli.js";

/** The clock every in-process run sees. */
export const NOW = new Date("2026-01-01T00:05:00.000Z");
/** A HOME of this test file's own, so no developer config leaks in. */
export const home = mkdtempSync(join(tmpdir(), "runta-cli-test-"));
afterAll(() => rmSync(home, { recursive: true, force: true }));

/** Runs the CLI in-process; resolves with its exit code, what it wrote, and the (fake) client it used. */
export async function cli(
  args: string[],
  opts: { client?: FakeClient | FakeClientOptions; tty?: boolean; stdinTTY?: boolean; env?: NodeJS.ProcessEnv; deps?: Partial<CliDeps>; input?: string } = {},
) {
  const io = testIO({ tty: opts.tty, stdinTTY: opts.stdinTTY });
  if (opts.input !== undefined) io.input(opts.input);
  const client = opts.client && "calls" in opts.client ? opts.client : fakeClient(opts.client as FakeClientOptions);
  const code = await run(args, { io, client, env: { HOME: home, PATH: process.env.PATH, ...opts.env }, now: () => NOW, ...opts.deps });
  return { code, out: io.out(), err: io.err(), client };
}

/** A running runtime. */
export const worker = { id: "0b3d8a4e-5f8c-4d1a-9b7e-2c6f1a0e9d11", name: "worker", created_at: "2026-01-01T00:02:00.000Z" };
/** A shut-down runtime. */
export const stopped = { id: "7c1f0a2b-3d4e-4f5a-8b6c-9d0e1f2a3b4c", name: "old", status: "shutdown" as const };
