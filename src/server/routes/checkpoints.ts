/**
 * Checkpoint routes: create one from a runtime, list, get, remove, and restore (a create whose root stands on the
 * checkpoint's layers; the body is a runtime create body).
 */
import { CreateCheckpointRequestSchema, CreateRuntimeRequestSchema } from "../../api/index.js";
import { readJson, send, type RouteModule } from "../http.js";
import { execTimeoutOf, lifetimeOf } from "./runtimes.js";
import { portsOf } from "./ports.js";

export const checkpointRoutes: RouteModule = ({ engine }) => [
  {
    method: "POST",
    path: "/v1/runtimes/{rt}/checkpoints",
    handler: async (ctx) => {
      const body = await readJson(ctx, CreateCheckpointRequestSchema);
      send(ctx, 201, { data: await engine.createCheckpoint(ctx.params.rt, body.name, { kind: body.kind }) });
    },
  },
  { method: "GET", path: "/v1/checkpoints", handler: async (ctx) => send(ctx, 200, { data: await engine.listCheckpoints() }) },
  { method: "GET", path: "/v1/checkpoints/{cp}", handler: async (ctx) => send(ctx, 200, { data: await engine.getCheckpoint(ctx.params.cp) }) },
  { method: "DELETE", path: "/v1/checkpoints/{cp}", handler: async (ctx) => send(ctx, 200, { data: await engine.removeCheckpoint(ctx.params.cp) }) },
  {
    method: "POST",
    path: "/v1/checkpoints/{cp}/restore",
    handler: async (ctx) => {
      const body = await readJson(ctx, CreateRuntimeRequestSchema.omit({ image: true }), true);
      const r = body.resources?.requests;
      const runtime = await engine.create({
        name: body.name,
        vcpus: r?.vcpus,
        memoryMib: r?.memory_mib,
        diskSizeGib: r?.disk_size_gib,
        env: body.env,
        labels: body.labels,
        network: body.network,
        egress: body.egress,
        whitelist: body.whitelist,
        hostname: body.hostname,
        description: body.description,
        execTimeoutSecs: execTimeoutOf(body),
        lifetimeSecs: lifetimeOf(body),
        idleTimeoutSecs: body.idle_timeout_secs,
        ports: portsOf(body),
        checkpoint: ctx.params.cp,
      });
      send(ctx, 201, { data: runtime });
    },
  },
];
