/** Volume routes: create (its disk formatted and mounted before the answer), list, get, grow, remove (refused while mounted). */
import { CreateVolumeRequestSchema, ResizeVolumeRequestSchema } from "../../api/index.js";
import { readJson, send, type RouteModule } from "../http.js";

export const volumeRoutes: RouteModule = ({ engine }) => [
  {
    method: "POST",
    path: "/v1/volumes",
    handler: async (ctx) => {
      const body = await readJson(ctx, CreateVolumeRequestSchema);
      send(ctx, 201, { data: await engine.createVolume(body.name, { sizeMib: body.size_mib }) });
    },
  },
  { method: "GET", path: "/v1/volumes", handler: async (ctx) => send(ctx, 200, { data: await engine.listVolumes() }) },
  { method: "GET", path: "/v1/volumes/{vol}", handler: async (ctx) => send(ctx, 200, { data: await engine.getVolume(ctx.params.vol) }) },
  {
    method: "PATCH",
    path: "/v1/volumes/{vol}",
    handler: async (ctx) => {
      const body = await readJson(ctx, ResizeVolumeRequestSchema);
      send(ctx, 200, { data: await engine.resizeVolume(ctx.params.vol, body.size_mib) });
    },
  },
  { method: "DELETE", path: "/v1/volumes/{vol}", handler: async (ctx) => send(ctx, 200, { data: await engine.removeVolume(ctx.params.vol) }) },
];
