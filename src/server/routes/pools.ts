/** Warm pool routes: set (create or change), list, remove. The members are runtimes the daemon keeps booted. */
import { SetPoolRequestSchema, errors } from "../../api/index.js";
import { readJson, send, type RouteModule } from "../http.js";

export const poolRoutes: RouteModule = ({ engine }) => [
  { method: "GET", path: "/v1/pools", handler: async (ctx) => send(ctx, 200, { data: await engine.listPools() }) },
  {
    method: "PUT",
    path: "/v1/pools/{pool}",
    handler: async (ctx) => {
      const body = await readJson(ctx, SetPoolRequestSchema);
      const min = agreeing(body.min, body.minCachedInstances, "min", "minCachedInstances");
      if (min === undefined) throw errors.invalid("a pool needs min (or seed 000's minCachedInstances): how many runtimes to keep booted", { field: "min" });
      const r = body.resources?.requests;
      const pool = await engine.setPool(ctx.params.pool, {
        image: body.image,
        vcpus: r?.vcpus,
        memoryMib: r?.memory_mib,
        min,
        max: agreeing(body.max, body.maxCachedInstances, "max", "maxCachedInstances"),
      });
      send(ctx, 200, { data: pool });
    },
  },
  { method: "DELETE", path: "/v1/pools/{pool}", handler: async (ctx) => send(ctx, 200, { data: await engine.removePool(ctx.params.pool) }) },
];

/** One value given under either of two names; both at once must agree. */
function agreeing(a: number | undefined, b: number | undefined, nameA: string, nameB: string): number | undefined {
  if (a !== undefined && b !== undefined && a !== b) throw errors.invalid(`${nameA} (${a}) and ${nameB} (${b}) disagree: give one of them`, { field: nameA });
  return a ?? b;
}
