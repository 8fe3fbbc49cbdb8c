/**
 * The built `bin/runta` against a real daemon and real runc (isolated: temp data dir, own runc root and cgroup
 * parent, see test/helpers/daemon.ts). Covers every line of the seed as written, exit codes and --json shapes.
 * Needs `npm run build` first; the python3 line needs the default image (built once into the shared images dir).
 */
import { beforeAll, describe, expect, test } from "vitest";
import pty from "node-pty";
import { RUNTA_BIN, runtaBin } from "../helpers/cli.js";
import { cliSuite } from "../helpers/cli-suite.js";

const suite = cliSuite({ defaultImage: true });
const { runta } = suite;

describe("the seed, line by line", () => {
  let id = "";

  test("runta run --name worker --cpus 2 --memory 2048", async () => {
    const r = await runta(["run", "--name", "worker", "--cpus", "2", "--memory", "2048"]);
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^[0-9a-f-]{36}\n$/);
    id = String(r.stdout).trim();
  });

  test("runta ps -a", async () => {
    const r = await runta(["ps", "-a"]);
    expect(r.exitCode).toBe(0);
    const lines = String(r.stdout).trim().split("\n");
    expect(lines[0]).toBe("RUNTIME ID\tNAME\tIMAGE\tSTATUS\tCPUS\tMEMORY\tDISK\tCREATED");
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^${id}\tworker\tdefault\trunning\t2\t2048MiB\t10GiB\t\\d{4}-\\d\\d-\\d\\dT`)));
  });

  test("runta inspect worker", async () => {
    const r = await runta(["inspect", "worker"]);
    expect(r.exitCode).toBe(0);
    const [rt] = JSON.parse(String(r.stdout));
    expect(rt).toMatchObject({ id, name: "worker", status: "running", resources: { requests: { vcpus: 2, memory_mib: 2048 } } });
  });

  test("runta exec worker -- sh -lc 'pwd && python3 --version'", async () => {
    const r = await runta(["exec", "worker", "--", "sh", "-lc", "pwd && python3 --version"]);
    expect(r.exitCode).toBe(0);
    expect(String(r.stdout)).toMatch(/^\/\S*\nPython 3\.\d+\.\d+\n$/);
  });

  test("runta resize --memory 4096 worker", async () => {
    const r = await runta(["resize", "--memory", "4096", "worker"]);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(r.stdout).toBe("worker: memory 4096 MiB, cpus 2\n");
    const [rt] = JSON.parse(String((await runta(["inspect", "worker"])).stdout));
    expect(rt.resources.requests.memory_mib).toBe(4096);
  });

  test("runta pause worker ; runta resume worker", async () => {
    expect((await runta(["pause", "worker"])).stdout).toBe("worker\n");
    expect(JSON.parse(String((await runta(["ps", "--json"])).stdout)).runtimes[0].status).toBe("paused");
    const onPaused = await runta(["exec", "worker", "--", "true"]);
    expect(onPaused.exitCode).toBe(125);
    expect(String(onPaused.stderr)).toMatch(/^runta: .*paused.*\n$/);
    expect((await runta(["resume", "worker"])).stdout).toBe("worker\n");
  });

  test("runta shutdown worker ; runta boot worker", async () => {
    const down = await runta(["shutdown", "worker"]);
    expect(down.stdout, String(down.stderr)).toBe("worker\n");
    expect((await runta(["ps", "-q"])).stdout).toBe("");
    expect(JSON.parse(String((await runta(["ps", "-a", "--json"])).stdout)).runtimes[0].status).toBe("shutdown");
    const r = await runta(["boot", "worker"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe("worker\n");
    expect((await runta(["ps", "-q"])).stdout).toBe(`${id}\n`);
  });

  test("runta rm worker", async () => {
    const r = await runta(["rm", "worker"]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe("worker\n");
    expect((await runta(["ps", "-a", "-q"])).stdout).toBe("");
  });
});

describe("exit codes and shapes", () => {
  beforeAll(async () => {
    const r = await runta(["run", "--name", "bb", "--image", "busybox", "--memory", "64", "-e", "GREETING=hi", "--label", "team=e2e"]);
    expect(r.exitCode, String(r.stderr)).toBe(0);
  });

  test("exec returns the remote code, 126/127, 128+n, and 125 for runta's own failure", async () => {
    expect((await runta(["exec", "bb", "--", "sh", "-c", "exit 3"])).exitCode).toBe(3);
    expect((await runta(["exec", "bb", "--", "/nonexistent"])).exitCode).toBe(127);
    expect((await runta(["exec", "bb", "--", "/etc/passwd"])).exitCode).toBe(126);
    expect((await runta(["exec", "bb", "--", "sh", "-c", "kill -9 $$"])).exitCode).toBe(137);
    const ghost = await runta(["exec", "ghost", "--", "true"]);
    expect(ghost.exitCode).toBe(125);
    expect(String(ghost.stderr)).toMatch(/^runta: .*ghost.* not found.*runta ps -a\n$/);
  });

  test("exec passes env, workdir and writes stdout/stderr separately", async () => {
    const r = await runta(["exec", "-e", "X=1", "-w", "/tmp", "bb", "--", "sh", "-c", 'echo "$X $GREETING $(pwd)"; echo oops >&2']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe("1 hi /tmp\n");
    expect(r.stderr).toBe("oops\n");
  });

  test("exec -i streams piped stdin; -t without a terminal is a usage error", async () => {
    const i = await runta(["exec", "-i", "bb", "--", "tr", "a-z", "A-Z"], { input: "hello\n" });
    expect(i.stdout).toBe("HELLO\n");
    expect(i.exitCode).toBe(0);
    const t = await runta(["exec", "-t", "bb", "--", "sh"], { input: "" });
    expect(t.exitCode).toBe(2);
    expect(String(t.stderr)).toContain("the input device is not a TTY");
  });

  test("lifecycle verbs go on past failures and exit 1 with one line per failure", async () => {
    const r = await runta(["pause", "ghost", "bb"]);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toBe("bb\n");
    expect(String(r.stderr).trim().split("\n")).toHaveLength(1);
    expect((await runta(["resume", "bb"])).exitCode).toBe(0);
  });

  test("--json: lists are objects keyed by the noun; errors are {error:{code,message}}", async () => {
    const doc = JSON.parse(String((await runta(["ps", "--json"])).stdout));
    expect(Object.keys(doc)).toEqual(["runtimes"]);
    const list = doc.runtimes;
    expect(list[0]).toMatchObject({ name: "bb", image: "busybox", env_names: ["GREETING"], labels: { team: "e2e" } });
    const err = await runta(["inspect", "ghost", "--json"]);
    expect(err.exitCode).toBe(1);
    expect(JSON.parse(String(err.stderr).trim())).toEqual({ error: { code: "not_found", message: expect.any(String) } });
    expect(JSON.parse(String((await runta(["image", "ls", "--json"])).stdout)).images.map((i: { name: string }) => i.name)).toEqual(
      expect.arrayContaining(["busybox", "default"]),
    );
  });

  test("usage errors exit 2 (API bounds and this host's memory too), naming the flag", async () => {
    expect((await runta(["ps", "--bogus"])).exitCode).toBe(2);
    expect((await runta(["run", "--memory", "lots"])).exitCode).toBe(2);
    const big = await runta(["resize", "--memory", "99999999", "bb"]);
    expect(big.exitCode).toBe(2);
    expect(String(big.stderr)).toBe('runta: --memory must be a size of whole MiB between 16m and 256g (512m, 2g; a bare number is MiB), got "99999999"\n');
    const host = await runta(["resize", "--memory", "262144", "bb"]);
    expect(host.exitCode).toBe(2);
    // As typed (a bare number of MiB stays one); the bound in the flag's own units.
    expect(String(host.stderr)).toMatch(/^runta: --memory 262144 is more than this host's memory \(\d+ MiB\) — use at most --memory \d+[mg]\n$/);
  });

  test("a wrong token is unauthenticated and says where the token came from", async () => {
    const r = await runtaBin(["ps"], { env: { ...suite.daemon.env, RUNTA_TOKEN: "wrong-token-0000000000", HOME: suite.home } });
    expect(r.exitCode).toBe(1);
    expect(String(r.stderr)).toContain("RUNTA_TOKEN");
    expect(String(r.stderr)).not.toContain("wrong-token");
  });

  test("an unreachable RUNTA_ENDPOINT is named with its source", async () => {
    const r = await runtaBin(["ps"], { env: { RUNTA_ENDPOINT: "http://127.0.0.1:1", RUNTA_TOKEN: "x", HOME: suite.home } });
    expect(r.exitCode).toBe(1);
    expect(String(r.stderr)).toContain("http://127.0.0.1:1 (from RUNTA_ENDPOINT)");
    expect(String(r.stderr).trim().split("\n")).toHaveLength(1);
  });

  test("version prints client and server", async () => {
    const r = await runta(["version"]);
    expect(r.exitCode).toBe(0);
    expect(String(r.stdout)).toMatch(/Client:\n  Version: \d[\s\S]*Server:\n  Version: \d/);
    expect((await runta(["--version"])).stdout).toMatch(/^runta version \d+\.\d+\.\d+\n$/);
  });

  test("completion asks the CLI for runtime names", async () => {
    expect((await runta(["__complete", "runtimes"])).stdout).toBe("bb\n");
  });
});

describe("on a real terminal", () => {
  /** Runs the CLI under a pseudo-terminal (stdout and stderr both on it); resolves with what it showed. */
  const onTerminal = (args: string[], extraEnv: Record<string, string> = {}) =>
    new Promise<{ code: number; screen: string }>((resolve) => {
      const env: Record<string, string> = {};
      for (const [k, v] of Object.entries({ ...process.env, ...suite.daemon.env, HOME: suite.home, TERM: "xterm-256color", ...extraEnv })) if (v !== undefined) env[k] = v;
      delete env.NO_COLOR;
      Object.assign(env, extraEnv);
      const p = pty.spawn(process.execPath, [RUNTA_BIN, ...args], { cols: 160, rows: 40, env });
      let screen = "";
      p.onData((s) => (screen += s));
      p.onExit(({ exitCode }) => resolve({ code: exitCode, screen }));
    });

  test("run shows a spinner on the terminal, then the id; ps shows short ids, relative times and colour", async () => {
    const run = await onTerminal(["run", "--image", "busybox", "--memory", "64", "--name", "tty1"]);
    expect(run.code, run.screen).toBe(0);
    expect(run.screen).toContain("creating runtime tty1");
    const id = /([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/.exec(run.screen)![1]!;
    const ps = await onTerminal(["ps"]);
    expect(ps.code).toBe(0);
    expect(ps.screen).toContain(id.replace(/-/g, "").slice(0, 12));
    expect(ps.screen).not.toContain(id);
    expect(ps.screen).toMatch(/seconds? ago|Less than a second ago/);
    expect(ps.screen).toContain("\x1b[32mrunning");
    const plain = await onTerminal(["ps"], { NO_COLOR: "1" });
    expect(plain.screen).not.toContain("\x1b[32m");
    expect((await runta(["rm", "tty1"])).exitCode).toBe(0);
  });
});
