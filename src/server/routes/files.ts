/**
 * File routes (`runta cp`): a tar stream of a path out of a runtime and into a directory of it, one file as raw
 * bytes both ways, and what is at a path. Uploads are bounded by the runtime's own disk (a full disk is 507), not by
 * a body limit here; downloads stream as they are read, so a failure after the status line aborts the response
 * (the client sees a broken transfer, never a short archive that looks whole).
 */
import { FileStatQuerySchema, FilesQuerySchema } from "../../api/index.js";
import { mediaType, parseQuery, send, unsupportedMediaType, type Ctx, type RouteModule } from "../http.js";

const TAR = "application/x-tar";
const RAW = "application/octet-stream";

/** Streams `body` as the response; an error midway destroys the socket instead of ending the response cleanly. */
function stream(ctx: Ctx, type: string, body: NodeJS.ReadableStream & { destroy(err?: Error): void }, length?: number): Promise<void> {
  ctx.res.writeHead(200, { "Content-Type": type, "Cache-Control": "no-store", ...(length !== undefined ? { "Content-Length": length } : {}) });
  return new Promise((resolve) => {
    body.on("error", () => {
      ctx.res.destroy();
      resolve();
    });
    ctx.res.on("close", () => {
      // The client went away: stop reading the runtime's files.
      if (!ctx.res.writableFinished) body.destroy();
      resolve();
    });
    body.pipe(ctx.res);
  });
}

/** How long a refused upload is read (and dropped) before the connection is cut. */
const DRAIN_MAX_MS = 120_000;

/**
 * Reads (and drops) the rest of a refused upload, so the client, which reads the answer only once it has sent its
 * body, gets the error instead of a connection that stops reading; past {@link DRAIN_MAX_MS} the socket is cut.
 */
async function drainRefused(ctx: Ctx): Promise<void> {
  if (ctx.req.readableEnded || ctx.req.destroyed) return;
  ctx.res.shouldKeepAlive = false;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      ctx.req.socket.destroy();
      resolve();
    }, DRAIN_MAX_MS);
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    ctx.req.once("end", done);
    ctx.req.once("close", done);
    ctx.req.once("error", done);
    ctx.req.resume();
  });
}

export const fileRoutes: RouteModule = ({ engine }) => [
  {
    method: "GET",
    path: "/v1/runtimes/{rt}/files/stat",
    handler: async (ctx) => {
      const { path } = parseQuery(ctx, FileStatQuerySchema);
      send(ctx, 200, { data: await engine.statFile(ctx.params.rt, path) });
    },
  },
  {
    method: "GET",
    path: "/v1/runtimes/{rt}/files",
    handler: async (ctx) => {
      const q = parseQuery(ctx, FilesQuerySchema);
      if (q.format === "raw") {
        const file = await engine.readFile(ctx.params.rt, q.path);
        return stream(ctx, RAW, file.stream, file.size);
      }
      return stream(ctx, TAR, await engine.readFiles(ctx.params.rt, q.path));
    },
  },
  {
    method: "PUT",
    path: "/v1/runtimes/{rt}/files",
    handler: async (ctx) => {
      const q = parseQuery(ctx, FilesQuerySchema);
      const type = mediaType(ctx.req);
      const want = q.format === "raw" ? RAW : TAR;
      if (type !== want) throw unsupportedMediaType(ctx, `send the body with 'Content-Type: ${want}' (got '${type || "none"}')`);
      try {
        const written =
          q.format === "raw"
            ? await engine.writeFile(ctx.params.rt, q.path, ctx.req, { mode: q.mode === undefined ? undefined : parseInt(q.mode, 8) })
            : await engine.writeFiles(ctx.params.rt, q.path, ctx.req, { keepOwner: q.keep_owner === "true" });
        send(ctx, 200, { data: written });
      } catch (err) {
        await drainRefused(ctx);
        throw err;
      }
    },
  },
];
