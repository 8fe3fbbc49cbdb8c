/** The package root (`import { Runta } from "runta"`): the SDK, its errors, and the wire types. */
export { Runta, RuntimesClient, ImagesClient, PoolsClient, type RuntaOptions } from "./runta.js";
export { Runtime, toExecOutput } from "./runtime.js";
export { RuntimeFiles, type UploadBody } from "./files.js";
export { CheckpointsClient, type RestoreOptions } from "./checkpoints.js";
export { VolumesClient } from "./volumes.js";
export { SecretsClient } from "./secrets.js";
export { SECRET_LIMITS, SECRET_STUB, type Secret, type SecretRule, type SecretRuleInput, type SecretUse } from "../api/secret-policy.js";
export { ExecStream, type ExecStreamInit, type StreamChunk } from "./exec-stream.js";
export { nodeFetch } from "./node-fetch.js";
export * from "./errors.js";
export type * from "./contract.js";
export { EGRESS_LIMITS, EGRESS_MODES, NETWORK_MODES, type EgressMode, type EgressPolicy, type EgressPolicyInput, type NetworkMode } from "../api/egress-policy.js";
export type { EgressEvent, RuntimeEgress } from "../api/egress.js";
export {
  DEFAULT_ENDPOINT,
  DEFAULTS,
  ERROR_CODES,
  LIMITS,
  RUNTIME_STATUSES,
  STREAM_SIGNALS,
  type Checkpoint,
  type FileStat,
  type FilesWritten,
  type ErrorCode,
  type ErrorDetails,
  type ExecRequest,
  type ExecResult,
  type DashboardLogin,
  type Image,
  type ImageBuildEvent,
  type Pagination,
  type Runtime as RuntimeInfo,
  type RuntimeStatus,
  type StreamSignal,
  type Usage,
  type VersionInfo,
  type Volume,
  type VolumeMount,
} from "../api/index.js";
