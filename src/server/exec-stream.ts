/**
 * The exec-stream websocket (DESIGN §4): `GET /v1/runtimes/{rt}/exec/stream`, one command per connection.
 *
 * Authentication, the Origin/Host check and the session cap all happen in the HTTP `upgrade` handler, so a refused
 * client gets a plain HTTP error (401, 403, 404, 429, 503) and never a 101. After the upgrade the first frame must be
 * `start`; the process then lives exactly as long as the socket: when the socket closes or stops answering pings
 * before the process exits, the process is hung up (SIGHUP, then SIGKILL) so no shell is left running unattended.
 */
import type http from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, WebSocket, type RawData } from "ws";
import { ClientFrameSchema, LIMITS, RuntaError, httpStatusFor, type ClientFrame, type ErrorCode, type ServerFrame, type StartFrame } from "../api/index.js";
import type { Engine, StreamProcess, StreamSpec } from "../engine/types.js";
import type { Logger } from "../log.js";

/** What the exec-stream endpoint needs from the daemon. */
export interface ExecStreamDeps {
  engine: Engine;
  /** True when the request carries the daemon's bearer token (constant-time comparison is the caller's job). */
  authenticate(req: http.IncomingMessage): boolean;
  /** True when Host and Origin are acceptable (DNS-rebinding protection). */
  checkOrigin(req: http.IncomingMessage): boolean;
  logger?: Logger;
  /** Ping interval; a peer that misses 2 pongs in a row is terminated. Default LIMITS.wsHeartbeatMs. */
  heartbeatMs?: number;
  /** Concurrent sessions (including handshakes in progress). Default LIMITS.wsMaxSessions. */
  maxSessions?: number;
  /** How long a connection may wait before sending `start`. Default 10 s. */
  startTimeoutMs?: number;
}

/** Handle returned by {@link attachExecStream}. */
export interface ExecStreamServer {
  /** Closes every session with the given websocket close code (1001 on daemon shutdown) and refuses new ones. */
  closeAll(code: number, reason: string): void;
  /** Number of live sessions (for health output and tests). */
  readonly sessionCount: number;
}

/** Above this many unsent bytes the process is paused (when it can be); below the low mark it is resumed. */
const HIGH_WATER_BYTES = 1024 * 1024;
const LOW_WATER_BYTES = 256 * 1024;
/** A client that lets this much output pile up while the process cannot be paused is cut off. */
const HARD_LIMIT_BYTES = 64 * 1024 * 1024;
/** Frames that may arrive between `start` and the process being ready (e.g. stdin typed ahead). */
const MAX_QUEUED_FRAMES = 1024;
/** Above this much stdin not yet taken by the command the socket is no longer read; below the low mark it is again. */
const STDIN_HIGH_WATER_BYTES = 1024 * 1024;
const STDIN_LOW_WATER_BYTES = 256 * 1024;
const STDIN_POLL_MS = 20;

const PATH_RE = /^\/v1\/runtimes\/([^/]+)\/exec\/stream\/?$/;

const STATUS_TEXT: Record<number, string> = {
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  429: "Too Many Requests",
  503: "Service Unavailable",
};

/**
 * Serves the exec stream on `server`'s `upgrade` event. Call once per HTTP server; the REST routes are untouched.
 */
