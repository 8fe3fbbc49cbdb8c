/**
 * One started exec, whichever way it was started: `runc exec` (runc.ts RuncExec) or the runtime's agent
 * (agent/client.ts AgentExec). Buffered, streamed and detached exec drive this shape and nothing else, so both paths
 * share their stdin, output, timeout, hangup and exit handling; what differs is how a process is reached: by its
 * host pid for runc exec, through the agent (which signals inside the runtime) for the agent.
 */
import type { Readable, Writable } from "node:stream";
import type * as pty from "node-pty";
import { killGroup, killSession } from "../proc.js";
import type { RuncExit } from "../runc-exec.js";
import type { ExecFailure } from "../runc-failures.js";

/** How a running exec is signalled, and its pid inside the runtime. */
export interface ExecControl {
  /** The command's pid in the runtime's pid namespace (what `top` shows), or null when it is already gone. */
  readonly pid: number | null;
  /** Its host pid, when known (runc exec); null for the agent's execs. */
  readonly hostPid: number | null;
  /** Signals its process group (the command is a session and group leader). */
  group(sig: NodeJS.Signals): void;
  /** Signals every process of its session, background jobs in groups of their own too. */
  session(sig: NodeJS.Signals): void;
}

/** Signalling by host pid: the host sees the runtime's processes, and runc made the command a session leader. */
export function hostControl(hostPid: number, pid: number | null): ExecControl {
  return {
    pid,
    hostPid,
    group: (sig) => killGroup(hostPid, sig),
    session: (sig) => void killSession(hostPid, sig),
  };
}

/** The command's stdio without a terminal. */
export interface ExecPipes {
  stdin: Writable;
  stdout: Readable;
  stderr: Readable;
}

/** The command's terminal, as the daemon drives it: output, keystrokes, size, flow control. */
export interface ExecTerminal {
  /** Output of the terminal (everything the command writes to it). */
  onData(cb: (data: Buffer) => void): void;
  write(data: Buffer | string): void;
  resize(cols: number, rows: number): void;
  /** Stops reading output: the command blocks on write once the terminal's buffers fill, as on a slow terminal. */
  pause(): void;
  resume(): void;
  /** Bytes written to it that the terminal has not taken yet. */
  backlog(): number;
}

/** What buffered, streamed and detached exec need of a started exec. */
export interface ExecHandle {
  /** Without a terminal and not detached: the command's stdin, stdout and stderr. */
  readonly pipes?: ExecPipes;
  /** The pipes end by themselves once the command exited (the agent's); runc's may be held open by background jobs. */
  readonly pipesEndAtExit?: boolean;
  /** With a terminal under `runc exec -t`: the daemon's pty carrying the command's console (see {@link terminal}). */
  readonly pty?: pty.IPty;
  /** With a terminal through the agent: the pty inside the runtime, relayed over the agent's connection. */
  readonly terminal?: ExecTerminal;
  /** When the exec ended: the command's status (128+n for death by signal n), or 255 when it never ran. */
  readonly exited: Promise<RuncExit>;
  /** Where a detached `runc exec`'s reaper writes the command's status (execs/reaper.ts); the agent keeps it itself. */
  readonly statusFile?: string;
  /** Set once the command runs. */
  readonly control: ExecControl | null;
  /**
   * Resolves once the command runs (its control), when it could not be started (undefined: see failure()), or after
   * `timeoutMs` without either (null).
   */
  started(timeoutMs: number): Promise<ExecControl | undefined | null>;
  /** Why the command was not started: 127/126 with a shell's message, or the error to throw. */
  failure(runtime: string, output?: string): Promise<ExecFailure>;
  /** Ends what carries the exec (runc, or the agent connection): the last resort when signals did not end it. */
  kill(): void;
  /** Removes what the exec left on disk. */
  removeFiles(): Promise<void>;
}
