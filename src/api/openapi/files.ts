/** OpenAPI paths: a runtime's files (tar streams, raw files, stat), checkpoints and their restore, volumes. */
import { binary, cpParam, envelope, errorResponses, formatParam, json, pathParam, ref, rtParam, runtimeOk, volParam } from "./common.js";

export const storagePaths = {
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
    patch: {
      operationId: "resizeVolume",
      summary: "grow a volume's disk to size_mib (online: runtimes mounting it keep running); smaller than it is is refused (422)",
      parameters: [volParam],
      requestBody: { required: true, content: json(ref("ResizeVolumeRequest")) },
      responses: { "200": { description: "the grown volume", content: json(envelope("Volume")) }, ...errorResponses(400, 404, 409, 422, 507) },
    },
    delete: {
      operationId: "removeVolume",
      summary: "remove a volume and its contents; refused (409, naming them) while runtimes mount it",
      parameters: [volParam],
      responses: { "200": { description: "the removed volume", content: json(envelope("Volume")) }, ...errorResponses(404, 409) },
    },
  },
};
