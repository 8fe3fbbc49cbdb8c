/**
 * Exec like docker exec, and exec objects (issue 11), end to end: the built `bin/runta.js` against the real daemon
 * (real runc, a busybox runtime), interactive parts under a real pseudo-terminal. `npm run build` first.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { beforeAll, describe, expect, test } from "vitest";
import type { ExecInfo } from "../../src/api/execs.js";
import { RUNTA_BIN, runtaBin } from "../helpers/cli.js";
import { daemonSuite } from "../helpers/daemon-suite.js";
import { terminal } from "../helpers/terminal.js";

const suite = daemonSuite();
const d = suite.daemon;
let rt = "";
let home: string;
const env = () => ({ ...d.env, HOME: home, XDG_CONFIG_HOME: undefined });
const runta = (args: string[], opts: { input?: string; timeoutMs?: number } = {}) => runtaBin(args, { env: env(), ...opts });
const md5 = (b: Buffer) => createHash("md5").update(b).digest("hex");

/** Runs the CLI and returns stdout as bytes (execa decodes text by default). */
async function runtaBytes(args: string[]) {
  const r = await execa(process.execPath, [RUNTA_BIN, ...args], {
    env: { ...process.env, ...d.env, HOME: home, NO_COLOR: "1" },
    encoding: "buffer",
    stripFinalNewline: false,
    reject: false,
    stdin: "ignore",
    timeout: 60_000,
  });
  return { code: r.exitCode, stdout: Buffer.from(r.stdout as Uint8Array), stderr: Buffer.from(r.stderr as Uint8Array).toString() };
}

async function execs(all = true): Promise<ExecInfo[]> {
  const r = await runta(["top", ...(all ? ["-a"] : []), "--json", rt]);
  expect(r.exitCode, String(r.stderr)).toBe(0);
  return (JSON.parse(String(r.stdout)) as { execs: ExecInfo[] }).execs;
}

beforeAll(async () => {
  home = suite.scratch;
  rt = `ex-${randomBytes(3).toString("hex")}`;
  await d.client().runtimes.create(rt, { image: "busybox", vcpus: 0.5, memoryMiB: 256 });
});


