#!/usr/bin/env node
// Tiny shim: everything lives in dist/cli/main.js, which loads heavy modules only when a command needs them.
import { run, realDeps } from "../dist/cli/main.js";

// `runta ps | head` closes the pipe early; that is not an error worth a stack trace.
process.stdout.on("error", (err) => {
  if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw err;
});

process.exitCode = await run(process.argv.slice(2), realDeps());
