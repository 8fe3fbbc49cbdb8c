/**
 * CLI start-up cost: bin/runta.js runs the one bundled file through its code cache, and a command that only talks
 * REST must not load zod (~130 ms) or ws (~35 ms), in the bundle as in the separate dist modules.
 */
import { spawn, spawnSync } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
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

/**
 * Runs bin/runta.js with `args` against `server`, with V8 coverage on: returns the exit code, stdout, stderr, the
 * node built-ins it loaded (process.moduleLoadList), whether zod initialised (it sets globalThis.__zod_globalConfig
 * when it loads) and the script files node ran (the coverage's URLs).
 */
async function runBin(args: string[], endpoint: string, stdin = "") {
  const dir = hookDir();
  const coverage = join(dir, "coverage");
  writeFileSync(
    join(dir, "report.cjs"),
    `const before = new Set(process.moduleLoadList);
     process.on("exit", () => process.stderr.write("REPORT " + JSON.stringify({
       builtins: process.moduleLoadList.filter((m) => !before.has(m) && m.startsWith("NativeModule ")).map((m) => m.slice(13)),
       zod: globalThis.__zod_globalConfig !== undefined,
     }) + "\\n"));\n`,
  );
  const child = spawn(process.execPath, ["--require", join(dir, "report.cjs"), resolve(__dirname, "../../bin/runta.js"), ...args], {
    env: { ...process.env, RUNTA_ENDPOINT: endpoint, RUNTA_TOKEN: "t", NODE_V8_COVERAGE: coverage },
    stdio: ["pipe", "pipe", "pipe"],
  });
  child.stdin.end(stdin);
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((r) => child.on("close", r));
  const line = stderr.split("\n").find((l) => l.startsWith("REPORT "));
  const report = line ? (JSON.parse(line.slice(7)) as { builtins: string[]; zod: boolean }) : { builtins: [], zod: false };
  const scripts = readdirSync(coverage).flatMap((f) => (JSON.parse(readFileSync(join(coverage, f), "utf8")) as { result: { url: string }[] }).result.map((r) => r.url));
  return { code, stdout, stderr, ...report, scripts: scripts.filter((u) => u.includes("/dist/") || u.includes("/bin/")) };
}

/** A REST server answering every request with an empty runtime list (enough for `ps`). */
async function emptyListServer(onRequest: (url: string) => void = () => {}) {
  const server = createServer((req, res) => {
    onRequest(req.url ?? "");
    res.setHeader("Content-Type", "application/json");
    res.end(JSON.stringify({ data: [], pagination: { has_more: false } }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

test("bin/runta.js runs the one bundled file (dist/cli/bundle.cjs), not the separate dist/cli modules", async () => {
  const server = await emptyListServer();
  try {
    const r = await runBin(["ps", "--json"], server.endpoint);
    expect(r.code, r.stderr).toBe(0);
    expect(r.scripts.some((u) => u.endsWith("/dist/cli/bundle.cjs")), r.scripts.join("\n")).toBe(true);
    // Nothing else from dist/: neither main.js nor any module the bundle contains was loaded on its own.
    expect(r.scripts.filter((u) => u.includes("/dist/") && !u.endsWith("/dist/cli/bundle.cjs"))).toEqual([]);
  } finally {
    await server.close();
  }
}, 20_000);

test("the bundle's code cache is accepted by this node (a rejected one would compile the bundle on every command)", () => {
  const child = spawnSync(
    process.execPath,
    ["-e", `const { loadCli } = require(${JSON.stringify(resolve(__dirname, "../../bin/load-cli.cjs"))}); process.stdout.write(String(loadCli().script.cachedDataRejected));`],
    { encoding: "utf8" },
  );
  expect(child.status, child.stderr).toBe(0);
  expect(child.stdout).toBe("false");
}, 20_000);

test("runta ps loads neither zod, ws (its zlib and tls), undici (node's fetch) nor node:fs/promises, and still lists", async () => {
  let asked = "";
  const server = await emptyListServer((url) => (asked = url));
  try {
    const r = await runBin(["ps", "--json"], server.endpoint);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ runtimes: [] });
    expect(asked).toMatch(/^\/v1\/runtimes/);
    expect(r.zod).toBe(false);
    expect(r.builtins).toContain("http");
    expect(r.builtins).not.toContain("zlib");
    expect(r.builtins).not.toContain("tls");
    expect(r.builtins.filter((m) => m.includes("undici"))).toEqual([]);
    // node:fs/promises pulls in readline's interface: the commands that read files load it when they do.
    expect(r.builtins).not.toContain("fs/promises");
  } finally {
    await server.close();
  }
}, 20_000);

test("the bundle's detectors do see zod when a command validates a file, and ws when a command streams", async () => {
  const server = await emptyListServer();
  try {
    // apply validates its file with zod before it asks the daemon anything.
    const applied = await runBin(["apply", "-f", "-"], server.endpoint, "runtimes: [{name: 42}]\n");
    expect(applied.zod, applied.stderr).toBe(true);
    // exec -i streams over a websocket: ws loads (with zlib) even though this server refuses the upgrade.
    const streamed = await runBin(["exec", "-i", "x", "--", "cat"], server.endpoint);
    expect(streamed.builtins, streamed.stderr).toContain("zlib");
  } finally {
    await server.close();
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
