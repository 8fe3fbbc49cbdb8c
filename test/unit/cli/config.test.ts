import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { run } from "../../../src/cli/main.js";
import { resolveConfig, type ResolvedConfig } from "../../../src/client/config.js";
import { apiErrorFromCode } from "../../../src/client/errors.js";
import { fakeClient } from "../../helpers/fake-client.js";
import { testIO } from "../../helpers/cli.js";
import { cli, home } from "../../helpers/cli-harness.js";

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
