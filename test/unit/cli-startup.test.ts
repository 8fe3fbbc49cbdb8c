/** CLI start-up cost: a command that only talks REST must not load zod (~130 ms) or ws (~35 ms). */
import { spawn, spawnSync } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { expect, test } from "vitest";

const dist = resolve(__dirname, "../../dist");

/** Writes the resolve hook that reports every package node loads through ESM ("PKG name" on stderr); returns its --import URL. */
function hookDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "runta-startup-"));
  writeFileSync(
    join(dir, "hooks.mjs"),
    `export async function resolve(spec, ctx, next) {
       const r = await next(spec, ctx);
       const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(r.url);
       if (m) process.stderr.write("PKG " + m[1] + "\\n");
       return r;
     }\n`,
  );
  writeFileSync(join(dir, "register.mjs"), `import { register } from "node:module";\nregister(${JSON.stringify(pathToFileURL(join(dir, "hooks.mjs")).href)});\n`);
  // At exit: the packages loaded through require, and whether node initialised undici (its global fetch).
  writeFileSync(
    join(dir, "exit.cjs"),
    `process.on("exit", () => {
       const cjs = Object.keys(require.cache).map((f) => /node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(f)?.[1]).filter(Boolean);
       if (process.moduleLoadList.some((m) => m.includes("internal/deps/undici"))) cjs.push("undici");
       process.stderr.write(cjs.map((p) => "PKG " + p + "\\n").join(""));
     });\n`,
  );
  return dir;
}

const packagesIn = (stderr: string): string[] => [...new Set(stderr.split("\n").filter((l) => l.startsWith("PKG ")).map((l) => l.slice(4)))].sort();

test("runta ps loads neither zod, ws nor undici (node's fetch), and still lists", async () => {
  let asked = "";
  const server = createServer((req, res) => {
    asked = req.url ?? "";
    res.setHeader("Content-Type", "application/json");
    res.end(JSON.stringify({ data: [], pagination: { has_more: false } }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  try {
    const dir = hookDir();
    const child = spawn(
      process.execPath,
      ["--import", pathToFileURL(join(dir, "register.mjs")).href, "--require", join(dir, "exit.cjs"), resolve(__dirname, "../../bin/runta.js"), "ps", "--json"],
      { env: { ...process.env, RUNTA_ENDPOINT: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, RUNTA_TOKEN: "t" }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((r) => child.on("close", r));
    expect(code, stderr).toBe(0);
    expect(JSON.parse(stdout)).toEqual({ runtimes: [] });
    expect(asked).toMatch(/^\/v1\/runtimes/);
    const loaded = packagesIn(stderr);
    expect(loaded).toContain("commander");
    expect(loaded).not.toContain("zod");
    expect(loaded).not.toContain("ws");
    expect(loaded).not.toContain("undici");
  } finally {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  }
}, 20_000);

/** Imports the given dist modules in a fresh node and returns the packages it loaded (ESM, require, undici). */
function packagesLoadedBy(modules: string[]): string[] {
  const dir = hookDir();
  const script = modules.map((m) => `await import(${JSON.stringify(pathToFileURL(join(dist, m)).href)});`).join("\n");
  const child = spawnSync(
    process.execPath,
    ["--import", pathToFileURL(join(dir, "register.mjs")).href, "--require", join(dir, "exit.cjs"), "--input-type=module", "-e", script],
    { encoding: "utf8", stdio: ["ignore", "ignore", "pipe"] },
  );
  expect(child.status, child.stderr).toBe(0);
  return packagesIn(child.stderr);
}

test("the CLI entry, its context and the SDK client modules load neither zod nor ws", () => {
  const loaded = packagesLoadedBy(["cli/main.js", "cli/context.js", "client/runta.js", "client/exec-stream.js", "client/errors.js", "client/node-fetch.js"]);
  expect(loaded).not.toContain("zod");
  expect(loaded).not.toContain("ws");
}, 20_000);

test("the detector does see zod when the API schemas are imported, and undici once fetch is used", () => {
  expect(packagesLoadedBy(["api/index.js"])).toContain("zod");
  const dir = hookDir();
  const child = spawnSync(process.execPath, ["--require", join(dir, "exit.cjs"), "-e", "fetch('http://127.0.0.1:1').catch(() => {})"], { encoding: "utf8" });
  expect(packagesIn(child.stderr)).toContain("undici");
}, 20_000);
