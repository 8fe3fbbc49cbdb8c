/** Egress routes: a runtime's network and egress policy (`GET`/`PUT /v1/runtimes/{rt}/egress`) and its audit trail. */
import { EgressEventsQuerySchema, EgressPolicyRequestSchema } from "../../api/index.js";
import { parseQuery, readJson, send, type RouteModule } from "../http.js";

export const egressRoutes: RouteModule = ({ engine }) => [
  { method: "GET", path: "/v1/runtimes/{rt}/egress", handler: async (ctx) => send(ctx, 200, { data: await engine.egress(ctx.params.rt) }) },
  {
    method: "PUT",
    path: "/v1/runtimes/{rt}/egress",
    handler: async (ctx) => {
      const body = await readJson(ctx, EgressPolicyRequestSchema);
      send(ctx, 200, { data: await engine.setEgress(ctx.params.rt, body) });
    },
  },
  {
    method: "GET",
    path: "/v1/runtimes/{rt}/egress/events",
    handler: async (ctx) => {
      const q = parseQuery(ctx, EgressEventsQuerySchema);
      send(ctx, 200, { data: await engine.egressEvents(ctx.params.rt, { limit: q.limit, after: q.after }) });
    },
  },
];
