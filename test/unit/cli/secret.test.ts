import { describe, expect, test } from "vitest";
import { cli, worker } from "../../helpers/cli-harness.js";
import { fakeClient } from "../../helpers/fake-client.js";

const values = (c: { secrets: unknown }) => (c.secrets as { values: Map<string, string> }).values;

describe("secret", () => {
  test("set takes the value from exactly one of --value-env, --value-stdin, --prompt, and never prints it", async () => {
    const env = await cli(["secret", "set", "API_KEY", "--value-env", "MY_KEY"], { env: { MY_KEY: "sk-env-123" } });
    expect(env.code).toBe(0);
    expect(env.out).toBe("API_KEY created\n");
    expect(values(env.client).get("API_KEY")).toBe("sk-env-123");
    // What the client was called with: the name only (the fake records no value).
    expect(JSON.stringify(env.client.calls)).not.toContain("sk-env-123");

    const stdin = await cli(["secret", "set", "API_KEY", "--value-stdin"], { input: "sk-stdin-456\n" });
    expect(values(stdin.client).get("API_KEY")).toBe("sk-stdin-456");

    const client = fakeClient();
    await cli(["secret", "set", "API_KEY", "--value-env", "K"], { client, env: { K: "one" } });
    const rotated = await cli(["secret", "set", "API_KEY", "--value-env", "K"], { client, env: { K: "two" } });
    expect(rotated.out).toBe("API_KEY updated (the next request gets the new value)\n");
  });

  test("set refuses no source, two sources, an unset variable, an empty or oversized value, a bad name: usage errors, nothing sent", async () => {
    const cases: Array<[string[], Record<string, string>, string | undefined, RegExp]> = [
      [["secret", "set", "K"], {}, undefined, /one of --value-env VAR, --value-stdin or --prompt \(never as an argument\)/],
      [["secret", "set", "K", "--value-env", "X", "--value-stdin"], { X: "v" }, "v", /give only one of --value-env, --value-stdin/],
      [["secret", "set", "K", "--value-env", "UNSET"], {}, undefined, /UNSET is not set/],
      [["secret", "set", "K", "--value-stdin"], {}, "\n", /value is empty/],
      [["secret", "set", "K", "--value-stdin"], {}, "x".repeat(20000), /20000 bytes; at most 16384 bytes \(16 KiB\)/],
      [["secret", "set", "K", "--value-stdin"], {}, "a\nb", /line break/],
      [["secret", "set", "9LIVES", "--value-env", "X"], { X: "v" }, undefined, /environment variable's name/],
      [["secret", "set", "PATH", "--value-env", "X"], { X: "v" }, undefined, /reserved/],
      [["secret", "set", "K", "--prompt"], {}, undefined, /--prompt needs a terminal on stdin; pipe the value with --value-stdin/],
    ];
    for (const [args, env, input, message] of cases) {
      const r = await cli(args, { env, input });
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.err, args.join(" ")).toMatch(message);
      expect(r.err).not.toContain("xxxxxxxx");
      expect(r.client.calls.some((c) => c.method === "secrets.set")).toBe(false);
    }
  });

  test("--prompt reads without echo on a terminal; backspace edits, Ctrl-C ends with 130 and sends nothing", async () => {
    const client = fakeClient();
    const io = cli(["secret", "set", "API_KEY", "--prompt"], { client, stdinTTY: true, input: "sk-typo\x7f\x7f\x7f\x7fpromptd\r" });
    const r = await io;
    expect(r.code).toBe(0);
    expect(values(client).get("API_KEY")).toBe("sk-promptd");
    expect(r.err).toBe("Value of API_KEY: \n");
    expect(r.out).not.toContain("sk-");
    const cancelled = await cli(["secret", "set", "OTHER", "--prompt"], { client, stdinTTY: true, input: "abc\x03" });
    expect(cancelled.code).toBe(130);
    expect(values(client).has("OTHER")).toBe(false);
  });

  test("ls --json is {\"secrets\": [...]}; describe names the stub and the rules; rm", async () => {
    const client = fakeClient({ runtimes: [worker] });
    await cli(["secret", "set", "API_KEY", "--value-env", "K"], { client, env: { K: "sk-1" } });
    const ls = await cli(["secret", "ls", "--json"], { client });
    expect(JSON.parse(ls.out)).toEqual({ secrets: [expect.objectContaining({ id: "sec_1", display_name: "API_KEY", created_at: expect.any(String) })] });
    expect(ls.out).not.toContain("sk-1");
    const d = await cli(["secret", "describe", "API_KEY"], { client });
    expect(d.out).toContain("Inside:   $API_KEY=runta-secret-stub in every runtime");
    const rm = await cli(["secret", "rm", "API_KEY"], { client });
    expect(rm.out).toBe("API_KEY\n");
    expect((await cli(["secret", "rm", "API_KEY"], { client })).code).toBe(1);
  });

  test("rule set/ls/rm in Runta's form; bad templates, headers and hosts are usage errors", async () => {
    const client = fakeClient({ runtimes: [worker] });
    await cli(["secret", "set", "API_KEY", "--value-env", "K"], { client, env: { K: "sk-1" } });
    const set = await cli(["secret", "rule", "set", "worker", "--secret", "API_KEY", "--host", "api.openai.com", "--path", "/v1/*", "--header", "Authorization", "--template", "Bearer ${secret}"], { client });
    expect(set.code).toBe(0);
    expect(set.out).toBe("worker: API_KEY → Authorization for https://api.openai.com/v1/*\n");
    expect(client.calls.find((c) => c.method === "secrets.setRule")!.args).toEqual(["worker", { secret: "API_KEY", host: "api.openai.com", path: "/v1/*", header: "Authorization", template: "Bearer ${secret}", allow_http: undefined }]);
    const ls = await cli(["secret", "rule", "ls", "worker", "--json"], { client });
    expect(JSON.parse(ls.out)).toEqual({ rules: [expect.objectContaining({ host: "api.openai.com", header: "Authorization", allow_http: false })] });
    const rm = await cli(["secret", "rule", "rm", "worker", "--host", "api.openai.com", "--header", "authorization"], { client });
    expect(rm.out).toBe("worker: removed api.openai.com Authorization\n");

    const base = ["secret", "rule", "set", "worker", "--secret", "API_KEY", "--host", "api.x.com", "--header", "Authorization"];
    for (const [args, message] of [
      [[...base, "--template", "Bearer"], /exactly once \(it holds it not at all\)/],
      [[...base, "--template", "${secret}${secret}"], /2 times/],
      [["secret", "rule", "set", "worker", "--secret", "API_KEY", "--host", "*.x.com", "--header", "A", "--template", "${secret}"], /one hostname/],
      [["secret", "rule", "set", "worker", "--secret", "API_KEY", "--host", "x.com", "--header", "Bad:Header", "--template", "${secret}"], /not a valid header name/],
      [["secret", "rule", "set", "worker", "--secret", "API_KEY", "--host", "x.com", "--header", "Host", "--template", "${secret}"], /cannot be rewritten/],
      [[...base, "--template", "${secret}", "--path", "v1"], /must start with \//],
    ] as Array<[string[], RegExp]>) {
      const r = await cli(args, { client });
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.err).toMatch(message);
    }
  });
});
