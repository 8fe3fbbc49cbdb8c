export * from "./command.js";
export * from "./egress.js";
export * from "./env-digest.js";
export * from "./errors.js";
export * from "./limits.js";
export * from "./schemas.js";
export * from "./stream.js";
export * from "./trust.js";
