/**
 * `runta.execs`: exec objects (list, get, signal), detached starts, the framed output stream plain `runta exec`
 * reads, and reattaching to a terminal session. Every method takes the runtime by name or id.
 */
import type { ExecInfo } from "../api/execs.js";
import type { ExecSignal } from "../api/signals.js";
import { EXEC_STREAM_CONTENT_TYPE, FrameDecoder, FrameError, type ExitFrame } from "../api/exec-frames.js";
import type { ExecAttachOptions, ExecRunOptions, ExecStartOptions, ExecsApi, ExecStreamHandle, StreamedExit } from "./contract.js";
import { apiErrorFromCode } from "./errors.js";
import { ExecStream } from "./exec-stream.js";
import { Transport, bodyChunks, discardBody, seg } from "./http.js";

/** The body of `POST /v1/runtimes/{rt}/execs` for a command and its options. */
function createBody(command: string | string[], opts: ExecStartOptions, detach: boolean): Record<string, unknown> {
  return { command, cwd: opts.cwd, env: opts.env, user: opts.user, timeout_secs: opts.timeoutSecs, ...(detach ? { detach: true } : {}) };
}

/** `runta.execs`. */
export class ExecsClient implements ExecsApi {
  constructor(private readonly http: Transport) {}

  /** The runtime's running and recently finished execs, oldest first. */
  async list(runtime: string): Promise<ExecInfo[]> {
    return (await this.http.json<ExecInfo[]>("GET", `/v1/runtimes/${seg(runtime)}/execs`)).data;
  }

  /** One exec. */
  async get(runtime: string, id: string): Promise<ExecInfo> {
    return (await this.http.json<ExecInfo>("GET", `/v1/runtimes/${seg(runtime)}/execs/${seg(id)}`)).data;
  }

  /** Sends a signal (default TERM) to the exec's process group; resolves with the exec as it is then. */
  async signal(runtime: string, id: string, signal: ExecSignal = "TERM"): Promise<ExecInfo> {
    return (await this.http.json<ExecInfo>("POST", `/v1/runtimes/${seg(runtime)}/execs/${seg(id)}/signal`, { body: { signal } })).data;
  }

  /** Starts a command detached (output discarded, no timeout unless given) and resolves with its exec object at once. */
  async start(runtime: string, command: string | string[], opts: ExecStartOptions = {}): Promise<ExecInfo> {
    return (await this.http.json<ExecInfo>("POST", `/v1/runtimes/${seg(runtime)}/execs`, { body: createBody(command, opts, true) })).data;
  }

  /**
   * Runs a command and streams its output as it is produced, byte for byte: `onStdout`/`onStderr` get each chunk
   * (a returned promise is awaited before more is read, which is the backpressure). Resolves with the exit. No
   * timeout unless `timeoutSecs`; aborting `signal` closes the stream, and the daemon kills the command.
   */
  async run(runtime: string, command: string | string[], opts: ExecRunOptions = {}): Promise<StreamedExit> {
    const res = await this.http.send("POST", `/v1/runtimes/${seg(runtime)}/execs`, {
      body: createBody(command, opts, false),
      headers: { Accept: EXEC_STREAM_CONTENT_TYPE },
      signal: opts.signal,
      retry: false,
    });
    const body = bodyChunks(res);
    if (!body || !(res.headers.get("content-type") ?? "").startsWith(EXEC_STREAM_CONTENT_TYPE)) {
      await discardBody(res);
      throw apiErrorFromCode("internal", "the daemon did not answer with an exec stream; is it a runta daemon of this version?");
    }
    const decoder = new FrameDecoder();
    let execId = "";
    let exit: (ExitFrame & { exec_id: string }) | undefined;
    const chunks = body[Symbol.asyncIterator]();
    for (;;) {
      let next: IteratorResult<Uint8Array>;
      try {
        next = await chunks.next();
      } catch (err) {
        if (opts.signal?.aborted) throw err;
        throw apiErrorFromCode("unavailable", `the exec stream from ${this.http.endpoint} broke before the command ended: ${(err as Error).message}`);
      }
      if (next.done) break;
      let frames;
      try {
        frames = decoder.push(next.value);
      } catch (err) {
        await chunks.return?.();
        throw apiErrorFromCode("internal", `the daemon's exec stream is malformed (${(err as FrameError).message})`);
      }
      // What the callbacks throw (a closed stdout, say) goes up unchanged, and closing the stream ends the command.
      try {
        for (const f of frames) {
          switch (f.kind) {
            case "stdout":
              await opts.onStdout?.(f.data);
              break;
            case "stderr":
              await opts.onStderr?.(f.data);
              break;
            case "started":
              execId = f.exec_id;
              opts.onStarted?.({ exec_id: f.exec_id, pid: f.pid });
              break;
            case "exit":
              exit = { code: f.code, signal: f.signal, oom_killed: f.oom_killed, ended_by: f.ended_by, exec_id: execId };
              break;
            case "error":
              throw apiErrorFromCode(f.code, f.message);
          }
        }
      } catch (err) {
        await chunks.return?.();
        throw err;
      }
    }
    if (!exit) {
      throw apiErrorFromCode(
        "unavailable",
        `the exec stream from ${this.http.endpoint} ended before the command did (was the daemon stopped?); see runta top ${runtime}${execId ? ` for exec ${execId}` : ""}`,
      );
    }
    return exit;
  }

  /** Reattaches to a terminal session (`exec -it`) whose client went away: its last output is replayed, then live. */
  attach(runtime: string, id: string, opts: ExecAttachOptions = {}): ExecStreamHandle {
    return new ExecStream({ endpoint: this.http.endpoint, token: this.http.token, runtime, attach: { execId: id, rows: opts.rows, cols: opts.cols } });
  }
}
