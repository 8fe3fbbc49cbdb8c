import { expect, test } from "vitest";
import { FrameReader, KIND, MAX_FRAME, capMask, encodeFrame, encodeSignal, encodeSpawn } from "../../src/engine/agent/protocol.js";
import { CAPABILITIES, buildExecProcess, buildRuntimeSpec, type OciProcess } from "../../src/engine/spec.js";

/** The `k=value` items of a spawn frame, as the C agent splits them. */
function items(frame: Buffer): string[] {
  const [f] = new FrameReader().push(frame);
  expect(f!.kind).toBe(KIND.spawn);
  const text = f!.payload.toString();
  expect(text.endsWith("\0")).toBe(true);
  return text.slice(0, -1).split("\0");
}

const values = (list: string[], key: string) => list.filter((i) => i.startsWith(`${key}=`)).map((i) => i.slice(key.length + 1));

test("a spawn request carries the process spec buildExecProcess made: argv, env, cwd, user, groups, rlimits, tty size", () => {
  const proc = buildExecProcess({
    argv: ["sh", "-c", "echo a=b"],
    env: { K: "v=1" },
    cwd: "/srv",
    tty: true,
    rows: 40,
    cols: 120,
    user: { uid: 1000, gid: 1000, additionalGids: [27, 100], home: "/home/u", name: "u" } as never,
  });
  const list = items(encodeSpawn(proc, { execId: "abc123" }));
  expect(values(list, "a")).toEqual(["sh", "-c", "echo a=b"]);
  expect(values(list, "e")).toEqual(proc.env);
  expect(values(list, "e")).toContain("K=v=1");
  expect(values(list, "c")).toEqual(["/srv"]);
  expect(values(list, "u")).toEqual(["1000"]);
  expect(values(list, "g")).toEqual(["1000"]);
  expect(values(list, "G")).toEqual(["27", "100"]);
  expect(values(list, "t")).toEqual(["1"]);
  expect(values(list, "n")).toEqual(["1"]);
  expect(values(list, "h")).toEqual(["40"]);
  expect(values(list, "w")).toEqual(["120"]);
  expect(values(list, "i")).toEqual(["abc123"]);
  expect(values(list, "d")).toEqual([]);
  const nofile = proc.rlimits.find((r) => r.type === "RLIMIT_NOFILE")!;
  expect(values(list, "r")).toEqual([`7,${nofile.soft},${nofile.hard}`]);
});

test("capabilities: an exec as root asks for exactly the init's sets, another user for none; nothing above the init's", () => {
  const init = (buildRuntimeSpec({ id: "x", hostname: "h", rootfsPath: "/r", vcpus: 1, memoryMib: 64, cgroupParent: "p", initArgv: ["/.runta/runta-agent"] }) as { process: OciProcess }).process;
  expect(init.args).toEqual(["/.runta/runta-agent"]);
  const initMask = capMask(init.capabilities.permitted);
  const root = items(encodeSpawn(buildExecProcess({ argv: ["true"], tty: false })));
  const nobody = items(encodeSpawn(buildExecProcess({ argv: ["true"], tty: false, user: { uid: 65534, gid: 65534, additionalGids: [], home: "/", name: "nobody" } as never })));
  for (const list of [root, nobody]) {
    for (const key of ["b", "E", "p"]) expect(BigInt(values(list, key)[0]!) & ~initMask).toBe(0n);
    expect(BigInt(values(list, "b")[0]!)).toBe(capMask(init.capabilities.bounding));
  }
  expect(BigInt(values(root, "E")[0]!)).toBe(initMask);
  expect(BigInt(values(root, "p")[0]!)).toBe(initMask);
  expect(values(nobody, "E")).toEqual(["0"]);
  expect(values(nobody, "p")).toEqual(["0"]);
  // Spot-check the numbering against capability.h: CAP_CHOWN is bit 0, CAP_SETFCAP bit 31, CAP_NET_RAW (13) is not in the set.
  expect(capMask(["CAP_CHOWN"])).toBe(1n);
  expect(capMask(["CAP_SETFCAP"])).toBe(1n << 31n);
  expect(initMask & (1n << 13n)).toBe(0n);
  expect(capMask(CAPABILITIES)).toBe(initMask);
  expect(() => capMask(["CAP_NOT_A_THING"])).toThrow(/unknown capability/);
});

test("detached requests say so; a NUL inside an argument is refused rather than cut", () => {
  expect(values(items(encodeSpawn(buildExecProcess({ argv: ["sleep", "1"], tty: false }), { detached: true })), "d")).toEqual(["1"]);
  expect(() => encodeSpawn(buildExecProcess({ argv: ["echo", "a\0b"], tty: false }))).toThrow(/NUL/);
});

test("frames are split across chunks and joined within one; an oversized frame is an error", () => {
  const reader = new FrameReader();
  const a = encodeFrame(KIND.stdout, "hello");
  const b = encodeFrame(KIND.exit, "0");
  const both = Buffer.concat([a, b]);
  expect(reader.push(both.subarray(0, 3))).toEqual([]);
  expect(reader.push(both.subarray(3, 8)).map((f) => f.payload.toString())).toEqual([]);
  const rest = reader.push(both.subarray(8));
  expect(rest.map((f) => [f.kind, f.payload.toString()])).toEqual([
    [KIND.stdout, "hello"],
    [KIND.exit, "0"],
  ]);
  const big = Buffer.alloc(5);
  big.writeUInt8(KIND.stdout, 0);
  big.writeUInt32BE(MAX_FRAME + 1, 1);
  expect(() => new FrameReader().push(big)).toThrow(/limit/);
  expect([...encodeSignal(15, true)]).toEqual([KIND.signal, 0, 0, 0, 2, 15, 1]);
});
