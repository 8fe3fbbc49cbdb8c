/**
 * startTestDaemon for test runners that are not vitest (the Python SDK's pytest, python/tests/conftest.py):
 *
 *   node_modules/.bin/vite-node test/helpers/daemon-process.ts
 *
 * Builds the default image into SHARED_IMAGES_DIR if needed (python3 inside; ≈ 1 min once per machine), starts the
 * real built daemon exactly as the TypeScript tests do (own data dir, runc root, cgroup parent, port), and prints one
 * JSON line on stdout: {endpoint, token, dataDir, listen, imagesDir, errorCodes}. It then waits for its stdin to close — the
 * caller's end, which also happens when the caller dies — cleans up (deletes every runtime, stops the daemon, checks
 * for leaked containers, cgroups and mounts) and exits 0, or 1 with the problems on stderr.
 */
import { ERROR_CODES } from "../../src/api/errors.js";
import { ensureDefaultImage, SHARED_IMAGES_DIR, startTestDaemon } from "./daemon.js";

await ensureDefaultImage(SHARED_IMAGES_DIR);
const d = await startTestDaemon({ imagesDir: SHARED_IMAGES_DIR });
process.stdout.write(
  `${JSON.stringify({ endpoint: d.endpoint, token: d.token, dataDir: d.dataDir, listen: new URL(d.endpoint).host, imagesDir: d.imagesDir, errorCodes: ERROR_CODES })}\n`,
);

// vite-node's dev server exits the whole process when stdin ends (outside CI=true), which cut this cleanup short and
// left the daemon, its lxcfs and mounts behind: stdin's end is this helper's signal, so only our handler answers it.
process.stdin.removeAllListeners("end");
process.stdin.resume();
await new Promise<void>((resolve) => process.stdin.once("end", resolve).once("close", resolve));
try {
  await d.cleanup();
  process.exit(0);
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exit(1);
}
