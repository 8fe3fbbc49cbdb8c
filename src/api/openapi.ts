/**
 * The OpenAPI 3.1 document of `/v1`, generated from the zod schemas in this directory so it can never drift from the
 * validation the server does. Served by `GET /v1/openapi.json`.
 */
import { z } from "zod";
import { EGRESS_LIMITS, EgressEventSchema, EgressPolicyRequestSchema, RuntimeEgressSchema } from "./egress.js";
import { LIMITS } from "./limits.js";
import { IngressInfoSchema, PortRequestSchema, PublishedPortSchema } from "./ports.js";
import { EXEC_STREAM_CONTENT_TYPE } from "./exec-frames.js";
import { ExecCreateRequestSchema, ExecInfoSchema, ExecSignalRequestSchema } from "./execs.js";
import {
  CreateRuntimeRequestSchema,
  DashboardLoginSchema,
  ErrorEnvelopeSchema,
  HealthSchema,
  PaginationSchema,
  UpdateRuntimeRequestSchema,
  RuntimeSchema,
  RUNTIME_STATUSES,
  VersionSchema,
  LifecycleRequestSchema,
  StopRuntimeRequestSchema,
} from "./schemas.js";
import { ExecRequestSchema, ExecResultSchema } from "./exec-request.js";
import { ImageBuildRequestSchema, ImageSchema } from "./images.js";
import { PoolSchema, SetPoolRequestSchema } from "./pools.js";
import { CheckpointSchema, CreateCheckpointRequestSchema, FileStatSchema, FilesWrittenSchema } from "./files.js";
import { CreateVolumeRequestSchema, VolumeSchema } from "./volumes.js";
import { SECRET_LIMITS, SecretRuleRequestSchema, SecretRuleSchema, SecretSchema, SetSecretRequestSchema } from "./secrets.js";

type JsonSchema = Record<string, unknown>;

const req = (s: z.ZodType): JsonSchema => strip(z.toJSONSchema(s, { io: "input", unrepresentable: "any" }));
const res = (s: z.ZodType): JsonSchema => strip(z.toJSONSchema(s, { io: "output", unrepresentable: "any" }));
function strip(s: JsonSchema): JsonSchema {
  const { $schema: _drop, ...rest } = s;
  return rest;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: JsonSchema) => ({ "application/json": { schema } });
const envelope = (name: string) => ({ type: "object", properties: { data: ref(name) }, required: ["data"] });
const errorResponses = (...statuses: number[]) =>
  Object.fromEntries(
    [401, 500, ...statuses].map((s) => [String(s), { description: `error (see the code table)`, content: json(ref("ErrorEnvelope")) }]),
  );
const rtParam = {
  name: "rt",
  in: "path",
  required: true,
  description: "runtime name or id",
  schema: { type: "string" },
};

const pathParam = { name: "path", in: "query", required: true, description: "absolute path inside the runtime", schema: { type: "string" } };
const formatParam = { name: "format", in: "query", schema: { type: "string", enum: ["tar", "raw"], default: "tar" } };
const poolParam = { name: "pool", in: "path", required: true, description: "pool name", schema: { type: "string" } };
const secretParam = { name: "name", in: "path", required: true, description: "the secret's name (an environment variable's name) or id", schema: { type: "string" } };
const cpParam = { name: "cp", in: "path", required: true, description: "checkpoint name or id", schema: { type: "string" } };
const volParam = { name: "vol", in: "path", required: true, description: "volume name or id", schema: { type: "string" } };
const binary = { schema: { type: "string", format: "binary" } };

const runtimeOk = (status = "200", description = "the runtime") => ({ [status]: { description, content: json(envelope("Runtime")) } });

const lifecycle = (verb: string, what: string, body = "LifecycleRequest") => ({
  post: {
    operationId: `${verb}Runtime`,
    summary: what,
    parameters: [rtParam],
    requestBody: { required: false, content: json(ref(body)) },
    responses: { ...runtimeOk(), ...errorResponses(404, 409) },
  },
});

