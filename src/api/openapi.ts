/**
 * The OpenAPI 3.1 document of `/v1`, generated from the zod schemas in this directory so it can never drift from the
 * validation the server does. Served by `GET /v1/openapi.json`.
 */
import { EgressEventSchema, EgressPolicyRequestSchema, RuntimeEgressSchema } from "./egress.js";
import { IngressInfoSchema, PortRequestSchema, PublishedPortSchema } from "./ports.js";
import { ExecCreateRequestSchema, ExecInfoSchema, ExecSignalRequestSchema } from "./execs.js";
import {
  CreateRuntimeRequestSchema,
  DashboardLoginSchema,
  ErrorEnvelopeSchema,
  HealthSchema,
  PaginationSchema,
  UpdateRuntimeRequestSchema,
  RuntimeSchema,
  VersionSchema,
  LifecycleRequestSchema,
  StopRuntimeRequestSchema,
} from "./schemas.js";
import { ExecRequestSchema, ExecResultSchema } from "./exec-request.js";
import { ImageBuildRequestSchema, ImageSchema } from "./images.js";
import { PoolSchema, SetPoolRequestSchema } from "./pools.js";
import { CheckpointSchema, CreateCheckpointRequestSchema, FileStatSchema, FilesWrittenSchema } from "./files.js";
import { CreateVolumeRequestSchema, ResizeVolumeRequestSchema, VolumeSchema } from "./volumes.js";
import { SecretRuleRequestSchema, SecretRuleSchema, SecretSchema, SetSecretRequestSchema } from "./secrets.js";
import { req, res } from "./openapi/common.js";
import { daemonPaths } from "./openapi/daemon.js";
import { storagePaths } from "./openapi/files.js";
import { networkPaths } from "./openapi/network.js";
import { runtimePaths } from "./openapi/runtimes.js";

/** Builds the OpenAPI document (a plain JSON object); its paths are in openapi/, one file per group of nouns. */
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
        ResizeVolumeRequest: req(ResizeVolumeRequestSchema),
        Pool: res(PoolSchema),
        SetPoolRequest: req(SetPoolRequestSchema),
        Secret: res(SecretSchema),
        SetSecretRequest: req(SetSecretRequestSchema),
        SecretRule: res(SecretRuleSchema),
        SecretRuleRequest: req(SecretRuleRequestSchema),
      },
    },
    paths: {
      ...daemonPaths,
      ...runtimePaths,
      ...storagePaths,
      ...networkPaths,
    },
  };
}
