/**
 * `runta secret` end to end: the built `bin/runta.js` against the real daemon (a busybox runtime); `--prompt` under a
 * real pseudo-terminal. The value is read back from the daemon's sealed store (with its key, as the daemon would) to
 * show each input form delivered it exactly; it never appears in argv, output, or on the terminal.
 */
import Database from "better-sqlite3";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { beforeAll, expect, test } from "vitest";
import { SecretStore } from "../../src/engine/secrets/store.js";
import { RUNTA_BIN, runtaBin } from "../helpers/cli.js";
import { daemonSuite } from "../helpers/daemon-suite.js";
import { terminal } from "../helpers/terminal.js";

const suite = daemonSuite();
const d = suite.daemon;
let rt = "";
let home: string;
const env = () => ({ ...d.env, HOME: home, XDG_CONFIG_HOME: undefined });
const runta = (args: string[], opts: { input?: string; env?: Record<string, string> } = {}) => runtaBin(args, { env: { ...env(), ...opts.env }, input: opts.input });

/** The value the daemon holds for `name`, opened with its key. */
function stored(name: string): string | null {
  const db = new Database(join(d.dataDir, "runta.db"), { readonly: true });
  try {
    return new SecretStore(db, d.dataDir).value(name);
  } finally {
    db.close();
  }
}

beforeAll(async () => {
  home = suite.scratch;
  rt = `sec-${randomBytes(3).toString("hex")}`;
  await d.client().runtimes.create(rt, { image: "busybox", vcpus: 0.5, memoryMiB: 128 });
});


test("set from the environment, stdin and a hidden prompt; the runtime sees only the stub", async () => {
  const fromEnv = await runta(["secret", "set", "E2E_KEY", "--value-env", "SRC"], { env: { SRC: "e2e-value-one" } });
  expect(fromEnv.exitCode, String(fromEnv.stderr)).toBe(0);
  expect(fromEnv.stdout).toBe("E2E_KEY created\n");
  expect(stored("E2E_KEY")).toBe("e2e-value-one");

  const fromStdin = await runta(["secret", "set", "E2E_KEY", "--value-stdin"], { input: "e2e-value-two\n" });
  expect(fromStdin.stdout).toBe("E2E_KEY updated (the next request gets the new value)\n");
  expect(stored("E2E_KEY")).toBe("e2e-value-two");

  const t = terminal(`node ${RUNTA_BIN} secret set E2E_KEY --prompt`, { env: { ...env(), NO_COLOR: "1" } as Record<string, string> });
  await t.until(/Value of E2E_KEY: /);
  t.p.write("e2e-value-three\r");
  expect(await t.exited).toBe(0);
  expect(t.text()).toContain("E2E_KEY updated");
  expect(t.text()).not.toContain("e2e-value-three");
  expect(stored("E2E_KEY")).toBe("e2e-value-three");

  const inside = await runta(["exec", rt, "--", "sh", "-c", "echo $E2E_KEY"]);
  expect(inside.stdout).toBe("runta-secret-stub\n");

  const ls = await runta(["secret", "ls", "--json"]);
  const listed = JSON.parse(String(ls.stdout)) as { secrets: Array<Record<string, unknown>> };
  expect(listed.secrets).toEqual([expect.objectContaining({ id: expect.stringMatching(/^sec_/), display_name: "E2E_KEY", created_at: expect.any(String) })]);
  expect(String(ls.stdout)).not.toContain("e2e-value");
  const describe = await runta(["secret", "describe", "E2E_KEY"]);
  expect(describe.stdout).toContain("Inside:   $E2E_KEY=runta-secret-stub in every runtime");
});

test("rules in Runta's form; rm of a secret in use is refused naming the rule; bad input exits 2", async () => {
  const set = await runta(["secret", "rule", "set", rt, "--secret", "E2E_KEY", "--host", "api.example.com", "--path", "/v1/*", "--header", "Authorization", "--template", "Bearer ${secret}"]);
  expect(set.exitCode, String(set.stderr)).toBe(0);
  expect(set.stdout).toBe(`${rt}: E2E_KEY → Authorization for https://api.example.com/v1/*\n`);
  const ls = await runta(["secret", "rule", "ls", rt, "--json"]);
  expect(JSON.parse(String(ls.stdout))).toEqual({ rules: [expect.objectContaining({ secret: "E2E_KEY", host: "api.example.com", path: "/v1/*", header: "Authorization", template: "Bearer ${secret}", allow_http: false })] });

  const inUse = await runta(["secret", "rm", "E2E_KEY"]);
  expect(inUse.exitCode).toBe(1);
  expect(inUse.stderr).toContain(`used by 1 rule(s): ${rt} api.example.com Authorization; remove them first, e.g. runta secret rule rm ${rt} --host api.example.com --header Authorization`);

  const bad = await runta(["secret", "rule", "set", rt, "--secret", "E2E_KEY", "--host", "api.example.com", "--header", "Authorization", "--template", "Bearer"]);
  expect(bad.exitCode).toBe(2);
  expect(bad.stderr).toContain("--template: the template must hold ${secret} exactly once");
  const unknown = await runta(["secret", "rule", "set", rt, "--secret", "NOPE", "--host", "api.example.com", "--header", "A", "--template", "${secret}"]);
  expect(unknown.exitCode).toBe(1);
  expect(unknown.stderr).toContain('secret "NOPE" not found');
  const noSource = await runta(["secret", "set", "OTHER"]);
  expect(noSource.exitCode).toBe(2);

  expect((await runta(["secret", "rule", "rm", rt, "--host", "api.example.com", "--header", "Authorization"])).exitCode).toBe(0);
  const rm = await runta(["secret", "rm", "E2E_KEY"]);
  expect(rm.exitCode, String(rm.stderr)).toBe(0);
  expect(rm.stdout).toBe("E2E_KEY\n");
  expect(stored("E2E_KEY")).toBeNull();
});
