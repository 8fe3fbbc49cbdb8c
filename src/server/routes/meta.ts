/** Routes about the daemon itself: health (no token), version, and the OpenAPI document. */
import { buildOpenApiDocument } from "../../api/openapi.js";
import { send, sendText, type RouteModule } from "../http.js";
import { runtaVersion } from "../version.js";

export const metaRoutes: RouteModule = ({ engine }) => {
  let openapi: string | undefined;
  return [
    { method: "GET", path: "/v1/health", auth: false, handler: async (ctx) => send(ctx, 200, { data: { status: "ok" } }) },
    {
      method: "GET",
      path: "/v1/version",
      handler: async (ctx) => {
        const v = await engine.version();
        send(ctx, 200, { data: { runta: runtaVersion(), runc: v.runc, kernel: v.kernel, node: process.versions.node, api: "v1" } });
      },
    },
    {
      method: "GET",
      path: "/v1/openapi.json",
      handler: async (ctx) => {
        openapi ??= JSON.stringify(buildOpenApiDocument(runtaVersion()));
        sendText(ctx, 200, openapi);
      },
    },
  ];
};
