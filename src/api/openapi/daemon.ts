/** OpenAPI paths: the daemon's own routes (health, version, the dashboard's login, this document), images and warm pools. */
import { LIMITS } from "../limits.js";
import { envelope, errorResponses, json, poolParam, ref } from "./common.js";

export const daemonPaths = {
  "/v1/health": {
    get: {
      operationId: "health",
      security: [],
      responses: { "200": { description: "liveness", content: json(envelope("Health")) } },
    },
  },
  "/v1/version": {
    get: { operationId: "version", responses: { "200": { description: "versions", content: json(envelope("Version")) }, ...errorResponses() } },
  },
  "/v1/dashboard/login": {
    post: {
      operationId: "dashboardLogin",
      summary: "a one-time login code for the dashboard at /ui/ (bearer token only; a dashboard session gets 403)",
      responses: { "201": { description: "the code and the path to open", content: json(envelope("DashboardLogin")) }, ...errorResponses(403) },
    },
  },
  "/v1/openapi.json": {
    get: { operationId: "openapi", responses: { "200": { description: "this document" }, ...errorResponses() } },
  },
  "/v1/pools": {
    get: {
      operationId: "listPools",
      responses: { "200": { description: "warm pools with their ready and booting members", content: json({ type: "object", properties: { data: { type: "array", items: ref("Pool") } } }) }, ...errorResponses() },
    },
  },
  "/v1/pools/{pool}": {
    put: {
      operationId: "setPool",
      summary: "create or change a warm pool: min runtimes of its shape kept booted for creates of that shape to take",
      parameters: [poolParam],
      requestBody: { required: true, content: json(ref("SetPoolRequest")) },
      responses: { "200": { description: "the pool", content: json(envelope("Pool")) }, ...errorResponses(400, 404, 422) },
    },
    delete: {
      operationId: "removePool",
      summary: "remove a warm pool and its waiting members",
      parameters: [poolParam],
      responses: { "200": { description: "the removed pool", content: json(envelope("Pool")) }, ...errorResponses(404) },
    },
  },
  "/v1/images": {
    get: {
      operationId: "listImages",
      responses: { "200": { description: "images", content: json({ type: "object", properties: { data: { type: "array", items: ref("Image") } } }) }, ...errorResponses() },
    },
  },
  "/v1/images/build": {
    post: {
      operationId: "buildImage",
      requestBody: { required: false, content: json(ref("ImageBuildRequest")) },
      responses: {
        "200": {
          description: "NDJSON progress lines ({type:progress|done|error}), ending in done or error",
          content: { "application/x-ndjson": { schema: { type: "object" } } },
        },
        ...errorResponses(400, 409),
      },
    },
  },
  "/v1/images/import": {
    post: {
      operationId: "importImage",
      parameters: [{ name: "name", in: "query", required: true, schema: { type: "string" } }],
      requestBody: {
        required: true,
        description: `a root-filesystem tarball, at most ${LIMITS.imageImportMaxBytes} bytes`,
        content: { "application/x-tar": { schema: { type: "string", format: "binary" } }, "application/gzip": { schema: { type: "string", format: "binary" } } },
      },
      responses: { "201": { description: "the imported image", content: json(envelope("Image")) }, ...errorResponses(400, 409, 413, 415) },
    },
  },
  "/v1/images/{name}": {
    delete: {
      operationId: "removeImage",
      parameters: [{ name: "name", in: "path", required: true, schema: { type: "string" } }],
      responses: { "200": { description: "removed" }, ...errorResponses(404, 409) },
    },
  },
};
