/**
 * The wire between the daemon and a runtime's agent (agent/runta-agent.c): frames of [kind:1][length:4 big-endian]
 * [payload], one exec per connection, as the exec stream protocol frames output. The spawn request carries the
 * process spec spec.ts `buildExecProcess` built — the one source of exec defaults — flattened to `k=value` items the
 * C side parses without a JSON parser: capabilities as bit masks, rlimits by number.
 */
import type { OciProcess } from "../spec.js";

/** Frame kinds; the C agent has the same table. */
export const KIND = {
  stdout: 1,
  stderr: 2,
  started: 3,
  exit: 4,
  error: 5,
  unknown: 6,
  pong: 7,
  forked: 8,
  spawn: 16,
  stdin: 17,
  closeStdin: 18,
  signal: 19,
  resize: 20,
  wait: 21,
  ping: 22,
  go: 23,
  spare: 24,
} as const;

/** Largest frame either side accepts. */
export const MAX_FRAME = 4 << 20;

/** Linux capability numbers (include/uapi/linux/capability.h). */
const CAP_NUMBERS: Record<string, number> = {
  CAP_CHOWN: 0,
  CAP_DAC_OVERRIDE: 1,
  CAP_DAC_READ_SEARCH: 2,
  CAP_FOWNER: 3,
  CAP_FSETID: 4,
  CAP_KILL: 5,
  CAP_SETGID: 6,
  CAP_SETUID: 7,
  CAP_SETPCAP: 8,
  CAP_LINUX_IMMUTABLE: 9,
  CAP_NET_BIND_SERVICE: 10,
  CAP_NET_BROADCAST: 11,
  CAP_NET_ADMIN: 12,
  CAP_NET_RAW: 13,
  CAP_IPC_LOCK: 14,
  CAP_IPC_OWNER: 15,
  CAP_SYS_MODULE: 16,
  CAP_SYS_RAWIO: 17,
  CAP_SYS_CHROOT: 18,
  CAP_SYS_PTRACE: 19,
  CAP_SYS_PACCT: 20,
  CAP_SYS_ADMIN: 21,
  CAP_SYS_BOOT: 22,
  CAP_SYS_NICE: 23,
  CAP_SYS_RESOURCE: 24,
  CAP_SYS_TIME: 25,
  CAP_SYS_TTY_CONFIG: 26,
  CAP_MKNOD: 27,
  CAP_LEASE: 28,
  CAP_AUDIT_WRITE: 29,
  CAP_AUDIT_CONTROL: 30,
  CAP_SETFCAP: 31,
  CAP_MAC_OVERRIDE: 32,
  CAP_MAC_ADMIN: 33,
  CAP_SYSLOG: 34,
  CAP_WAKE_ALARM: 35,
  CAP_BLOCK_SUSPEND: 36,
  CAP_AUDIT_READ: 37,
  CAP_PERFMON: 38,
  CAP_BPF: 39,
  CAP_CHECKPOINT_RESTORE: 40,
};

/** setrlimit(2) resource numbers by OCI name. */
const RLIMIT_NUMBERS: Record<string, number> = {
  RLIMIT_CPU: 0,
  RLIMIT_FSIZE: 1,
  RLIMIT_DATA: 2,
  RLIMIT_STACK: 3,
  RLIMIT_CORE: 4,
  RLIMIT_RSS: 5,
  RLIMIT_NPROC: 6,
  RLIMIT_NOFILE: 7,
  RLIMIT_MEMLOCK: 8,
  RLIMIT_AS: 9,
  RLIMIT_LOCKS: 10,
  RLIMIT_SIGPENDING: 11,
  RLIMIT_MSGQUEUE: 12,
  RLIMIT_NICE: 13,
  RLIMIT_RTPRIO: 14,
  RLIMIT_RTTIME: 15,
};

/** The bit mask of a list of capability names; an unknown name is a programming error, not silently dropped. */
export function capMask(names: string[]): bigint {
  let mask = 0n;
  for (const name of names) {
    const n = CAP_NUMBERS[name];
    if (n === undefined) throw new Error(`unknown capability ${name}`);
    mask |= 1n << BigInt(n);
  }
  return mask;
}

/** One frame. */
export function encodeFrame(kind: number, payload: Buffer | string = Buffer.alloc(0)): Buffer {
  const body = typeof payload === "string" ? Buffer.from(payload) : payload;
  const head = Buffer.allocUnsafe(5);
  head.writeUInt8(kind, 0);
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

/**
 * The spawn request of one exec: its process spec, whether it is detached (no stdio), its exec id, whether the
 * child is held after the fork until the daemon says go (`hold`: it puts the child in the exec's cgroup first), and
 * the spare (by the exec id it was made for) that takes the request instead of a fork.
 */
export function encodeSpawn(proc: OciProcess, opts: { detached?: boolean; execId?: string; hold?: boolean; spare?: string } = {}): Buffer {
  const items: string[] = [];
  const item = (key: string, value: string | number) => {
    const text = String(value);
    // The C side splits items at NUL: a NUL inside an argument or variable would silently cut it.
    if (text.includes("\0")) throw new Error(`a NUL byte in the process spec (${key})`);
    items.push(`${key}=${text}`);
  };
  for (const a of proc.args) item("a", a);
  for (const e of proc.env) item("e", e);
  item("c", proc.cwd);
  item("u", proc.user.uid);
  item("g", proc.user.gid);
  for (const g of proc.user.additionalGids ?? []) item("G", g);
  item("t", proc.terminal ? 1 : 0);
  item("n", proc.noNewPrivileges ? 1 : 0);
  item("b", capMask(proc.capabilities.bounding).toString());
  item("E", capMask(proc.capabilities.effective).toString());
  item("p", capMask(proc.capabilities.permitted).toString());
  for (const r of proc.rlimits) {
    const type = RLIMIT_NUMBERS[r.type];
    if (type === undefined) throw new Error(`unknown rlimit ${r.type}`);
    item("r", `${type},${r.soft},${r.hard}`);
  }
  if (proc.consoleSize) {
    item("h", proc.consoleSize.height);
    item("w", proc.consoleSize.width);
  }
  if (opts.detached) item("d", 1);
  if (opts.execId) item("i", opts.execId);
  if (opts.hold) item("H", 1);
  if (opts.spare) item("S", opts.spare);
  return encodeFrame(KIND.spawn, Buffer.from(items.map((i) => `${i}\0`).join("")));
}

/** Signal a process group (`session: false`) or every process of the exec's session. */
export function encodeSignal(signal: number, session: boolean): Buffer {
  return encodeFrame(KIND.signal, Buffer.from([signal, session ? 1 : 0]));
}

/** A terminal's new size. */
export function encodeResize(rows: number, cols: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16BE(rows, 0);
  b.writeUInt16BE(cols, 2);
  return encodeFrame(KIND.resize, b);
}

/** Splits a byte stream into frames; a frame larger than {@link MAX_FRAME} is an error (a broken or hostile peer). */
export class FrameReader {
  private pending: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Array<{ kind: number; payload: Buffer }> {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    const frames: Array<{ kind: number; payload: Buffer }> = [];
    while (this.pending.length >= 5) {
      const len = this.pending.readUInt32BE(1);
      if (len > MAX_FRAME) throw new Error(`agent frame of ${len} bytes is over the ${MAX_FRAME}-byte limit`);
      if (this.pending.length < 5 + len) break;
      frames.push({ kind: this.pending[0]!, payload: this.pending.subarray(5, 5 + len) });
      this.pending = this.pending.subarray(5 + len);
    }
    return frames;
  }
}
