/**
 * The exec agent's protocol against the real binary (dist/runta-agent, built by `npm run build`), without runc: the
 * launcher binds the socket and runs `unshare --pid --fork --mount-proc` with the agent as PID 1 of a new pid
 * namespace, and the daemon's client (agent/client.ts) talks to it. The agent inside real runtimes is tested in
 * agent-engine.test.ts.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, test } from "vitest";
import { RuntaError } from "../../src/api/index.js";
import { BUILT_AGENT_PATH } from "../../src/engine/agent/agents.js";
import { agentExec, agentWait, type AgentExec } from "../../src/engine/agent/client.js";
import { buildExecProcess } from "../../src/engine/spec.js";

let dir: string;
let socket: string;
let unshare: ChildProcess;

/** The agent's host pid: the child of `unshare`, once it runs the agent. */
function agentHostPid(): number {
  for (const name of readdirSync("/proc").filter((n) => /^\d+$/.test(n))) {
    const stat = (() => {
      try {
        return readFileSync(`/proc/${name}/stat`, "utf8");
      } catch {
        return "";
      }
    })();
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    if (ppid === unshare.pid && comm === "runta-agent") return Number(name);
  }
  throw new Error("the agent is not running");
}

beforeAll(async () => {
  expect(existsSync(BUILT_AGENT_PATH), "dist/runta-agent: run npm run build").toBe(true);
  dir = mkdtempSync(join(tmpdir(), "runta-agent-"));
  socket = join(dir, "agent.sock");
  unshare = spawn(BUILT_AGENT_PATH, ["--listen", socket, "--", "unshare", "--pid", "--fork", "--mount-proc", "--kill-child", BUILT_AGENT_PATH], { stdio: "inherit" });
  for (let i = 0; i < 500; i++) {
    try {
      agentHostPid();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 10));
    }
  }
  agentHostPid();
});