/** Builds the OpenAPI document (a plain JSON object). */
export function buildOpenApiDocument(version: string): Record<string, unknown> {
  return {
    openapi: "3.1.0",
    info: {
      title: "runta API",
      version,
      description:
        "Self-hostable runtimes on runc. Every route but /v1/health needs 'Authorization: Bearer <token>'. " +
        "Errors are {error:{code,message,details?},request_id}.",
    },
    servers: [{ url: "http://127.0.0.1:7420" }],
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: {
        Runtime: res(RuntimeSchema),
        CreateRuntimeRequest: req(CreateRuntimeRequestSchema),
        UpdateRuntimeRequest: req(UpdateRuntimeRequestSchema),
        LifecycleRequest: req(LifecycleRequestSchema),
        StopRuntimeRequest: req(StopRuntimeRequestSchema),
        ExecRequest: req(ExecRequestSchema),
        ExecResult: res(ExecResultSchema),
        ExecCreateRequest: req(ExecCreateRequestSchema),
        ExecSignalRequest: req(ExecSignalRequestSchema),
        Exec: res(ExecInfoSchema),
        Image: res(ImageSchema),
        ImageBuildRequest: req(ImageBuildRequestSchema),
        Pagination: res(PaginationSchema),
        Version: res(VersionSchema),
        Health: res(HealthSchema),
        DashboardLogin: res(DashboardLoginSchema),
        ErrorEnvelope: res(ErrorEnvelopeSchema),
        FileStat: res(FileStatSchema),
        FilesWritten: res(FilesWrittenSchema),
        Checkpoint: res(CheckpointSchema),
        CreateCheckpointRequest: req(CreateCheckpointRequestSchema),
        RuntimeEgress: res(RuntimeEgressSchema),
        PortRequest: req(PortRequestSchema),
        PublishedPort: res(PublishedPortSchema),
        IngressInfo: res(IngressInfoSchema),
        EgressPolicyRequest: req(EgressPolicyRequestSchema),
        EgressEvent: res(EgressEventSchema),
        Volume: res(VolumeSchema),
        CreateVolumeRequest: req(CreateVolumeRequestSchema),
        Pool: res(PoolSchema),
        SetPoolRequest: req(SetPoolRequestSchema),
        Secret: res(SecretSchema),
        SetSecretRequest: req(SetSecretRequestSchema),
        SecretRule: res(SecretRuleSchema),
        SecretRuleRequest: req(SecretRuleRequestSchema),
      },
    },
    paths: {
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
      "/v1/runtimes": {
        post: {
          operationId: "createRuntime",
          parameters: [
            { name: "wait", in: "query", schema: { type: "boolean", default: true }, description: "false returns at status creating" },
            { name: "Idempotency-Key", in: "header", schema: { type: "string", maxLength: 255 }, description: "same key + same body returns the same runtime; same key + other body is 409" },
          ],
          requestBody: { required: true, content: json(ref("CreateRuntimeRequest")) },
          responses: { ...runtimeOk("201", "the created runtime"), ...runtimeOk("200", "the runtime an earlier create with the same idempotency key (header or key) and body made"), ...errorResponses(400, 409, 413, 415, 422, 429) },
        },
        get: {
          operationId: "listRuntimes",
          parameters: [
            { name: "status", in: "query", schema: { type: "string" }, description: `comma-separated: ${RUNTIME_STATUSES.join(", ")}` },
            { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: LIMITS.listLimitMax, default: LIMITS.listLimitDefault } },
            { name: "after", in: "query", schema: { type: "string" }, description: "cursor from pagination.next_cursor" },
            { name: "usage", in: "query", schema: { type: "boolean", default: false }, description: "true adds current usage to running and paused runtimes" },
            { name: "pooled", in: "query", schema: { type: "boolean", default: false }, description: "true lists warm pools' waiting members too (each with its pool)" },
          ],
          responses: {
            "200": {
              description: "one page of runtimes",
              content: json({ type: "object", properties: { data: { type: "array", items: ref("Runtime") }, pagination: ref("Pagination") }, required: ["data", "pagination"] }),
            },
            ...errorResponses(400),
          },
        },
      },
      "/v1/runtimes/{rt}": {
        get: {
          operationId: "getRuntime",
          parameters: [rtParam, { name: "usage", in: "query", schema: { type: "boolean", default: true }, description: "false skips reading current usage (a cheap lookup)" }],
          responses: { ...runtimeOk("200", "the runtime with current usage"), ...errorResponses(400, 404) },
        },
        patch: {
          operationId: "updateRuntime",
          summary: "rename, resize live and/or describe",
          parameters: [rtParam],
          requestBody: { required: true, content: json(ref("UpdateRuntimeRequest")) },
          responses: { ...runtimeOk("200", "the runtime (resources read back from the cgroup after a resize)"), ...errorResponses(400, 404, 409, 422) },
        },
        delete: { operationId: "deleteRuntime", parameters: [rtParam], responses: { ...runtimeOk("200", "the last record"), ...errorResponses(404, 409) } },
      },
      "/v1/runtimes/{rt}/start": lifecycle("start", "boot a shut-down runtime"),
      "/v1/runtimes/{rt}/stop": lifecycle("stop", "shut a runtime down, keeping its filesystem (SIGTERM, grace_secs, then SIGKILL)", "StopRuntimeRequest"),
      "/v1/runtimes/{rt}/pause": lifecycle("pause", "freeze every process (memory kept)"),
      "/v1/runtimes/{rt}/resume": lifecycle("resume", "thaw a paused runtime"),
      "/v1/runtimes/{rt}/exec": {
        post: {
          operationId: "execRuntime",
          parameters: [rtParam],
          requestBody: { required: true, content: json(ref("ExecRequest")) },
          responses: { "200": { description: "the finished command", content: json(envelope("ExecResult")) }, ...errorResponses(400, 404, 409, 422) },
        },
      },
      "/v1/runtimes/{rt}/exec/stream": {
        get: {
          operationId: "execStream",
          parameters: [rtParam],
          description: "websocket upgrade; JSON text frames (DESIGN §4)",
          responses: { "101": { description: "switching protocols" }, ...errorResponses(403, 404, 426) },
        },
      },
      "/v1/runtimes/{rt}/files": {
        get: {
          operationId: "readFiles",
          summary: "a tar stream of a path inside the runtime (format=raw: one regular file's bytes)",
          parameters: [rtParam, pathParam, formatParam],
          responses: {
            "200": { description: "the archive or the file", content: { "application/x-tar": binary, "application/octet-stream": binary } },
            ...errorResponses(400, 404, 409),
          },
        },
        put: {
          operationId: "writeFiles",
          summary: "unpack a tar stream into an existing directory (format=raw: write one file at path)",
          parameters: [
            rtParam,
            pathParam,
            formatParam,
            { name: "mode", in: "query", schema: { type: "string" }, description: "format=raw: octal file mode (default 0644)" },
            { name: "keep_owner", in: "query", schema: { type: "boolean", default: false }, description: "keep the archive's uid/gid instead of root" },
          ],
          requestBody: { required: true, content: { "application/x-tar": binary, "application/octet-stream": binary } },
          responses: { "200": { description: "what was written", content: json(envelope("FilesWritten")) }, ...errorResponses(400, 404, 409, 415, 507) },
        },
      },
      "/v1/runtimes/{rt}/files/stat": {
        get: {
          operationId: "statFile",
          parameters: [rtParam, pathParam],
          responses: { "200": { description: "what is at the path", content: json(envelope("FileStat")) }, ...errorResponses(400, 404, 409) },
        },
      },
      "/v1/runtimes/{rt}/checkpoints": {
        post: {
          operationId: "createCheckpoint",
          summary: "freeze the runtime's filesystem as a checkpoint (a running runtime is paused for the copy)",
          parameters: [rtParam],
          requestBody: { required: true, content: json(ref("CreateCheckpointRequest")) },
          responses: { "201": { description: "the ready checkpoint", content: json(envelope("Checkpoint")) }, ...errorResponses(400, 404, 409, 501, 507) },
        },
      },
      "/v1/checkpoints": {
        get: {
          operationId: "listCheckpoints",
          responses: { "200": { description: "checkpoints", content: json({ type: "object", properties: { data: { type: "array", items: ref("Checkpoint") } } }) }, ...errorResponses() },
        },
      },
      "/v1/checkpoints/{cp}": {
        get: { operationId: "getCheckpoint", parameters: [cpParam], responses: { "200": { description: "the checkpoint", content: json(envelope("Checkpoint")) }, ...errorResponses(404) } },
        delete: {
          operationId: "removeCheckpoint",
          parameters: [cpParam],
          responses: { "200": { description: "the removed checkpoint", content: json(envelope("Checkpoint")) }, ...errorResponses(404, 409) },
        },
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
      "/v1/checkpoints/{cp}/restore": {
        post: {
          operationId: "restoreCheckpoint",
          summary: "create a runtime standing on the checkpoint's layers (a fork); body as createRuntime without image",
          parameters: [cpParam],
          requestBody: { required: false, content: json(ref("CreateRuntimeRequest")) },
          responses: { ...runtimeOk("201", "the restored runtime"), ...errorResponses(400, 404, 409, 422, 429) },
        },
      },
      "/v1/volumes": {
        post: {
          operationId: "createVolume",
          summary: "a named, persistent directory with a size bound (its own ext4 disk), to mount into runtimes with `volumes` at create",
          requestBody: { required: true, content: json(ref("CreateVolumeRequest")) },
          responses: { "201": { description: "the new volume", content: json(envelope("Volume")) }, ...errorResponses(400, 409, 422, 429, 507) },
        },
        get: {
          operationId: "listVolumes",
          responses: { "200": { description: "volumes", content: json({ type: "object", properties: { data: { type: "array", items: ref("Volume") } } }) }, ...errorResponses() },
        },
      },
      "/v1/volumes/{vol}": {
        get: { operationId: "getVolume", parameters: [volParam], responses: { "200": { description: "the volume", content: json(envelope("Volume")) }, ...errorResponses(404) } },
        delete: {
          operationId: "removeVolume",
          summary: "remove a volume and its contents; refused (409, naming them) while runtimes mount it",
          parameters: [volParam],
          responses: { "200": { description: "the removed volume", content: json(envelope("Volume")) }, ...errorResponses(404, 409) },
        },
      },
      "/v1/runtimes/{rt}/egress": {
        get: { operationId: "getEgress", parameters: [rtParam], responses: { "200": { description: "the runtime's network and egress policy", content: json(envelope("RuntimeEgress")) }, ...errorResponses(404) } },
        put: {
          operationId: "setEgress",
          summary: "replace the egress policy (applies at once, live connections included)",
          parameters: [rtParam],
          requestBody: { required: true, content: json(ref("EgressPolicyRequest")) },
          responses: { "200": { description: "the new policy", content: json(envelope("RuntimeEgress")) }, ...errorResponses(400, 404, 409) },
        },
      },
      "/v1/secrets": {
        get: {
          operationId: "listSecrets",
          summary: "every secret: names and dates, never a value",
          responses: { "200": { description: "the secrets, by name", content: json({ type: "object", properties: { data: { type: "array", items: ref("Secret") } }, required: ["data"] }) }, ...errorResponses() },
        },
      },
      "/v1/secrets/{name}": {
        get: { operationId: "getSecret", parameters: [secretParam], responses: { "200": { description: "the secret (no value) and the rules using it", content: json(envelope("Secret")) }, ...errorResponses(404) } },
        put: {
          operationId: "setSecret",
          summary: `store a secret's value (at most ${SECRET_LIMITS.valueMaxBytes} bytes); an existing name is rotated, effective for the next request`,
          parameters: [secretParam],
          requestBody: { required: true, content: json(ref("SetSecretRequest")) },
          responses: {
            "200": { description: "rotated", content: json(envelope("Secret")) },
            "201": { description: "created", content: json(envelope("Secret")) },
            ...errorResponses(400, 429),
          },
        },
        delete: { operationId: "removeSecret", parameters: [secretParam], responses: { "200": { description: "the removed secret", content: json(envelope("Secret")) }, ...errorResponses(404, 409) } },
      },
      "/v1/runtimes/{rt}/secret-rules": {
        get: {
          operationId: "listSecretRules",
          parameters: [rtParam],
          responses: { "200": { description: "the runtime's injection rules", content: json({ type: "object", properties: { data: { type: "array", items: ref("SecretRule") } }, required: ["data"] }) }, ...errorResponses(404) },
        },
        put: {
          operationId: "setSecretRule",
          summary: "add or replace the rule of (host, header): the egress proxy puts the template, filled with the secret, into that header of the runtime's requests to the host",
          parameters: [rtParam],
          requestBody: { required: true, content: json(ref("SecretRuleRequest")) },
          responses: { "200": { description: "the rule", content: json(envelope("SecretRule")) }, ...errorResponses(400, 404, 409, 429) },
        },
        delete: {
          operationId: "removeSecretRule",
          parameters: [
            rtParam,
            { name: "host", in: "query", required: true, schema: { type: "string" }, description: "the rule's host" },
            { name: "header", in: "query", required: true, schema: { type: "string" }, description: "the rule's header" },
          ],
          responses: { "200": { description: "the removed rule", content: json(envelope("SecretRule")) }, ...errorResponses(400, 404) },
        },
      },
      "/v1/runtimes/{rt}/ports": {
        get: {
          operationId: "listPorts",
          parameters: [rtParam],
          responses: {
            "200": { description: "its published ports with their URLs", content: json({ type: "object", properties: { data: { type: "array", items: ref("PublishedPort") } }, required: ["data"] }) },
            ...errorResponses(404),
          },
        },
        post: {
          operationId: "publishPort",
          summary: "publish one more port: http/https through the ingress, tcp on a host port (bound now: 409 when in use)",
          parameters: [rtParam],
          requestBody: { required: true, content: json(ref("PortRequest")) },
          responses: { "201": { description: "the published port", content: json(envelope("PublishedPort")) }, ...errorResponses(400, 404, 409, 422, 429) },
        },
      },
      "/v1/runtimes/{rt}/ports/{port}": {
        delete: {
          operationId: "unpublishPort",
          summary: "stop publishing a port (its host port and open connections close)",
          parameters: [rtParam, { name: "port", in: "path", required: true, description: "the runtime's port", schema: { type: "integer", minimum: 1, maximum: 65535 } }],
          responses: { "200": { description: "the port as it was", content: json(envelope("PublishedPort")) }, ...errorResponses(400, 404) },
        },
      },
      "/v1/ingress": {
        get: {
          operationId: "getIngress",
          summary: "where the ingress listens, its domain, and the CA certificate of its https URLs",
          responses: { "200": { description: "the ingress", content: json(envelope("IngressInfo")) }, ...errorResponses(503) },
        },
      },
      "/v1/runtimes/{rt}/egress/events": {
        get: {
          operationId: "listEgressEvents",
          parameters: [
            rtParam,
            { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: EGRESS_LIMITS.eventsLimitMax, default: EGRESS_LIMITS.eventsLimitDefault }, description: "the last N events" },
            { name: "after", in: "query", schema: { type: "integer", minimum: 0 }, description: "only events with a larger seq (to follow)" },
          ],
          responses: {
            "200": { description: "audit events, oldest first", content: json({ type: "object", properties: { data: { type: "array", items: ref("EgressEvent") } }, required: ["data"] }) },
            ...errorResponses(400, 404),
          },
        },
      },
      "/v1/runtimes/{rt}/execs": {
        post: {
          operationId: "startExec",
          parameters: [rtParam],
          description: `detach: 201 with the exec object at once. Otherwise 200 with the framed exec stream (${EXEC_STREAM_CONTENT_TYPE}): frames of a 1-byte kind (1 stdout, 2 stderr, 3 started, 4 exit, 5 error), a 4-byte big-endian length and the payload (raw output bytes, or JSON).`,
          requestBody: { required: true, content: json(ref("ExecCreateRequest")) },
          responses: {
            "200": { description: "the command's output as it comes, then its exit", content: { [EXEC_STREAM_CONTENT_TYPE]: { schema: { type: "string", format: "binary" } } } },
            "201": { description: "the detached exec", content: json(envelope("Exec")) },
            ...errorResponses(400, 404, 409, 422),
          },
        },
        get: {
          operationId: "listExecs",
          parameters: [rtParam],
          responses: {
            "200": { description: `running execs and the last ${LIMITS.execHistoryPerRuntime} finished ones`, content: json({ type: "object", properties: { data: { type: "array", items: ref("Exec") } } }) },
            ...errorResponses(404),
          },
        },
      },
      "/v1/runtimes/{rt}/execs/{id}": {
        get: {
          operationId: "getExec",
          parameters: [rtParam, { name: "id", in: "path", required: true, schema: { type: "string" } }],
          responses: { "200": { description: "the exec", content: json(envelope("Exec")) }, ...errorResponses(404) },
        },
      },
      "/v1/runtimes/{rt}/execs/{id}/signal": {
        post: {
          operationId: "signalExec",
          parameters: [rtParam, { name: "id", in: "path", required: true, schema: { type: "string" } }],
          requestBody: { required: true, content: json(ref("ExecSignalRequest")) },
          responses: { "200": { description: "the exec after the signal was sent to its process group", content: json(envelope("Exec")) }, ...errorResponses(400, 404, 409) },
        },
      },
      "/v1/runtimes/{rt}/execs/{id}/attach": {
        get: {
          operationId: "attachExec",
          parameters: [
            rtParam,
            { name: "id", in: "path", required: true, schema: { type: "string" } },
            { name: "rows", in: "query", schema: { type: "integer", minimum: 1, maximum: 1000 } },
            { name: "cols", in: "query", schema: { type: "integer", minimum: 1, maximum: 1000 } },
          ],
          description: `websocket upgrade: reattach to a terminal session; the last ${LIMITS.execReplayBytes} bytes of output are replayed, then live (frames as the exec stream)`,
          responses: { "101": { description: "switching protocols" }, ...errorResponses(403, 404, 426) },
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
    },
  };
}
