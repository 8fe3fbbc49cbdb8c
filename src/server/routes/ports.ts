/**
 * Published ports (issue 13): a runtime's list, publish one more, stop publishing one; and `GET /v1/ingress`, where
 * the ingress listens and the CA its https URLs are signed by (to give `curl --cacert` or a trust store).
 */
import { errors } from "../../api/index.js";
import { PortNumberSchema, PortRequestSchema, PortRequestsSchema, type PortRequest } from "../../api/ports.js";
import { validationError } from "../errors.js";
import { pathSegment, readJson, send, type RouteModule } from "../http.js";

/** Create's ports: `ports`, or seed 002's `exposed_ports` (plain port numbers, published as http); not both. */
export function portsOf(body: { ports?: PortRequest[]; exposed_ports?: number[] }): PortRequest[] | undefined {
  if (body.exposed_ports === undefined) return body.ports;
  if (body.ports !== undefined) throw errors.invalid("exposed_ports is seed 002's name for ports: give one of them", { field: "exposed_ports" });
  const parsed = PortRequestsSchema.safeParse(body.exposed_ports.map((port) => ({ port })));
  if (!parsed.success) throw validationError(parsed.error, "exposed_ports");
  return parsed.data;
}

export const portRoutes: RouteModule = ({ engine, ingress }) => [
  {
    method: "GET",
    path: "/v1/runtimes/{rt}/ports",
    handler: async (ctx) => send(ctx, 200, { data: (await engine.get(ctx.params.rt)).ports }),
  },
  {
    method: "POST",
    path: "/v1/runtimes/{rt}/ports",
    handler: async (ctx) => {
      const body = await readJson(ctx, PortRequestSchema);
      const runtime = await engine.publishPort(ctx.params.rt, body);
      send(ctx, 201, { data: runtime.ports.find((p) => p.port === body.port) });
    },
  },
  {
    method: "DELETE",
    path: "/v1/runtimes/{rt}/ports/{port}",
    handler: async (ctx) => {
      const parsed = PortNumberSchema.safeParse(/^\d+$/.test(ctx.params.port!) ? Number(ctx.params.port) : NaN);
      if (!parsed.success) throw errors.invalid(`port '${pathSegment(ctx.params.port!)}' must be a port number from 1 to 65535`, { field: "port" });
      const before = (await engine.get(ctx.params.rt)).ports.find((p) => p.port === parsed.data);
      await engine.unpublishPort(ctx.params.rt, parsed.data);
      send(ctx, 200, { data: before });
    },
  },
  {
    method: "GET",
    path: "/v1/ingress",
    handler: async (ctx) => {
      const info = ingress();
      if (!info) throw errors.unavailable("this daemon runs without an ingress (started with --ingress-listen none)");
      send(ctx, 200, { data: info });
    },
  },
];
