/**
 * The hardened spec against the real default image (Debian + bash + python3): ordinary programs keep working under
 * the seccomp deny-list and reduced capabilities. Uses the shared test image cache (test/helpers/daemon.ts
 * SHARED_IMAGES_DIR, read-only here: it is only the overlay's lower layer), building the image there first when it
 * is missing (once per machine and package list: one to a few minutes), so CI always runs these tests.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { RuncEngine } from "../../src/engine/runc-engine.js";
import { makeEngineEnv, type EngineEnv } from "../helpers/engine-env.js";
import { ensureDefaultImage, SHARED_IMAGES_DIR } from "../helpers/daemon.js";

describe("the default image under the hardened spec", () => {
  let env: EngineEnv;
  let engine: RuncEngine;

  beforeAll(async () => {
    await ensureDefaultImage(SHARED_IMAGES_DIR);
    env = await makeEngineEnv();
    engine = await RuncEngine.open({ ...env, imagesDir: SHARED_IMAGES_DIR });
    await engine.create({ name: "deb", image: "default", vcpus: 1, memoryMib: 256 });
  }, 900_000);

  afterAll(async () => {
    await engine?.delete("deb").catch(() => undefined);
    await engine?.close();
    await env.cleanup();
    expect(await env.leaks()).toEqual([]);
  });

  test("bash, python3 with threads and subprocesses, and procps work; the default cwd is /root", async () => {
    const r = await engine.exec("deb", {
      argv: [
        "bash",
        "-lc",
        "pwd && echo $BASH_VERSION | cut -d. -f1 && python3 -c 'import threading, subprocess; t = threading.Thread(target=print, args=(\"thread\",)); t.start(); t.join(); print(subprocess.run([\"echo\", \"child\"], capture_output=True, text=True).stdout.strip())' && ps -e -o comm= | head -1",
      ],
    });
    expect(r.stderr).toBe("");
    expect(r.stdout).toBe("/root\n5\nthread\nchild\nrunta-agent\n");
  });

  test("namespace creation is EPERM from python too", async () => {
    const r = await engine.exec("deb", {
      argv: ["python3", "-c", "import ctypes, os; libc = ctypes.CDLL(None, use_errno=True); rc = libc.unshare(0x10000000); print(rc, os.strerror(ctypes.get_errno()))"],
    });
    expect(r.stdout).toBe("-1 Operation not permitted\n");
  });

  test("every call of the seccomp deny-list fails with EPERM when made directly (clone3 with ENOSYS)", async () => {
    // x86-64 numbers. Called with zero arguments: unfiltered, most would fail with EINVAL or EFAULT instead.
    const calls: Record<string, number> = {
      unshare: 272, setns: 308, mount: 165, umount2: 166, pivot_root: 155, open_tree: 428, move_mount: 429, fsopen: 430,
      fsconfig: 431, fsmount: 432, fspick: 433, mount_setattr: 442, keyctl: 250, add_key: 248, request_key: 249, bpf: 321,
      perf_event_open: 298, userfaultfd: 323, io_uring_setup: 425, io_uring_enter: 426, io_uring_register: 427,
      init_module: 175, finit_module: 313, delete_module: 176, kexec_load: 246, kexec_file_load: 320, clone3: 435,
    };
    const script = [
      "import ctypes, errno, json, sys",
      "libc = ctypes.CDLL(None, use_errno=True)",
      "out = {}",
      "for name, nr in json.loads(sys.argv[1]).items():",
      "    ctypes.set_errno(0)",
      "    rc = libc.syscall(nr, 0, 0, 0, 0, 0)",
      "    out[name] = errno.errorcode.get(ctypes.get_errno(), str(ctypes.get_errno())) if rc == -1 else 'succeeded'",
      "print(json.dumps(out))",
    ].join("\n");
    const r = await engine.exec("deb", { argv: ["python3", "-c", script, JSON.stringify(calls)] });
    expect(r.stderr).toBe("");
    const expected = Object.fromEntries(Object.keys(calls).map((name) => [name, name === "clone3" ? "ENOSYS" : "EPERM"]));
    expect(JSON.parse(r.stdout)).toEqual(expected);
  });

  test("the image below stays untouched: writes land in the runtime's own layer", async () => {
    await engine.exec("deb", { argv: ["bash", "-c", "echo mine > /etc/runta-test-marker"] });
    expect(existsSync(join(SHARED_IMAGES_DIR, "default", "rootfs", "etc", "runta-test-marker"))).toBe(false);
  });
});
