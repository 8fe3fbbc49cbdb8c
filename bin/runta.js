#!/usr/bin/env node
// Tiny shim: the CLI is one bundled file, dist/cli/bundle.cjs (bin/build-cli.mjs builds it from dist/cli/main.js),
// loaded through V8's code cache by load-cli.cjs; heavy modules inside it still load only when a command needs them.
// It is CommonJS (bin/package.json) because `runta --version` is benchmarked against `node -e 0`, and node's
// ESM entry path alone costs about a third of a bare node start.
"use strict";

const argv = process.argv.slice(2);

if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-V")) {
  process.stdout.write(`runta version ${require("../package.json").version}\n`);
} else {
  let finished = false;
  // If node runs out of things to wait for before the command settled, that is a bug: never exit 0 silently.
  process.on("exit", () => {
    if (!finished) {
      process.stderr.write("runta: the command stopped before finishing (internal error) — rerun with RUNTA_DEBUG=1 and report it\n");
      process.exitCode = 1;
    }
  });
  // The process streams a command used (it may use none: node makes each on first use, which costs a few ms).
  const outputs = [];
  const onOpen = (name, stream) => {
    if (name === "stdin") return;
    outputs.push(stream);
    // `runta ps | head` closes the pipe early; that is not an error worth a stack trace.
    if (name === "stdout") {
      stream.on("error", (err) => {
        if (err.code === "EPIPE") {
          finished = true;
          process.exit(process.exitCode ?? 0);
        }
        throw err;
      });
    }
  };
  const { run, realDeps } = require("./load-cli.cjs").loadCli().exports;
  run(argv, realDeps(onOpen))
    .then((code) => {
      finished = true;
      process.exitCode = code;
      // The answer is out: exit once what was written to stdout and stderr has flushed, rather than when node runs out
      // of handles (a WebSocket's closing handshake, a keep-alive socket, a timer). An empty write's callback runs
      // after every earlier write to that stream was handed to the OS, so output to a slow pipe is never cut short.
      // The tty bridge restored the terminal before run() settled.
      let pending = outputs.length + 1;
      const flushed = () => {
        if (--pending === 0) process.exit(code);
      };
      for (const stream of outputs) {
        if (stream.destroyed || stream.writableEnded) flushed();
        else stream.write("", flushed);
      }
      flushed();
    });
}
