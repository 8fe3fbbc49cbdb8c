// Loads the CLI bundle (dist/cli/bundle.cjs, built by bin/build-cli.mjs) the way require() would, but through
// V8's code cache (dist/cli/bundle.cache, written at build time): compiling the ~1.6 MB bundle is most of what a
// command costs over `node -e 0`, and a cache V8 accepts skips it. A cache from another node or V8 is rejected by V8
// itself (cachedDataRejected) and the bundle is then compiled as usual, only slower.
"use strict";

const { readFileSync } = require("node:fs");
const { dirname, join } = require("node:path");
const Module = require("node:module");
const { pathToFileURL } = require("node:url");
const { Script } = require("node:vm");

const BUNDLE = join(__dirname, "../dist/cli/bundle.cjs");
const CACHE = `${BUNDLE}.cache`;

/**
 * Evaluates the bundle and returns its exports ({ run, realDeps }) and the compiled script (for the build, which
 * asks it for the cache after a warm-up run). `useCache: false` compiles from source.
 */
function loadCli({ useCache = true } = {}) {
  let cachedData;
  if (useCache) {
    try {
      cachedData = readFileSync(CACHE);
    } catch {
      // No cache (a build without one, or removed): compile from source.
    }
  }
  // require()'s wrapper plus __runtaImport: code compiled by vm.Script cannot import() (node 20 wants a callback
  // for that, refuses it with a code cache, and warns that the callback is experimental), so the build rewrites the
  // bundle's import() of what it does not contain (the daemon's modules, node:https) to this function, whose
  // import() runs in this ordinary module.
  // latin1: the bundle is ASCII (the build checks), and latin1 is a plain copy where utf8 is decoded and validated.
  const wrapper = `(function (exports, require, module, __filename, __dirname, __runtaImport) {${readFileSync(BUNDLE, "latin1")}\n})`;
  const script = new Script(wrapper, { filename: BUNDLE, cachedData });
  const module = { exports: {}, filename: BUNDLE };
  const importFromBundle = (spec) => import(spec.startsWith(".") ? pathToFileURL(join(dirname(BUNDLE), spec)).href : spec);
  script.runInThisContext()(module.exports, Module.createRequire(BUNDLE), module, BUNDLE, dirname(BUNDLE), importFromBundle);
  return { exports: module.exports, script };
}

module.exports = { loadCli, BUNDLE, CACHE };
