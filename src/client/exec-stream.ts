/**
 * The SDK end of the exec-stream websocket (DESIGN §4): one command per connection, frames as JSON text.
 */
import { EventEmitter } from "node:events";
import type { IncomingMessage } from "node:http";
import type WebSocket from "ws";
import { LIMITS } from "../api/limits.js";
import type { ClientFrame, ServerFrame, StreamSignal } from "../api/stream.js";
import type { ExecStreamHandle, ExecStreamOptions, StreamExit } from "./contract.js";
import { apiErrorFrom, apiErrorFromCode, unavailableError } from "./errors.js";

/** Options of {@link ExecStream}. */
export interface ExecStreamInit {
  /** Daemon base URL, e.g. http://127.0.0.1:7420 (http → ws, https → wss). */
  endpoint: string;
  /** Bearer token; sent in the Authorization header, never in the URL. */
  token?: string;
  /** Runtime name or id. */
  runtime: string;
  /** A string runs through `sh -c`; an array runs as is. Not used with `attach`. */
  command?: string | string[];
  options?: ExecStreamOptions;
  /** Reattach to this terminal session instead of starting a command (its last output is replayed first). */
  attach?: { execId: string; rows?: number; cols?: number };
  /**
   * The daemon pings every LIMITS.wsHeartbeatMs; after this long without a ping or frame the connection is taken for
   * dead (a network partition sends no close) and `wait()` rejects. Default 3 × LIMITS.wsHeartbeatMs.
   */
  heartbeatTimeoutMs?: number;
}

/** One chunk of output, as yielded by async iteration over an {@link ExecStream}. */
export interface StreamChunk {
  stream: "stdout" | "stderr";
  data: Buffer;
}

/**
 * The websocket URL of a runtime's exec stream for an HTTP(S) endpoint, or with `attach` of the attach endpoint of
 * one terminal session (the terminal size in the query).
 */
export function execStreamUrl(endpoint: string, runtime: string, attach?: ExecStreamInit["attach"]): string {
  const url = new URL(endpoint);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  const rt = `${url.pathname.replace(/\/+$/, "")}/v1/runtimes/${encodeURIComponent(runtime)}`;
  url.pathname = attach ? `${rt}/execs/${encodeURIComponent(attach.execId)}/attach` : `${rt}/exec/stream`;
  url.search = "";
  url.hash = "";
  if (attach?.rows && attach.cols) {
    url.searchParams.set("rows", String(attach.rows));
    url.searchParams.set("cols", String(attach.cols));
  }
  return url.toString();
}

/**
 * A streamed exec. Events: `stdout`/`stderr` (Buffer), `exit` (StreamExit), `error` (typed error; only emitted when
 * someone listens, `wait()` always reports it). Writes made before the connection opens are queued, in order.
 * Default: no tty; with `tty: true` the size defaults to 24x80 on the daemon side unless `rows`/`cols` are given.
 */
export class ExecStream extends EventEmitter implements ExecStreamHandle {
  /** The websocket URL this stream connects to. */
  readonly url: string;
  /** The exec object's id, once the daemon sent `started` (at once when attaching). */
  execId?: string;
  /** Set once `ws` is loaded (a microtask after construction): frames sent before then wait in `queue`. */
  private ws?: WebSocket;
  private readonly endpoint: string;
  private readonly queue: string[] = [];
  private readonly done: Promise<StreamExit>;
  private settle!: { resolve(exit: StreamExit): void; reject(err: Error): void };
  private settled = false;
  private stdinClosed = false;
  private closedByUs = false;
  private silence?: NodeJS.Timeout;
  private readonly heartbeatTimeoutMs: number;

