/** OpenAPI paths: runtimes: create, list, get, update, remove, the lifecycle verbs, buffered and streamed exec, exec objects. */
import { LIMITS } from "../limits.js";
import { RUNTIME_STATUSES } from "../schemas.js";
import { EXEC_STREAM_CONTENT_TYPE } from "../exec-frames.js";
import { envelope, errorResponses, json, lifecycle, ref, rtParam, runtimeOk } from "./common.js";

export const runtimePaths = {
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
        { name: "pooled", in: "query", schema: { type: "boolean", default: false }, description: "true lists the daemon's own runtimes too: warm pools' waiting members (each with its pool) and image build runtimes (label runta.build)" },
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
};
