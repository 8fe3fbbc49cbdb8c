/**
 * The seed's examples, run exactly as written against a real daemon on the default image (python3 inside):
 * the curl line of issue 3, and the TypeScript snippet of DESIGN §8 imported from the package root ("runta").
 * The default image is built once per machine into a shared images dir (≈ 1 min with debootstrap the first time).
 */
import { mkdir, symlink, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { execa } from "execa";
import { beforeAll, expect, test } from "vitest";
import { daemonSuite } from "../helpers/daemon-suite.js";

const ROOT = resolve(import.meta.dirname, "../..");

const CURL_LINE = `curl -sS "$RUNTA_ENDPOINT/v1/runtimes" -H "Authorization: Bearer $RUNTA_TOKEN" -H "Content-Type: application/json" -d '{"name":"worker","resources":{"requests":{"vcpus":2,"memory_mib":2048}}}'`;

/** DESIGN §8, verbatim. */
const SNIPPET = `const runta = new Runta();                                   // RUNTA_ENDPOINT / RUNTA_TOKEN as defaults
const runtime = await runta.runtimes.create("worker", { vcpus: 2, memoryMiB: 2048 });   // waits by default
for (const item of await runta.runtimes.list()) console.log(item.id, item.name, item.cachedInfo.status);
const result = await runtime.exec(["sh", "-lc", "pwd && python3 --version"], { timeoutSecs: 30, env: { APP_ENV: "dev" } });
console.log(result.exit_code, result.stdoutText);
await runtime.pause(); await runtime.resume(); await runtime.stop(); await runtime.start();
await runtime.resizeMemory(4096); await runtime.delete();
`;

const suite = daemonSuite({ defaultImage: true });
const d = suite.daemon;
let scratch: string;

beforeAll(() => {
  scratch = suite.scratch;
});

test("the seed's curl line creates a running runtime", async () => {
  const { stdout } = await execa("bash", ["-c", CURL_LINE], { env: d.env });
  const body = JSON.parse(stdout);
  expect(body.data).toMatchObject({ name: "worker", status: "running", image: "default", resources: { requests: { vcpus: 2, memory_mib: 2048 } } });
  await d.client().runtimes.delete("worker");
}, 120_000);

test("the DESIGN §8 TypeScript snippet runs as written against the package root export", async () => {
  // A throwaway project where `import { Runta } from "runta"` resolves to this package (its package.json exports).
  await mkdir(join(scratch, "node_modules"), { recursive: true });
  await symlink(ROOT, join(scratch, "node_modules", "runta"));
  await writeFile(join(scratch, "package.json"), JSON.stringify({ type: "module" }));
  await writeFile(join(scratch, "snippet.mjs"), `import { Runta } from "runta";\n${SNIPPET}`);
  const { stdout } = await execa("node", ["snippet.mjs"], { cwd: scratch, env: d.env });
  const lines = stdout.split("\n");
  expect(lines[0]).toMatch(/^[0-9a-f-]{36} worker running$/);
  expect(stdout).toMatch(/^0 \/\S*\nPython 3\.\d+\.\d+$/m);
  expect(await d.client().runtimes.list()).toEqual([]);
}, 180_000);
