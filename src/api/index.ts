export * from "./command.js";
export * from "./errors.js";
export * from "./limits.js";
export * from "./schemas.js";
export * from "./stream.js";
export * from "./trust.js";
export * from "./files.js";
export * from "./tar.js";
