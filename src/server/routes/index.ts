/**
 * Every route module the API server serves, in match order. To add one: write `routes/<noun>.ts` exporting a
 * {@link RouteModule} (see runtimes.ts), then add it to this list.
 */
import type { RouteModule } from "../http.js";
import { checkpointRoutes } from "./checkpoints.js";
import { fileRoutes } from "./files.js";
import { dashboardRoutes } from "./dashboard.js";
import { egressRoutes } from "./egress.js";
import { execRoutes } from "./execs.js";
import { imageRoutes } from "./images.js";
import { metaRoutes } from "./meta.js";
import { poolRoutes } from "./pools.js";
import { portRoutes } from "./ports.js";
import { runtimeRoutes } from "./runtimes.js";
import { volumeRoutes } from "./volumes.js";
import { secretRoutes } from "./secrets.js";

export const ROUTE_MODULES: readonly RouteModule[] = [
  metaRoutes,
  runtimeRoutes,
  egressRoutes,
  secretRoutes,
  portRoutes,
  fileRoutes,
  checkpointRoutes,
  volumeRoutes,
  execRoutes,
  imageRoutes,
  poolRoutes,
  dashboardRoutes,
];
