// Builds the CLI into one file, dist/cli/bundle.cjs, which bin/runta.js loads, and V8's code cache for it.
// Why: node resolving, reading and compiling ~45 ESM files (and their packages) was most of a command's start-up;
// one CommonJS file read once, compiled from the cache, costs a fraction. Modules reached only through import()
// (ws, chalk, ora, cli-table3, the tty bridge, each command) stay lazy: esbuild wraps each in an init function that
// runs on the first import(). zod stays outside (see `external`). The daemon's own modules (`runta daemon run`) are not bundled: the bundle import()s them
// from dist/server. `npm run build` runs this after tsc.
import { build } from "esbuild";
import { writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { Readable, Writable } from "node:stream";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const require = createRequire(import.meta.url);
const { loadCli, BUNDLE, CACHE } = require("./load-cli.cjs");

const result = await build({
  write: false,
  entryPoints: [here("../dist/cli/main.js")],
  outfile: BUNDLE,
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  // Native or optional: node-pty is a compiled addon; bufferutil/utf-8-validate are ws's optional speed-ups. zod is
  // required from node_modules by the commands that validate a file (apply): inside, its 450 KB were half of what
  // every command read and V8 deserialised before doing anything (measured: 5 ms of an `exec`).
  external: ["node-pty", "bufferutil", "utf-8-validate", "zod", "zod/*"],
  // The bundle sits in dist/cli/ beside main.js, so the modules' relative URLs (../../package.json,
  // ../server/main.js) resolve as they did; import.meta.url becomes the bundle's own URL.
  define: { "import.meta.url": "__bundleUrl" },
  banner: { js: 'const __bundleUrl = require("node:url").pathToFileURL(__filename).href;' },
  plugins: [
    {
      // commander requires node:child_process at load for the executable subcommands runta does not have; loading
      // it (with dgram, net's socket list) is a few ms of every command. It is taken when spawn is first used.
      name: "commander-lazy-child-process",
      setup(b) {
        b.onLoad({ filter: /commander[\\/]lib[\\/]command\.js$/ }, async (a) => {
          const text = await readFile(a.path, "utf8");
          const eager = "const childProcess = require('node:child_process');";
          if (!text.includes(eager)) throw new Error(`${a.path} no longer has "${eager}": update the commander-lazy-child-process plugin`);
          return { contents: text.replace(eager, "const childProcess = { spawn: (...args) => require('node:child_process').spawn(...args) };"), loader: "js" };
        });
      },
    },
    {
      name: "daemon-outside",
      setup(b) {
        b.onResolve({ filter: /\/server\// }, (a) => ({ path: `../server/${a.path.split("/server/").pop()}`, external: true }));
      },
    },
  ],
  legalComments: "none",
  minify: true,
  logLevel: "warning",
});

// import() does not work in code vm.Script compiled (see load-cli.cjs): the ones left are of modules outside the
// bundle, called with a string literal; they go through the loader's __runtaImport instead.
let bundle = result.outputFiles[0].text;
const dynamic = /(?<![.\w$])import\((?=["'`])/g;
const rewritten = bundle.match(dynamic)?.length ?? 0;
bundle = bundle.replace(dynamic, "__runtaImport(");
const left = bundle.match(/(?<![.\w$]|async )import\(/g);
if (left) throw new Error(`the CLI bundle has ${left.length} import() without a string literal: load-cli.cjs cannot serve those`);
if (rewritten === 0) throw new Error("the CLI bundle has no import() of the daemon's modules: did the bundle's shape change?");
// load-cli.cjs reads the bundle as latin1, which is only right for ASCII (esbuild escapes the rest by default).
if (/[^\x00-\x7f]/.test(bundle)) throw new Error("the CLI bundle is not ASCII: load-cli.cjs reads it as latin1");
writeFileSync(BUNDLE, bundle);

// The code cache: V8 serialises every function compiled so far, so warm it with what the common commands run: a
// plain exec (client, node:http transport, frame decoding) and ps against a stand-in daemon on loopback.
// A function left out is compiled from source when a command first calls it (measured: ~3 ms of an exec).
const { exports: cli, script } = loadCli({ useCache: false });
const { encodeFrame, EXEC_STREAM_CONTENT_TYPE } = await import("../dist/api/exec-frames.js");
const standIn = createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    if (req.method === "POST" && req.url?.endsWith("/execs")) {
      res.setHeader("content-type", EXEC_STREAM_CONTENT_TYPE);
      res.write(encodeFrame("started", { exec_id: "warm-up", pid: 1 }));
      res.write(encodeFrame("stdout", Buffer.from("warm-up\n")));
      res.end(encodeFrame("exit", { code: 0, signal: null, oom_killed: false, ended_by: "exit" }));
    } else {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ data: [], pagination: { has_more: false } }));
    }
  });
});
await new Promise((resolve) => standIn.listen(0, "127.0.0.1", resolve));
const env = { RUNTA_ENDPOINT: `http://127.0.0.1:${standIn.address().port}`, RUNTA_TOKEN: "warm-up", HOME: "/nonexistent", NO_COLOR: "1" };
const sink = () => new Writable({ write: (_chunk, _enc, done) => done() });
// Not help: commander's help renderer would be deserialised by every command for the few that print help (measured:
// a 11% smaller cache, ~1 ms less of an exec, help no slower).
for (const argv of [["exec", "warm-up", "--", "true"], ["ps"]]) {
  const code = await cli.run(argv, { io: { stdin: Readable.from([]), stdout: sink(), stderr: sink() }, env });
  if (code !== 0) throw new Error(`warming the code cache: runta ${argv.join(" ")} exited ${code} against the stand-in daemon`);
}
standIn.closeAllConnections();
standIn.close();
writeFileSync(CACHE, script.createCachedData());
