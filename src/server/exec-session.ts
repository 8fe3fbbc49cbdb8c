/**
 * One exec-stream session (DESIGN §4), after the upgrade gate (exec-stream.ts) admitted it: the first frame must be
 * `start`; the process then lives exactly as long as the socket: when the socket closes or stops answering pings
 * before the process exits, the process is hung up (SIGHUP, then SIGKILL) so no shell is left running unattended.
 * Output flows back with backpressure both ways (a slow reader pauses the process; unread stdin stops the socket).
 */
import { WebSocket, type RawData } from "ws";
import { ClientFrameSchema, RuntaError, commandArgv, type ClientFrame, type ServerFrame, type StartFrame } from "../api/index.js";
import type { Engine, StreamProcess, StreamSpec } from "../engine/types.js";
import type { Logger } from "../log.js";
import { mapError } from "./errors.js";
import { newRequestId } from "./http.js";

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

/**
 * The StreamSpec for a `start` frame: the command by the wire rule (src/api), everything else as the client sent it.
 * Process defaults (TERM for a tty, the working directory, the terminal size) are the engine spec builder's.
 */
export function startSpec(frame: StartFrame): StreamSpec {
  return {
    argv: commandArgv(frame.command, frame.args),
    cwd: frame.cwd,
    env: frame.env,
    tty: frame.tty === true,
    rows: frame.rows,
    cols: frame.cols,
    user: frame.user,
    graceSecs: frame.grace_secs,
  };
}

/** A session that reattaches to a terminal session (`GET …/execs/{id}/attach`) instead of starting a command. */
export interface AttachTarget {
  execId: string;
  rows?: number;
  cols?: number;
}

type Phase = "awaiting_start" | "starting" | "running" | "done";

/** What a session is given by the gate. */
export interface SessionCtx {
  engine: Engine;
  log: Logger;
  heartbeatMs: number;
  startTimeoutMs: number;
}

/** Runs one session; returns the function that ends it from outside (daemon shutdown). */
export function runSession(ws: WebSocket, ref: string, ctx: SessionCtx, attach?: AttachTarget): (code: number, reason: string) => void {
  const { log } = ctx;
  /** Names the session in the daemon log and in an internal error's message, as a request id does for REST. */
  const requestId = newRequestId();
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
  ws.on("error", (err) => log.warn("exec stream: websocket error", { request_id: requestId, runtime: ref, error: err.message }));

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
      log.warn("exec stream: peer stopped answering pings; dropping it", { request_id: requestId, runtime: ref });
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
      log.warn("exec stream: client is not reading its output; dropping it", { request_id: requestId, runtime: ref, buffered: ws.bufferedAmount });
      ws.terminate();
    }
  }

  /**
   * Ends the session with a terminal `error` frame, mapped like every REST error (errors.ts): client mistakes close
   * normally, daemon faults (5xx) close with 1011 and are logged under the session's request id.
   */
  function fail(err: unknown): void {
    if (phase === "done") return;
    phase = "done";
    const { status, body } = mapError(err, requestId, log);
    send({ type: "error", code: body.error.code, message: body.error.message });
    // The close handshake needs the peer's close frame read.
    unhold("start");
    unhold("stdin");
    ws.close(status >= 500 ? 1011 : 1000, body.error.code);
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
    const spec = startSpec(frame);
    await begin(async () => ({ proc: await ctx.engine.execStream(ref, spec), replay: undefined }), { argv0: spec.argv[0], tty: spec.tty });
  }

  /** Takes over a terminal session: its last output is sent first, then it goes on live at this client's size. */
  async function reattach(target: AttachTarget): Promise<void> {
    await begin(() => ctx.engine.attachExec(ref, target.execId), { attach: target.execId });
    if (target.rows && target.cols) proc?.resize(target.rows, target.cols);
  }

  /** Starts (or takes over) the process, then wires its output, the queued frames and its exit to the socket. */
  async function begin(open: () => Promise<{ proc: StreamProcess; replay?: Buffer }>, what: Record<string, unknown>): Promise<void> {
    phase = "starting";
    hold("start");
    clearTimeout(startTimer);
    let p: StreamProcess;
    let replay: Buffer | undefined;
    try {
      ({ proc: p, replay } = await open());
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
    log.info("exec stream: started", { request_id: requestId, runtime: ref, exec_id: p.execId, ...what });
    if (p.execId) send({ type: "started", exec_id: p.execId });
    if (replay?.length) sendOutput("stdout", replay);
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

  if (attach) void reattach(attach);

  ws.on("close", () => {
    clearInterval(heartbeat);
    clearTimeout(startTimer);
    if (phase === "done") return;
    const wasRunning = phase === "running";
    phase = "done";
    // The peer left (or was terminated) before the command ended: no shell may outlive its terminal.
    if (wasRunning && proc) {
      log.info("exec stream: client went away; hanging up the process", { request_id: requestId, runtime: ref });
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