afterAll(() => {
  unshare?.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

const proc = (argv: string[], extra: { cwd?: string } = {}) => buildExecProcess({ argv, tty: false, cwd: extra.cwd ?? "/", env: { PATH: "/usr/bin:/bin" } });

/** Runs one exec to its end: its output and exit code. */
async function run(exec: AgentExec, stdin?: string): Promise<{ out: string; err: string; code: number }> {
  let out = "";
  let err = "";
  exec.pipes!.stdout.on("data", (d: Buffer) => (out += d));
  exec.pipes!.stderr.on("data", (d: Buffer) => (err += d));
  if (stdin !== undefined) exec.pipes!.stdin.end(stdin);
  const { code } = await exec.exited;
  await new Promise((r) => setImmediate(r));
  return { out, err, code };
}

test("a command's stdout and stderr arrive apart, then its exit code; stdin reaches it and its end is an EOF", async () => {
  const exec = await agentExec(socket, proc(["sh", "-c", "echo out; echo err >&2; exit 3"]));
  expect((await exec.started(5000))?.pid).toBeGreaterThan(1);
  expect(await run(exec)).toEqual({ out: "out\n", err: "err\n", code: 3 });
  const cat = await agentExec(socket, proc(["cat"]));
  expect(await run(cat, "through stdin\n".repeat(10_000))).toEqual({ out: "through stdin\n".repeat(10_000), err: "", code: 0 });
});

test("a terminal: the requested size, a controlling tty, keystrokes through its line discipline, resize, and ^D", async () => {
  const term = buildExecProcess({ argv: ["sh", "-c", "stty size; read x; echo got $x; stty size; cat; echo done"], tty: true, rows: 30, cols: 100, cwd: "/", env: { PATH: "/usr/bin:/bin" } });
  const exec = await agentExec(socket, term);
  expect(exec.pipes).toBeUndefined();
  let out = "";
  exec.terminal!.onData((d) => (out += d.toString()));
  expect(await exec.started(5000)).toBeTruthy();
  const until = async (re: RegExp) => {
    for (let i = 0; i < 500 && !re.test(out); i++) await new Promise((r) => setTimeout(r, 10));
    expect(out).toMatch(re);
  };
  await until(/30 100\r\n/);
  exec.terminal!.resize(120, 40);
  exec.terminal!.write("hi\r");
  await until(/got hi\r\n40 120\r\n/);
  exec.terminal!.write("\x04");
  expect((await exec.exited).code).toBe(0);
  expect(out).toMatch(/done\r\n$/);
  // Echoed by the terminal's line discipline, as a terminal does.
  expect(out).toContain("hi\r\n");
});

test("not found, not executable and a missing cwd are the failures runc exec reports (127, 126, invalid cwd)", async () => {
  const missing = await agentExec(socket, proc(["no-such-command"]));
  expect(await missing.started(5000)).toBeUndefined();
  expect(await missing.failure("the runtime")).toEqual({ exitCode: 127, message: "no-such-command: command not found" });
  const notExec = await agentExec(socket, proc(["/etc/hostname"]));
  expect(await notExec.started(5000)).toBeUndefined();
  expect(await notExec.failure("the runtime")).toMatchObject({ exitCode: 126 });
  const cwd = await agentExec(socket, proc(["true"], { cwd: "/nonexistent" }));
  expect(await cwd.started(5000)).toBeUndefined();
  const err = await cwd.failure("the runtime");
  expect(err).toBeInstanceOf(RuntaError);
  expect((err as RuntaError).code).toBe("invalid_argument");
});

test("signals reach the process group, or with session: true every process of the session", async () => {
  const exec = await agentExec(socket, proc(["sleep", "100"]));
  const control = await exec.started(5000);
  control!.group("SIGTERM");
  expect((await exec.exited).code).toBe(143);
  // A background job in a process group of its own outlives a group signal, not a session one.
  const shell = await agentExec(socket, proc(["sh", "-c", "set -m; sleep 100 & echo $!; wait"]));
  const sc = await shell.started(5000);
  let out = "";
  shell.pipes!.stdout.on("data", (d: Buffer) => (out += d));
  for (let i = 0; i < 500 && !out.includes("\n"); i++) await new Promise((r) => setTimeout(r, 10));
  sc!.session("SIGKILL");
  expect((await shell.exited).code).toBe(137);
});

test("a detached exec goes on without its connection, and a later connection learns how it ended", async () => {
  const detached = await agentExec(socket, proc(["sh", "-c", "sleep 0.3; exit 7"]), { detached: true, execId: "d-1" });
  expect(await detached.started(5000)).toBeTruthy();
  expect(detached.pipes).toBeUndefined();
  detached.abandon();
  const running = await agentWait(socket, "d-1");
  expect(await running.started(5000)).toBeTruthy();
  expect((await running.exited).code).toBe(7);
  const ended = await agentWait(socket, "d-1");
  expect(await ended.started(5000)).toBeUndefined();
  expect((await ended.exited).code).toBe(7);
  const unknown = await agentWait(socket, "never-started");
  await unknown.exited;
  expect(unknown.unknown).toBe(true);
});

test("a process inside the agent's pid namespace is refused, even with the socket in reach", async () => {
  // nsenter joins the agent's pid namespace only (the host's mount namespace keeps the socket reachable).
  const client = `const s=require("net").connect(${JSON.stringify(socket)});let b=Buffer.alloc(0);s.on("data",d=>b=Buffer.concat([b,d]));s.on("error",()=>{});s.on("close",()=>{process.stdout.write(b.subarray(5).toString())})`;
  const out = await new Promise<string>((resolve, reject) => {
    const child = spawn("nsenter", ["--target", String(agentHostPid()), "--pid", "--", process.execPath, "-e", client], { stdio: ["ignore", "pipe", "pipe"] });
    let text = "";
    child.stdout.on("data", (d: Buffer) => (text += d));
    child.stderr.on("data", (d: Buffer) => (text += d));
    child.on("error", reject);
    child.on("close", () => resolve(text));
  });
  expect(out).toMatch(/refused: only the runta daemon/);
  // The same request from here (outside) is answered.
  const ok = await agentExec(socket, proc(["true"]));
  expect((await ok.exited).code).toBe(0);
});
