// Placeholder with the agreed signature; the TTY-bridge work replaces this file.
import type { ExecStreamHandle } from "../../client/contract.js";
import { RuntaError } from "../../api/index.js";

/** Terminal-ish streams the bridge drives. */
export interface BridgeIO {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?(mode: boolean): unknown };
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number; rows?: number; on(ev: "resize", cb: () => void): unknown };
  stderr: NodeJS.WritableStream;
}

/** Runs a streamed exec against local stdio; resolves with the CLI exit code (remote code, 125 on runta failure). */
export async function bridgeExec(
  _handle: ExecStreamHandle,
  _io: BridgeIO,
  _opts: { tty: boolean; interactive: boolean; signals?: NodeJS.EventEmitter },
): Promise<number> {
  throw new RuntaError("unavailable", "interactive exec is not available in this build yet");
}