export function attachExecStream(server: http.Server, deps: ExecStreamDeps): ExecStreamServer {
  const heartbeatMs = deps.heartbeatMs ?? LIMITS.wsHeartbeatMs;
  const maxSessions = deps.maxSessions ?? LIMITS.wsMaxSessions;
  const startTimeoutMs = deps.startTimeoutMs ?? 10_000;
  const log = deps.logger;
  const wss = new WebSocketServer({ noServer: true, maxPayload: LIMITS.wsMaxPayloadBytes, perMessageDeflate: false });
  /** Live sessions: each socket and the function that ends its session (hanging its process up). */
  const sockets = new Map<WebSocket, (code: number, reason: string) => void>();
  let pending = 0;
  let closing = false;

  server.on("upgrade", (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    // A client resetting the connection mid-handshake must not crash the daemon.
    const onHandshakeError = (err: Error) => log?.warn("exec stream: socket error during upgrade", { error: err.message });
    socket.on("error", onHandshakeError);
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    const match = PATH_RE.exec(path);
    if (!match) return refuse(socket, 404, "not_found", `no websocket endpoint at ${path}; use /v1/runtimes/{runtime}/exec/stream`);
    if (!deps.checkOrigin(req)) {
      return refuse(socket, 403, "permission_denied", "Host or Origin header is not allowed; connect through a loopback address");
    }
    if (!deps.authenticate(req)) {
      return refuse(socket, 401, "unauthenticated", "missing or invalid token; send 'Authorization: Bearer <token>' (see RUNTA_TOKEN)");
    }
    if (closing) return refuse(socket, 503, "unavailable", "the daemon is shutting down; retry once it is back");
    if (sockets.size + pending >= maxSessions) {
      return refuse(socket, 429, "resource_exhausted", `too many exec sessions (at most ${maxSessions} at once); close one and retry`);
    }
    let ref: string;
    try {
      ref = decodeURIComponent(match[1]);
    } catch {
      return refuse(socket, 404, "not_found", "the runtime in the path is not valid percent-encoding");
    }
    // Count the handshake until it completes or its socket goes away (ws drops bad handshakes without calling back).
    pending++;
    let counted = true;
    const release = () => {
      if (counted) {
        counted = false;
        pending--;
      }
    };
    socket.once("close", release);
    wss.handleUpgrade(req, socket, head, (ws) => {
      release();
      // From here on the websocket owns the socket and reports its errors.
      socket.off("error", onHandshakeError);
      sockets.set(ws, runSession(ws, ref, { engine: deps.engine, log, heartbeatMs, startTimeoutMs }));
      ws.once("close", () => sockets.delete(ws));
    });
  });

  return {
    closeAll(code: number, reason: string) {
      closing = true;
      for (const end of sockets.values()) end(code, reason);
    },
    get sessionCount() {
      return sockets.size;
    },
  };
}

/** Writes a plain HTTP error (with the usual JSON error envelope) on a socket that was never upgraded, then drops it. */
function refuse(socket: Duplex, status: number, code: ErrorCode, message: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify({ error: { code, message }, request_id: `ws-${Date.now().toString(36)}` });
  socket.once("finish", () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Error"}\r\n` +
      "Connection: close\r\n" +
      "Content-Type: application/json\r\n" +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      "\r\n" +
      body,
  );
}

/** Turns the `start` frame's command into a final argv: a lone string runs through `sh -c`, as in buffered exec. */
export function startArgv(frame: Pick<StartFrame, "command" | "args">): string[] {
  const args = frame.args ?? [];
  if (typeof frame.command === "string") return args.length === 0 ? ["sh", "-c", frame.command] : [frame.command, ...args];
  return [...frame.command, ...args];
}

/** The StreamSpec for a `start` frame; a tty session without TERM gets xterm-256color so full-screen programs work. */
export function startSpec(frame: StartFrame): StreamSpec {
  const tty = frame.tty === true;
  const env = tty && !frame.env?.TERM ? { ...frame.env, TERM: "xterm-256color" } : frame.env;
  return { argv: startArgv(frame), cwd: frame.cwd, env, tty, rows: frame.rows, cols: frame.cols };
}

type Phase = "awaiting_start" | "starting" | "running" | "done";

interface SessionCtx {
  engine: Engine;
  log?: Logger;
  heartbeatMs: number;
  startTimeoutMs: number;
}

