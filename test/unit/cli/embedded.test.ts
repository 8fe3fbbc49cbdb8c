import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { run } from "../../../src/cli/main.js";
import { testIO } from "../../helpers/cli.js";
import { home } from "../../helpers/cli-harness.js";

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
