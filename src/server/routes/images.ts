/** Image routes: list, build (an NDJSON progress stream), import (a tarball body), remove. */
import { Transform } from "node:stream";
import { ImageBuildRequestSchema, ImageImportQuerySchema, LIMITS, type ImageBuildEvent } from "../../api/index.js";
import { mapError } from "../errors.js";
import { checkDeclaredLength, mediaType, parseQuery, readJson, send, tooLarge, unsupportedMediaType, type RouteModule } from "../http.js";

const IMPORT_TYPES = new Set(["application/x-tar", "application/gzip", "application/x-gzip", "application/tar+gzip"]);

export const imageRoutes: RouteModule = ({ engine, logger }) => [
  { method: "GET", path: "/v1/images", handler: async (ctx) => send(ctx, 200, { data: await engine.listImages() }) },
  {
    method: "POST",
    path: "/v1/images/build",
    handler: async (ctx) => {
      const body = await readJson(ctx, ImageBuildRequestSchema, true);
      ctx.res.writeHead(200, { "Content-Type": "application/x-ndjson", "Cache-Control": "no-store" });
      const line = (ev: ImageBuildEvent) => {
        if (!ctx.res.destroyed) ctx.res.write(JSON.stringify(ev) + "\n");
      };
      // The status line is already sent, so a failure can only be reported as the terminal `error` line.
      try {
        const image = await engine.buildImage(body.name, (ev) => ev.type === "progress" && line(ev), { force: body.force, packages: body.packages, parent: body.parent });
        line({ type: "done", data: image });
      } catch (err) {
        const mapped = mapError(err, ctx.requestId, logger);
        line({ type: "error", error: { code: mapped.body.error.code, message: mapped.body.error.message } });
      }
      ctx.res.end();
    },
  },
  {
    method: "POST",
    path: "/v1/images/import",
    handler: async (ctx) => {
      const { name } = parseQuery(ctx, ImageImportQuerySchema);
      const type = mediaType(ctx.req);
      if (!IMPORT_TYPES.has(type)) {
        throw unsupportedMediaType(ctx, `image import body must be a tarball: send 'Content-Type: application/x-tar' or 'application/gzip' (got '${type || "none"}')`);
      }
      const limit = LIMITS.imageImportMaxBytes;
      checkDeclaredLength(ctx, limit);
      let size = 0;
      const capped = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          size += chunk.length;
          if (size > limit) cb(tooLarge(limit));
          else cb(null, chunk);
        },
      });
      ctx.req.pipe(capped);
      ctx.req.on("error", (err) => capped.destroy(err));
      try {
        send(ctx, 201, { data: await engine.importImage(name, capped) });
      } catch (err) {
        // The rest of a refused upload (up to the import cap) is not worth reading: close the connection instead.
        ctx.res.shouldKeepAlive = false;
        // An over-limit body makes the engine fail on a stream error; report the limit, not the engine's wording.
        if (size > limit) throw tooLarge(limit);
        throw err;
      }
    },
  },
  {
    method: "DELETE",
    path: "/v1/images/{name}",
    handler: async (ctx) => {
      const { name } = ctx.params;
      await engine.removeImage(name);
      send(ctx, 200, { data: { name } });
    },
  },
];
