/**
 * Secret routes: the daemon's secrets (`/v1/secrets`, values go in with PUT and never come back out) and a
 * runtime's injection rules (`/v1/runtimes/{rt}/secret-rules`, keyed by host and header).
 */
import { SecretRuleKeySchema, SecretRuleRequestSchema, SetSecretRequestSchema, errors, secretNameError } from "../../api/index.js";
import { parseQuery, readJson, send, type RouteModule } from "../http.js";

export const secretRoutes: RouteModule = ({ engine }) => [
  { method: "GET", path: "/v1/secrets", handler: async (ctx) => send(ctx, 200, { data: await engine.listSecrets() }) },
  { method: "GET", path: "/v1/secrets/{name}", handler: async (ctx) => send(ctx, 200, { data: await engine.getSecret(ctx.params.name) }) },
  {
    method: "PUT",
    path: "/v1/secrets/{name}",
    handler: async (ctx) => {
      const bad = secretNameError(ctx.params.name);
      if (bad) throw errors.invalid(bad, { field: "name" });
      const body = await readJson(ctx, SetSecretRequestSchema);
      const { secret, created } = await engine.setSecret(ctx.params.name, body.value);
      send(ctx, created ? 201 : 200, { data: secret });
    },
  },
  { method: "DELETE", path: "/v1/secrets/{name}", handler: async (ctx) => send(ctx, 200, { data: await engine.removeSecret(ctx.params.name) }) },
  { method: "GET", path: "/v1/runtimes/{rt}/secret-rules", handler: async (ctx) => send(ctx, 200, { data: await engine.secretRules(ctx.params.rt) }) },
  {
    method: "PUT",
    path: "/v1/runtimes/{rt}/secret-rules",
    handler: async (ctx) => send(ctx, 200, { data: await engine.setSecretRule(ctx.params.rt, await readJson(ctx, SecretRuleRequestSchema)) }),
  },
  {
    method: "DELETE",
    path: "/v1/runtimes/{rt}/secret-rules",
    handler: async (ctx) => {
      const q = parseQuery(ctx, SecretRuleKeySchema);
      send(ctx, 200, { data: await engine.removeSecretRule(ctx.params.rt, q.host, q.header) });
    },
  },
];
