// Builds the dashboard (ui/src) into dist/ui: one minified script and one stylesheet, no source maps, no CDN, no
// external fonts. esbuild bundles Preact, xterm.js and our code in ~100 ms; `npm run build` runs this after tsc.
import { build } from "esbuild";
import { copyFile, mkdir, rename } from "node:fs/promises";
import { fileURLToPath } from "node:url";

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const out = here("../dist/ui/");
await mkdir(out, { recursive: true });
const result = await build({
  entryPoints: { app: here("src/main.tsx"), "app-css": here("src/app.css") },
  outdir: out,
  entryNames: "[name]",
  bundle: true,
  minify: true,
  format: "esm",
  target: ["chrome110", "firefox115", "safari16"],
  jsx: "automatic",
  jsxImportSource: "preact",
  legalComments: "none",
  metafile: true,
  logLevel: "warning",
});
// esbuild names a CSS entry's output after the entry: app-css.css → app.css.
await rename(out + "app-css.css", out + "app.css");
await copyFile(here("index.html"), out + "index.html");
await copyFile(here("favicon.svg"), out + "favicon.svg");
const sizes = Object.entries(result.metafile.outputs).map(([f, o]) => `${f.split("/").pop()} ${(o.bytes / 1024).toFixed(0)} KiB`);
if (process.env.RUNTA_UI_BUILD_VERBOSE) console.log(`dashboard: ${sizes.join(", ")}`);