  constructor(opts: ExecStreamInit) {
    super();
    this.endpoint = opts.endpoint;
    this.url = execStreamUrl(opts.endpoint, opts.runtime, opts.attach);
    this.execId = opts.attach?.execId;
    this.heartbeatTimeoutMs = opts.heartbeatTimeoutMs ?? 3 * LIMITS.wsHeartbeatMs;
    this.done = new Promise<StreamExit>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    // wait() may never be called (event-only users); the rejection is still delivered to whoever awaits it.
    this.done.catch(() => undefined);

    const o = opts.options ?? {};
    if (!opts.attach) {
      const start: ClientFrame = {
        type: "start",
        command: opts.command ?? [],
        ...(o.env ? { env: o.env } : {}),
        ...(o.cwd ? { cwd: o.cwd } : {}),
        tty: o.tty === true,
        ...(o.rows ? { rows: o.rows } : {}),
        ...(o.cols ? { cols: o.cols } : {}),
        ...(o.user ? { user: o.user } : {}),
        ...(o.graceSecs !== undefined ? { grace_secs: o.graceSecs } : {}),
      };
      this.queue.push(JSON.stringify(start));
    }

    // `ws` is loaded on the first stream, not at import: a CLI command that never execs does not pay for it (~35 ms).
    import("ws")
      .then(({ default: WebSocketClass }) => this.connect(WebSocketClass, opts.token))
      .catch((err: Error) => this.fail(apiErrorFromCode("unavailable", `cannot open the exec stream to ${this.endpoint}: ${err.message}`)));
  }

  private connect(WebSocketClass: typeof WebSocket, token: string | undefined): void {
    if (this.settled) return;
    if (this.closedByUs) {
      this.fail(apiErrorFromCode("unavailable", "the exec stream was closed before the command exited"));
      return;
    }
    const ws = new WebSocketClass(this.url, {
      headers: token ? { Authorization: `Bearer ${token}` } : {},
      maxPayload: LIMITS.wsMaxPayloadBytes,
      perMessageDeflate: false,
      handshakeTimeout: 30_000,
    });
    this.ws = ws;
    ws.on("open", () => {
      this.alive();
      this.flush();
    });
    ws.on("ping", () => this.alive());
    ws.on("message", (data, isBinary) => {
      this.alive();
      this.onMessage(data, isBinary);
    });
    ws.on("unexpected-response", (_req, res) => this.onRefused(res));
    // The same UnavailableError (and wording) as a REST request to a daemon that is not there.
    ws.on("error", (err) => this.fail(unavailableError(this.endpoint, err)));
    ws.on("close", (code, reason) => {
      clearTimeout(this.silence);
      if (this.closedByUs) {
        this.fail(apiErrorFromCode("unavailable", "the exec stream was closed before the command exited"));
        return;
      }
      const why = reason.length > 0 ? `: ${reason.toString()}` : "";
      this.fail(
        apiErrorFromCode(
          "unavailable",
          `connection to the runta daemon at ${this.endpoint} closed before the command exited (code ${code}${why}); was the daemon stopped?`,
        ),
      );
    });
  }

  /** Sends bytes to the command's stdin (queued until the connection is open). */
  write(data: Buffer | string): void {
    if (this.stdinClosed) return;
    const buf = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    // Large writes are split so that no frame exceeds the daemon's maxPayload once base64-encoded.
    const max = Math.floor((LIMITS.wsMaxPayloadBytes * 3) / 4) - 1024;
    for (let off = 0; off < buf.length; off += max) {
      this.sendFrame({ type: "stdin", data_base64: buf.subarray(off, off + max).toString("base64") });
    }
  }

  /** Signals end of input to the command (EOF on its stdin). */
  closeStdin(): void {
    if (this.stdinClosed) return;
    this.stdinClosed = true;
    this.sendFrame({ type: "close_stdin" });
  }

  /** Resizes the remote terminal (tty sessions). */
  resize(rows: number, cols: number): void {
    if (!(rows >= 1 && cols >= 1)) return;
    this.sendFrame({ type: "resize", rows: Math.min(1000, Math.floor(rows)), cols: Math.min(1000, Math.floor(cols)) });
  }

  /** Sends a signal to the command's process group. */
  signal(sig: StreamSignal): void {
    this.sendFrame({ type: "signal", signal: sig });
  }

  /** Closes the connection; the daemon hangs up the process. `wait()` then rejects unless the command had exited. */
  close(): void {
    this.closedByUs = true;
    const ws = this.ws;
    if (ws && (ws.readyState === ws.CONNECTING || ws.readyState === ws.OPEN)) ws.close(1000, "client closed");
  }

