/**
 * Exec objects: start one (`POST /v1/runtimes/{rt}/execs`: detached, or streamed back as the framed exec stream of
 * src/api/exec-frames.ts), list them, show one, signal one. Reattaching a terminal session is a websocket
 * (exec-stream.ts); a plain GET of its path explains that.
 */
import type { ServerResponse } from "node:http";
import {
  EXEC_STREAM_CONTENT_TYPE,
  ExecCreateRequestSchema,
  ExecSignalRequestSchema,
  RuntaError,
  commandArgv,
  encodeFrame,
} from "../../api/index.js";
import type { Engine } from "../../engine/types.js";
import type { Logger } from "../../log.js";
import { mapError } from "../errors.js";
import { readJson, send, type Ctx, type RouteModule } from "../http.js";

export const execRoutes: RouteModule = ({ engine, logger }) => [
  {
    method: "POST",
    path: "/v1/runtimes/{rt}/execs",
    handler: async (ctx) => {
      const body = await readJson(ctx, ExecCreateRequestSchema);
      const spec = { argv: commandArgv(body.command, body.args), cwd: body.cwd, env: body.env, user: body.user, timeoutSecs: body.timeout_secs };
      if (body.detach) return send(ctx, 201, { data: await engine.execDetached(ctx.params.rt, spec) });
      await streamExec(ctx, engine, logger, spec);
    },
  },
  { method: "GET", path: "/v1/runtimes/{rt}/execs", handler: async (ctx) => send(ctx, 200, { data: await engine.listExecs(ctx.params.rt) }) },
  { method: "GET", path: "/v1/runtimes/{rt}/execs/{id}", handler: async (ctx) => send(ctx, 200, { data: await engine.getExec(ctx.params.rt, ctx.params.id) }) },
  {
    method: "POST",
    path: "/v1/runtimes/{rt}/execs/{id}/signal",
    handler: async (ctx) => {
      const body = await readJson(ctx, ExecSignalRequestSchema);
      send(ctx, 200, { data: await engine.signalExec(ctx.params.rt, ctx.params.id, body.signal) });
    },
  },
  {
    method: "GET",
    path: "/v1/runtimes/{rt}/execs/{id}/attach",
    handler: async () => {
      throw new RuntaError("invalid_argument", "this is a websocket endpoint: connect with 'Connection: Upgrade' and 'Upgrade: websocket' (e.g. runta attach)", {
        httpStatus: 426,
      });
    },
  },
];

/**
 * Runs the command and streams its output back as frames, as it comes. Failures before the command runs are plain
 * JSON errors (nothing was sent yet); after that they are an `error` frame. A client that goes away before the exit
 * (Ctrl-C, a closed pipe) hangs the command up: SIGHUP, then SIGKILL to its whole session.
 */
async function streamExec(
  ctx: Ctx,
  engine: Engine,
  logger: Logger,
  spec: { argv: string[]; cwd?: string; env?: Record<string, string>; user?: string; timeoutSecs?: number },
): Promise<void> {
  const proc = await engine.execStream(ctx.params.rt, { ...spec, tty: false });
  const res = ctx.res;
  let ended = false;
  res.on("close", () => {
    if (!ended) proc.hangup();
  });
  res.writeHead(200, { "Content-Type": EXEC_STREAM_CONTENT_TYPE, "X-Exec-Id": proc.execId ?? "" });
  res.write(encodeFrame("started", { exec_id: proc.execId ?? "", pid: proc.pid ?? null }));
  const output = (kind: "stdout" | "stderr") => (chunk: Buffer) => {
    // A slow reader (a pipe into a slow consumer) pauses the command instead of filling the daemon's memory.
    if (!res.write(encodeFrame(kind, chunk)) && proc.pause && proc.resume) {
      proc.pause();
      res.once("drain", () => proc.resume!());
    }
  };
  proc.onStdout(output("stdout"));
  proc.onStderr(output("stderr"));
  try {
    const exit = await proc.wait();
    ended = true;
    end(res, encodeFrame("exit", { code: exit.code, signal: exit.signal, oom_killed: exit.oomKilled, ended_by: exit.endedBy ?? "exited" }));
  } catch (err) {
    ended = true;
    const { body: envelope } = mapError(err, ctx.requestId, logger);
    end(res, encodeFrame("error", { code: envelope.error.code, message: envelope.error.message }));
  }
}

function end(res: ServerResponse, frame: Buffer): void {
  if (!res.destroyed) res.end(frame);
}