/** Runs one session; returns the function that ends it from outside (daemon shutdown). */
function runSession(ws: WebSocket, ref: string, ctx: SessionCtx): (code: number, reason: string) => void {
  const { log } = ctx;
  let proc: StreamProcess | undefined;
  let phase = "awaiting_start" as Phase;
  let paused = false;
  const queue: ClientFrame[] = [];
  /**
   * Why the socket is not being read: while the command starts (frames would pile up in `queue`) and while the
   * command has not taken its stdin (writes would pile up in the daemon). The client then meets TCP backpressure.
   */
  const holds = new Set<"start" | "stdin">();
  const hold = (why: "start" | "stdin") => {
    if (holds.size === 0) ws.pause();
    holds.add(why);
  };
  const unhold = (why: "start" | "stdin") => {
    if (holds.delete(why) && holds.size === 0) ws.resume();
  };

  // The error handler goes on first: a frame over maxPayload or a broken socket is an 'error' event, never a crash.
  ws.on("error", (err) => log?.warn("exec stream: websocket error", { runtime: ref, error: err.message }));

  let missed = 0;
  ws.on("pong", () => {
    missed = 0;
  });
  const heartbeat = setInterval(() => {
    // Pongs are not read while the socket is held: the peer cannot be judged until reading resumes.
    if (holds.size > 0) {
      missed = 0;
      return;
    }
    if (missed >= 2) {
      log?.warn("exec stream: peer stopped answering pings; dropping it", { runtime: ref });
      ws.terminate();
      return;
    }
    missed++;
    ws.ping();
  }, ctx.heartbeatMs);
  heartbeat.unref();

  const startTimer = setTimeout(
    () => fail(new RuntaError("deadline_exceeded", `no 'start' frame within ${ctx.startTimeoutMs} ms; send it first`)),
    ctx.startTimeoutMs,
  );
  startTimer.unref();

  function send(frame: ServerFrame): void {
    if (ws.readyState !== WebSocket.OPEN) return;
    ws.send(JSON.stringify(frame), () => {
      if (paused && ws.bufferedAmount < LOW_WATER_BYTES) {
        paused = false;
        proc?.resume?.();
      }
    });
  }

  function sendOutput(type: "stdout" | "stderr", chunk: Buffer): void {
    send({ type, data_base64: chunk.toString("base64") });
    if (ws.bufferedAmount > HIGH_WATER_BYTES && !paused && proc?.pause && proc.resume) {
      paused = true;
      proc.pause();
    } else if (ws.bufferedAmount > HARD_LIMIT_BYTES) {
      log?.warn("exec stream: client is not reading its output; dropping it", { runtime: ref, buffered: ws.bufferedAmount });
      ws.terminate();
    }
  }

  /** Ends the session with a terminal `error` frame. Client mistakes close normally; daemon faults close with 1011. */
  function fail(err: unknown): void {
    if (phase === "done") return;
    phase = "done";
    const e = err instanceof RuntaError ? err : new RuntaError("internal", "the exec stream failed inside the daemon; see the daemon log");
    if (!(err instanceof RuntaError)) log?.error("exec stream: unexpected failure", { runtime: ref, error: String(err) });
    send({ type: "error", code: e.code, message: e.message });
    // The close handshake needs the peer's close frame read.
    unhold("start");
    unhold("stdin");
    ws.close(httpStatusFor(e) >= 500 ? 1011 : 1000, e.code);
    proc?.hangup();
  }

  function apply(frame: ClientFrame): void {
    if (!proc) return;
    switch (frame.type) {
      case "stdin":
        proc.write(Buffer.from(frame.data_base64, "base64"));
        if ((proc.stdinBacklog?.() ?? 0) > STDIN_HIGH_WATER_BYTES) holdStdin();
        break;
      case "close_stdin":
        proc.closeStdin();
        break;
      case "resize":
        proc.resize(frame.rows, frame.cols);
        break;
      case "signal":
        proc.signal(frame.signal);
        break;
      case "start":
        fail(new RuntaError("invalid_argument", "'start' may be sent only once per connection; open a new connection for another command"));
        break;
    }
  }

  /** Stops reading the socket until the command has taken most of its pending stdin (or the session ended). */
  function holdStdin(): void {
    if (holds.has("stdin")) return;
    hold("stdin");
    const poll = setInterval(() => {
      if (phase === "done" || (proc?.stdinBacklog?.() ?? 0) <= STDIN_LOW_WATER_BYTES) {
        clearInterval(poll);
        unhold("stdin");
      }
    }, STDIN_POLL_MS);
    poll.unref();
  }

  async function start(frame: StartFrame): Promise<void> {
    phase = "starting";
    hold("start");
    clearTimeout(startTimer);
    const spec = startSpec(frame);
    let p: StreamProcess;
    try {
      p = await ctx.engine.execStream(ref, spec);
    } catch (err) {
      fail(err);
      return;
    }
    if ((phase as Phase) === "done") {
      // The client went away while the process was starting.
      p.hangup();
      return;
    }
    proc = p;
    phase = "running";
    log?.info("exec stream: started", { runtime: ref, argv0: spec.argv[0], tty: spec.tty });
    p.onStdout((chunk) => sendOutput("stdout", chunk));
    p.onStderr((chunk) => sendOutput("stderr", chunk));
    for (const f of queue.splice(0)) {
      apply(f);
      if ((phase as Phase) !== "running") return;
    }
    unhold("start");
    p.wait().then(
      (exit) => {
        if (phase === "done") return;
        phase = "done";
        send({ type: "exit", code: exit.code, signal: exit.signal, oom_killed: exit.oomKilled });
        unhold("stdin");
        ws.close(1000, "exited");
      },
      (err) => fail(err),
    );
  }

  ws.on("message", (data: RawData, isBinary: boolean) => {
    if (phase === "done") return;
    const frame = parseFrame(data, isBinary);
    if (frame instanceof RuntaError) return fail(frame);
    if (phase === "awaiting_start") {
      if (frame.type !== "start") {
        return fail(new RuntaError("invalid_argument", `the first frame must be 'start', got '${frame.type}'`));
      }
      void start(frame);
      return;
    }
    if (phase === "starting") {
      if (frame.type === "start") return apply(frame);
      if (queue.length >= MAX_QUEUED_FRAMES) {
        return fail(new RuntaError("resource_exhausted", `more than ${MAX_QUEUED_FRAMES} frames sent before the command started`));
      }
      queue.push(frame);
      return;
    }
    apply(frame);
  });

  ws.on("close", () => {
    clearInterval(heartbeat);
    clearTimeout(startTimer);
    if (phase === "done") return;
    const wasRunning = phase === "running";
    phase = "done";
    // The peer left (or was terminated) before the command ended: no shell may outlive its terminal.
    if (wasRunning && proc) {
      log?.info("exec stream: client went away; hanging up the process", { runtime: ref });
      proc.hangup();
    }
  });

  return (code, reason) => {
    clearInterval(heartbeat);
    clearTimeout(startTimer);
    // Hang up now rather than after the close handshake: the daemon may exit before the peer answers.
    if (phase !== "done") {
      phase = "done";
      proc?.hangup();
    }
    unhold("start");
    unhold("stdin");
    ws.close(code, reason);
  };
}

/** Parses and validates one client frame; returns a RuntaError that names the problem instead of throwing. */
function parseFrame(data: RawData, isBinary: boolean): ClientFrame | RuntaError {
  if (isBinary) return new RuntaError("invalid_argument", "frames must be JSON text messages, not binary");
  const text = Array.isArray(data) ? Buffer.concat(data).toString("utf8") : Buffer.from(data as ArrayBuffer).toString("utf8");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return new RuntaError("invalid_argument", "frame is not valid JSON; every frame is a JSON object with a 'type'");
  }
  const parsed = ClientFrameSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join(".") : "frame";
    return new RuntaError("invalid_argument", `invalid frame: ${where}: ${issue?.message ?? "does not match the protocol"}`);
  }
  return parsed.data;
}
