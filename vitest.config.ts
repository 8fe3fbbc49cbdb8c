import { defineConfig } from "vitest/config";

// Integration and e2e tests drive real runc, cgroups and daemons: run files one at a time so they never race
// for the 2 cores of the test machines; each test file isolates itself (temp data dir, runc root, cgroup parent).
export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: "forks",
    reporters: ["default"],
  },
});