  /** Resolves with the exit; rejects with a typed RuntaApiError (from the daemon's error frame, or unavailable). */
  wait(): Promise<StreamExit> {
    return this.done;
  }

  /** Iterates over output chunks until the command exits; throws what `wait()` would reject with. */
  async *[Symbol.asyncIterator](): AsyncGenerator<StreamChunk> {
    const buffered: StreamChunk[] = [];
    let wake: (() => void) | undefined;
    const onOut = (data: Buffer) => {
      buffered.push({ stream: "stdout", data });
      wake?.();
    };
    const onErr = (data: Buffer) => {
      buffered.push({ stream: "stderr", data });
      wake?.();
    };
    let finished = false;
    this.on("stdout", onOut).on("stderr", onErr);
    this.done.then(
      () => ((finished = true), wake?.()),
      () => ((finished = true), wake?.()),
    );
    try {
      for (;;) {
        const next = buffered.shift();
        if (next) {
          yield next;
          continue;
        }
        if (finished) break;
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
      await this.done;
    } finally {
      this.off("stdout", onOut).off("stderr", onErr);
    }
  }

  private sendFrame(frame: ClientFrame): void {
    if (this.settled) return;
    const text = JSON.stringify(frame);
    if (!this.ws || this.ws.readyState === this.ws.CONNECTING) this.queue.push(text);
    else if (this.ws.readyState === this.ws.OPEN) this.ws.send(text);
  }

  /** Restarts the silence timer: the daemon is still there. */
  private alive(): void {
    clearTimeout(this.silence);
    if (this.settled) return;
    this.silence = setTimeout(() => {
      this.fail(
        apiErrorFromCode(
          "unavailable",
          `no heartbeat from the runta daemon at ${this.endpoint} for ${this.heartbeatTimeoutMs} ms; the connection is lost`,
        ),
      );
      this.ws?.terminate();
    }, this.heartbeatTimeoutMs);
    this.silence.unref();
  }

  private flush(): void {
    for (const text of this.queue.splice(0)) this.ws?.send(text);
  }

  private onMessage(data: WebSocket.RawData, isBinary: boolean): void {
    if (isBinary || this.settled) return;
    let frame: ServerFrame;
    try {
      frame = JSON.parse(rawToString(data)) as ServerFrame;
    } catch {
      return this.fail(apiErrorFromCode("internal", "the daemon sent a frame that is not JSON; are client and daemon versions in step?"));
    }
    switch (frame.type) {
      case "started":
        this.execId = frame.exec_id;
        this.emit("started", { exec_id: frame.exec_id });
        break;
      case "stdout":
      case "stderr":
        this.emit(frame.type, Buffer.from(frame.data_base64, "base64"));
        break;
      case "exit": {
        const exit: StreamExit = { code: frame.code, signal: frame.signal ?? null, oom_killed: frame.oom_killed ?? false };
        this.settled = true;
        clearTimeout(this.silence);
        this.emit("exit", exit);
        this.settle.resolve(exit);
        this.ws?.close(1000, "done");
        break;
      }
      case "error":
        this.fail(apiErrorFromCode(frame.code, frame.message));
        this.ws?.close(1000, "done");
        break;
    }
  }

  /** The daemon answered the upgrade with a plain HTTP error: the one factory rebuilds the typed error from it. */
  private onRefused(res: IncomingMessage): void {
    const chunks: Buffer[] = [];
    res.on("data", (c: Buffer) => chunks.push(c));
    res.on("error", () => undefined);
    res.on("end", () => {
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        // Not our envelope (a proxy, say): the status alone decides.
      }
      const requestId = res.headers["x-request-id"];
      this.fail(apiErrorFrom(res.statusCode ?? 0, body, typeof requestId === "string" ? requestId : undefined));
      this.ws?.terminate();
    });
  }

  private fail(err: Error): void {
    clearTimeout(this.silence);
    if (this.settled) return;
    this.settled = true;
    this.settle.reject(err);
    if (this.listenerCount("error") > 0) this.emit("error", err);
  }
}

function rawToString(data: WebSocket.RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString("utf8");
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString("utf8");
  return data.toString("utf8");
}

