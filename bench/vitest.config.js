import { defineConfig } from "vitest/config";

// The benchmark's own tests (stats, target verdicts, the floor's clean-up). Kept out of `npm test` on purpose:
// run them with `npx vitest run -c bench/vitest.config.js`. No timing assertions anywhere.
export default defineConfig({
  test: {
    root: new URL(".", import.meta.url).pathname,
    include: ["test/**/*.test.js"],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
  },
});
