/**
 * Detached execs belong to the runtime, not to the daemon: a daemon killed (a crash) leaves them running, and the
 * next daemon lists them again — running ones as running, one that ended meanwhile with the exit code its reaper
 * (runc exec) or the runtime's agent kept, one whose status is lost as "unknown". Both exec paths: the agent (the
 * default) and runc exec (RUNTA_EXEC_AGENT=off).
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, test } from "vitest";
import type { ExecInfo } from "../../src/api/index.js";
import { daemonSuite } from "../helpers/daemon-suite.js";

const byId = (list: ExecInfo[], id: string) => list.find((e) => e.id === id)!;

describe.each([
  { path: "the agent", agent: true },
  { path: "runc exec", agent: false },
])("through $path", ({ agent }) => {
const d = daemonSuite({ env: agent ? {} : { RUNTA_EXEC_AGENT: "off" } }).daemon;

test("a daemon restart keeps detached execs running and lists them again, with exit codes learnt meanwhile", async () => {
  let runta = d.client();
  const rt = await runta.runtimes.create("keep-execs", { image: "busybox", memoryMiB: 64 });
  const server = await runta.execs.start(rt.id, ["sleep", "300"]);
  const quick = await runta.execs.start(rt.id, ["sh", "-c", "sleep 2; exit 5"]);
  const lost = await runta.execs.start(rt.id, ["sh", "-c", "sleep 2; exit 6"]);
  expect(server).toMatchObject({ kind: "detached", status: "running", command: ["sleep", "300"] });
  expect(server.pid).toBeGreaterThan(1);

  await d.kill();
  await new Promise((r) => setTimeout(r, 2500));
  const record = join(d.dataDir, "runtimes", rt.id, "exec", `${lost.id}.exec.json`);
  const { statusFile, agent: byAgent } = JSON.parse(readFileSync(record, "utf8")) as { statusFile: string | null; agent?: boolean };
  expect(byAgent ?? false).toBe(agent);
  let lostId = lost.id;
  if (agent) {
    // The agent keeps statuses in memory (a runtime reboot loses them): a record naming an exec this agent never
    // started stands for one whose status is lost.
    lostId = "0123456789ab";
    writeFileSync(join(dirname(record), `${lostId}.exec.json`), JSON.stringify({ ...JSON.parse(readFileSync(record, "utf8")), id: lostId }));
    rmSync(record);
  } else {
    // The reaper of `lost` left its status file; remove it, as if the host had lost it.
    expect(readFileSync(statusFile!, "utf8")).toBe("6\n");
    rmSync(statusFile!);
  }
  await d.restart();
  runta = d.client();

  const list = await runta.execs.list(rt.id);
  expect(byId(list, server.id)).toMatchObject({ status: "running", pid: server.pid, ended_by: null });
  expect(byId(list, quick.id)).toMatchObject({ status: "ended", exit_code: 5, ended_by: "exited" });
  expect(byId(list, lostId)).toMatchObject({ status: "ended", exit_code: null, ended_by: "unknown" });

  // Still ours to signal after the restart; its end is noticed by polling (it is no longer the daemon's child).
  await runta.execs.signal(rt.id, server.id, "KILL");
  let after: ExecInfo | undefined;
  for (let i = 0; i < 40; i++) {
    after = await runta.execs.get(rt.id, server.id);
    if (after.status === "ended") break;
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(after).toMatchObject({ status: "ended", exit_code: 137, ended_by: "killed" });
});
});