describe("plain runta exec streams bytes", () => {
  test("random bytes come out byte for byte, stdout and stderr apart", async () => {
    expect((await runta(["exec", rt, "--", "sh", "-c", "head -c 300000 /dev/urandom > /tmp/random"])).exitCode).toBe(0);
    const inside = String((await runta(["exec", rt, "--", "md5sum", "/tmp/random"])).stdout).split(" ")[0];
    const r = await runtaBytes(["exec", rt, "--", "sh", "-c", "cat /tmp/random; echo to-stderr >&2"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.length).toBe(300000);
    expect(md5(r.stdout)).toBe(inside);
    expect(r.stderr).toBe("to-stderr\n");
  });

  test("a tar archive survives the round trip", async () => {
    await runta(["exec", rt, "--", "sh", "-c", "mkdir -p /tmp/t && head -c 50000 /dev/urandom > /tmp/t/a.bin && echo hi > /tmp/t/b.txt"]);
    const tar = await runtaBytes(["exec", rt, "--", "tar", "c", "-C", "/tmp/t", "."]);
    expect(tar.code, tar.stderr).toBe(0);
    const out = mkdtempSync(join(tmpdir(), "runta-tar-"));
    try {
      await execa("tar", ["x", "-C", out], { input: tar.stdout });
      const inside = String((await runta(["exec", rt, "--", "md5sum", "/tmp/t/a.bin"])).stdout).split(" ")[0];
      expect(md5(readFileSync(join(out, "a.bin")))).toBe(inside);
      expect(readFileSync(join(out, "b.txt"), "utf8")).toBe("hi\n");
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  test("lines arrive while the command still runs", async () => {
    const started = Date.now();
    const child = execa(process.execPath, [RUNTA_BIN, "exec", rt, "--", "sh", "-c", "echo one; sleep 2; echo two"], {
      env: { ...process.env, ...d.env, HOME: home },
      reject: false,
      stdin: "ignore",
    });
    const firstAt = await new Promise<number>((resolve) => child.stdout!.once("data", () => resolve(Date.now() - started)));
    const r = await child;
    const total = Date.now() - started;
    expect(r.stdout).toBe("one\ntwo");
    expect(total).toBeGreaterThan(2000);
    expect(firstAt).toBeLessThan(total - 1500);
  });

  test("exit codes stay: the command's, 127 not found (one message for exec and exec -d), 128+n by signal", async () => {
    expect((await runta(["exec", rt, "--", "sh", "-c", "exit 7"])).exitCode).toBe(7);
    const nf = await runta(["exec", rt, "--", "no-such-command"]);
    expect(nf.exitCode).toBe(127);
    expect(String(nf.stderr)).toBe("runta: no-such-command: command not found\n");
    // exec -d says it in the same words, with the same code.
    const nfd = await runta(["exec", "-d", rt, "--", "no-such-command"]);
    expect(nfd.exitCode).toBe(127);
    expect(String(nfd.stderr)).toBe(String(nf.stderr));
    expect(String(nfd.stdout)).toBe("");
    expect((await runta(["exec", rt, "--", "sh", "-c", "kill -TERM $$"])).exitCode).toBe(143);
  });

  test("a background job started by an exec outlives it, and the exec returns at once", async () => {
    const t0 = Date.now();
    const r = await runta(["exec", rt, "--", "sh", "-c", "sleep 300 & echo $!"]);
    expect(r.exitCode).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5000);
    const pid = String(r.stdout).trim();
    await new Promise((res) => setTimeout(res, 500));
    const alive = await runta(["exec", rt, "--", "kill", "-0", pid]);
    expect(alive.exitCode, `sleep ${pid} should still run`).toBe(0);
    await runta(["exec", rt, "--", "kill", pid]);
  });

  test("-e VAR without a value passes the caller's; an unset one is a usage error", async () => {
    const r = await runtaBin(["exec", "-e", "FROM_CALLER", rt, "--", "sh", "-c", "echo $FROM_CALLER"], { env: { ...env(), FROM_CALLER: "yes it is" } });
    expect(String(r.stdout)).toBe("yes it is\n");
    const u = await runtaBin(["exec", "-e", "NOT_SET_ANYWHERE", rt, "--", "true"], { env: { ...env(), NOT_SET_ANYWHERE: undefined } });
    expect(u.exitCode).toBe(2);
    expect(String(u.stderr)).toMatch(/NOT_SET_ANYWHERE is not set/);
  });

  test("-u nobody runs as nobody; an unknown user is refused", async () => {
    const r = await runta(["exec", "-u", "nobody", rt, "--", "id"]);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(String(r.stdout)).toMatch(/uid=65534\(nobody\) gid=65534\(nogroup\)/);
    const perm = await runta(["exec", "-u", "nobody", rt, "--", "sh", "-c", "touch /root/x"]);
    expect(perm.exitCode).not.toBe(0);
    const bad = await runta(["exec", "-u", "ghost", rt, "--", "id"]);
    expect(bad.exitCode).toBe(125);
    expect(String(bad.stderr)).toMatch(/user "ghost" does not exist/);
  });

  test("a 90 s command is not killed", { timeout: 150_000 }, async () => {
    const r = await runta(["exec", rt, "--", "sh", "-c", "sleep 90; echo done"], { timeoutMs: 140_000 });
    expect(r.exitCode).toBe(0);
    expect(String(r.stdout)).toBe("done\n");
  });
});

describe("exec objects", () => {
  test("-d returns an id at once, top lists it running, kill ends it and top says so", async () => {
    const r = await runta(["exec", "-d", rt, "--", "sleep", "300"]);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const id = String(r.stdout).trim();
    expect(id).toMatch(/^[0-9a-f]{12}$/);
    const top = await runta(["top", rt]);
    expect(String(top.stdout)).toMatch(new RegExp(`^${id}\\t\\d+\\troot\\tdetached\\trunning\\t`, "m"));
    const k = await runta(["kill", rt, id]);
    expect(k.exitCode, String(k.stderr)).toBe(0);
    expect(String(k.stdout)).toBe(`${id}\n`);
    for (let i = 0; i < 50; i++) {
      const e = (await execs()).find((x) => x.id === id)!;
      if (e.status === "ended") {
        expect(e).toMatchObject({ ended_by: "killed", signal: "KILL", exit_code: 137 });
        return;
      }
      await new Promise((res) => setTimeout(res, 100));
    }
    throw new Error(`exec ${id} did not end after kill`);
  });

  test("kill without ids signals every running exec; bad signals and ids are clear errors", async () => {
    const a = String((await runta(["exec", "-d", rt, "--", "sleep", "300"])).stdout).trim();
    const b = String((await runta(["exec", "-d", rt, "--", "sleep", "300"])).stdout).trim();
    const k = await runta(["kill", "-s", "TERM", rt]);
    expect(k.exitCode).toBe(0);
    expect(String(k.stdout).split("\n").filter(Boolean).sort()).toEqual(expect.arrayContaining([a, b].sort()));
    expect((await runta(["kill", "-s", "BOGUS", rt, a])).exitCode).toBe(2);
    const missing = await runta(["kill", rt, "000000000000"]);
    expect(missing.exitCode).toBe(1);
    expect(String(missing.stderr)).toMatch(/no exec 000000000000/);
    expect((await runta(["exec", "-d", "-i", rt, "--", "cat"])).exitCode).toBe(2);
  });

  test("every exec has an id; buffered ones are in the history too", async () => {
    await d.client().runtimes.exec(rt, ["true"]);
    const list = await execs();
    expect(list.some((e) => e.kind === "buffered" && e.command.join(" ") === "true" && e.ended_by === "exited")).toBe(true);
    expect(list.some((e) => e.kind === "stream")).toBe(true);
  });

  test("the buffered API returns base64 output byte for byte, and the SDK exposes the bytes", async () => {
    const inside = String((await runta(["exec", rt, "--", "md5sum", "/tmp/random"])).stdout).split(" ")[0];
    const res = await fetch(`${d.endpoint}/v1/runtimes/${rt}/exec`, {
      method: "POST",
      headers: { Authorization: `Bearer ${d.token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ command: ["cat", "/tmp/random"], output_encoding: "base64", max_output_bytes: 1 << 20 }),
    });
    const { data } = (await res.json()) as { data: { stdout: string; output_encoding: string; stdout_invalid_utf8: boolean; exec_id: string } };
    expect(data.output_encoding).toBe("base64");
    expect(md5(Buffer.from(data.stdout, "base64"))).toBe(inside);
    expect(data.stdout_invalid_utf8).toBe(true);
    const sdk = await d.client().runtimes.exec(rt, ["cat", "/tmp/random"], { maxOutputBytes: 1 << 20 });
    expect(md5(sdk.stdoutBytes)).toBe(inside);
    expect(sdk.stdout_invalid_utf8).toBe(true);
  });
});

describe("terminal sessions survive a dropped connection", () => {
  // `exec` so that the terminal's process is the CLI itself: killing it drops the connection without a goodbye.
  const cliTerminal = (args: string) => terminal(`exec ${process.execPath} ${RUNTA_BIN} ${args}`, { env: { ...d.env, HOME: home, NO_COLOR: "1" } });

  test("a dropped exec -it is reattached with its scrollback and goes on", async () => {
    const a = cliTerminal(`exec -it ${rt} -- sh`);
    await a.until(/[#$] /);
    a.p.write("echo marker-$((40+2))\r");
    await a.until(/marker-42/);
    a.p.kill("SIGKILL"); // the client dies: no goodbye, the connection just drops
    await a.exited;
    let session: ExecInfo | undefined;
    for (let i = 0; i < 50 && !session; i++) {
      session = (await execs(false)).find((e) => e.kind === "terminal" && e.attached === false);
      if (!session) await new Promise((r) => setTimeout(r, 100));
    }
    expect(session, "the session should wait for a client").toBeDefined();
    expect(session!.grace_expires_at).not.toBeNull();

    const b = cliTerminal(`attach ${rt} ${session!.id}`);
    await b.until(/marker-42/); // the scrollback is replayed
    b.p.write("echo again-$((50+5))\r");
    await b.until(/again-55/);
    b.p.write("exit 3\r");
    expect(await b.exited).toBe(3);
    const ended = (await execs()).find((e) => e.id === session!.id)!;
    expect(ended).toMatchObject({ status: "ended", exit_code: 3, ended_by: "exited" });
    const gone = cliTerminal(`attach ${rt} ${session!.id}`);
    await gone.until(/has ended/);
    expect(await gone.exited).toBe(1);
  });
});
