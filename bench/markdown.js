#!/usr/bin/env node
/**
 * `npm run bench:markdown [-- results.json]`: prints the targets of the last `npm run bench` (bench/results/latest.json
 * by default) as the Markdown table README's performance section shows, with the run's hardware and load average.
 * Run the benchmark on a quiet machine first: figures taken under load are not representative.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { renderTargetsMarkdown } from "./lib/report.js";

const file = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), "results", "latest.json");
let doc;
try {
  doc = JSON.parse(readFileSync(file, "utf8"));
} catch (e) {
  process.stderr.write(`bench:markdown: cannot read ${file} (${e instanceof Error ? e.message : e}); run npm run bench first\n`);
  process.exit(1);
}
process.stdout.write(renderTargetsMarkdown(doc.targets, doc.meta) + "\n");
