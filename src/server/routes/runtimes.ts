/** Runtime routes: create, list, get, update (rename, resize, description, idle timeout), delete, the lifecycle verbs, and buffered exec. */
import { createHash } from "node:crypto";
import {
  CreateRuntimeQuerySchema,
  CreateRuntimeRequestSchema,
  ExecRequestSchema,
  GetRuntimeQuerySchema,
  LifecycleRequestSchema,
  ListRuntimesQuerySchema,
  UpdateRuntimeRequestSchema,
  StopRuntimeRequestSchema,
  RuntaError,
  commandArgv,
  errors,
  type CreateRuntimeRequest,
} from "../../api/index.js";
import type { SeedConfig } from "../../api/seed-config.js";
import type { CreateSpec } from "../../engine/types.js";
import { encodedPieces } from "../../engine/exec-output.js";
import { JsonStringPieces, readJson, parseQuery, send, sendStreamed, sendText, type Handler, type RouteModule } from "../http.js";
import { portsOf } from "./ports.js";

const IDEMPOTENCY_KEY_MAX = 255;

/** Stable JSON (sorted keys) so two equal bodies hash the same whatever their key order. */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (v !== null && typeof v === "object") {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(",")}}`;
  }
  return JSON.stringify(v);
}

/** A field of ours or a seed's form of it (`seed`, already in our unit): either, or both when they agree. */
function eitherForm<T>(ours: T | undefined, seed: T | undefined, ourName: string, seedName: string): T | undefined {
  if (ours !== undefined && seed !== undefined && ours !== seed) {
    throw errors.invalid(`${seedName} is another name for ${ourName}: give one of them`, { field: seedName });
  }
  return ours ?? seed;
}

/** `exec_timeout_secs`, or seed 000's `execTimeout` for it; both at once must agree. */
export function execTimeoutOf(body: { exec_timeout_secs?: number; execTimeout?: number }): number | undefined {
  return eitherForm(body.exec_timeout_secs, body.execTimeout, "exec_timeout_secs", "execTimeout");
}

/** `lifetime_secs`, or seed 002's `timeout_seconds` for it; both at once must agree. */
export function lifetimeOf(body: { lifetime_secs?: number; timeout_seconds?: number }): number | undefined {
  return eitherForm(body.lifetime_secs, body.timeout_seconds, "lifetime_secs", "timeout_seconds");
}

/** `idle_timeout_secs`, or seed 004's `config.lifecycle.idleTimeoutMinutes` for it (minutes); both at once must agree. */
export function idleTimeoutOf(body: { idle_timeout_secs?: number; config?: SeedConfig }): number | undefined {
  const minutes = body.config?.lifecycle?.idleTimeoutMinutes;
  return eitherForm(body.idle_timeout_secs, minutes === undefined ? undefined : minutes * 60, "idle_timeout_secs (in minutes)", "config.lifecycle.idleTimeoutMinutes");
}

/** The engine's create spec from a create body (a restore's too, which has no image): one mapping for both routes. */
export function createSpecOf(body: Omit<CreateRuntimeRequest, "image" | "key"> & { image?: string }): CreateSpec {
  const r = body.resources?.requests;
  return {
    name: body.name,
    image: body.image,
    vcpus: r?.vcpus,
    memoryMib: r?.memory_mib,
    diskSizeGib: r?.disk_size_gib,
    env: body.env,
    labels: body.labels,
    hostname: body.hostname,
    description: body.description,
    execTimeoutSecs: execTimeoutOf(body),
    lifetimeSecs: lifetimeOf(body),
    idleTimeoutSecs: idleTimeoutOf(body),
    network: body.network,
    egress: body.egress,
    whitelist: body.whitelist,
    packages: body.packages,
    ports: portsOf(body),
    volumes: body.volumes?.map((v) => ({ volume: v.volume, path: v.path, readOnly: v.read_only })),
    workspaceMount: body.workspace_mount,
  };
}

/** `runtime_version`, or seed 000's `runtimeVersion` for it; both at once must agree. */
export function runtimeVersionOf(body: { runtime_version?: string; runtimeVersion?: string }): string | undefined {
  return eitherForm(body.runtime_version, body.runtimeVersion, "runtime_version", "runtimeVersion");
}

export const runtimeRoutes: RouteModule = ({ engine }) => {
  const lifecycle = (op: (ref: string) => Promise<unknown>): Handler => async (ctx) => {
    await readJson(ctx, LifecycleRequestSchema, true);
    send(ctx, 200, { data: await op(ctx.params.rt) });
  };

  return [
    {
      method: "POST",
      path: "/v1/runtimes",
      handler: async (ctx) => {
        const query = parseQuery(ctx, CreateRuntimeQuerySchema);
        const body = await readJson(ctx, CreateRuntimeRequestSchema);
        const header = ctx.req.headers["idempotency-key"];
        if (Array.isArray(header) || (typeof header === "string" && (header.length === 0 || header.length > IDEMPOTENCY_KEY_MAX))) {
          throw errors.invalid(`Idempotency-Key header: must be one value of 1-${IDEMPOTENCY_KEY_MAX} characters`, { field: "Idempotency-Key" });
        }
        if (header !== undefined && body.key !== undefined && header !== body.key) {
          throw errors.invalid("key (seed 002's) and the Idempotency-Key header differ: give one of them", { field: "key" });
        }
        const key = header ?? body.key;
        // The key is not part of what the request asks for: a header and a body key are the same request.
        const { key: _key, ...asked } = body;
        let existed = false;
        const runtime = await engine.create(
          {
            ...createSpecOf(body),
            runtimeVersion: runtimeVersionOf(body),
            type: body.type,
            idempotencyKey: key,
            requestHash: key === undefined ? undefined : createHash("sha256").update(canonicalJson(asked)).digest("hex"),
          },
          { wait: query.wait !== "false", existed: () => (existed = true) },
        );
        // As seed 002 answers "already existed": 200 for the runtime an earlier create with this key made.
        send(ctx, existed ? 200 : 201, { data: runtime });
      },
    },
    {
      method: "GET",
      path: "/v1/runtimes",
      handler: async (ctx) => {
        const q = parseQuery(ctx, ListRuntimesQuerySchema);
        const page = await engine.list({ status: q.status, limit: q.limit, after: q.after, usage: q.usage === "true", pooled: q.pooled === "true" });
        // The runtimes come as JSON text (most of it kept per record by the engine): the page is written around them.
        const pagination = JSON.stringify({ next_cursor: page.nextCursor, has_more: page.nextCursor !== null });
        sendText(ctx, 200, Buffer.from(`{"data":[${page.json.join(",")}],"pagination":${pagination}}`));
      },
    },
    {
      method: "GET",
      path: "/v1/runtimes/{rt}",
      handler: async (ctx) => {
        const q = parseQuery(ctx, GetRuntimeQuerySchema);
        send(ctx, 200, { data: await engine.get(ctx.params.rt, { usage: q.usage !== "false" }) });
      },
    },
    {
      method: "PATCH",
      path: "/v1/runtimes/{rt}",
      handler: async (ctx) => {
        const body = await readJson(ctx, UpdateRuntimeRequestSchema);
        // Rename first, so that a resize in the same request addresses the runtime by its id either way.
        let rt = body.name === undefined ? undefined : await engine.rename(ctx.params.rt, body.name);
        const r = body.resources?.requests;
        if (r) rt = await engine.resize(rt?.id ?? ctx.params.rt, { vcpus: r.vcpus, memoryMib: r.memory_mib, diskSizeGib: r.disk_size_gib });
        if (body.description !== undefined) rt = await engine.describe(rt?.id ?? ctx.params.rt, body.description);
        if (body.idle_timeout_secs !== undefined) rt = await engine.setIdleTimeout(rt?.id ?? ctx.params.rt, body.idle_timeout_secs);
        send(ctx, 200, { data: rt });
      },
    },
    { method: "DELETE", path: "/v1/runtimes/{rt}", handler: async (ctx) => send(ctx, 200, { data: await engine.delete(ctx.params.rt) }) },
    { method: "POST", path: "/v1/runtimes/{rt}/start", handler: lifecycle((r) => engine.start(r)) },
    {
      method: "POST",
      path: "/v1/runtimes/{rt}/stop",
      handler: async (ctx) => {
        const body = await readJson(ctx, StopRuntimeRequestSchema, true);
        send(ctx, 200, { data: await engine.stop(ctx.params.rt, { graceSecs: body?.grace_secs }) });
      },
    },
    { method: "POST", path: "/v1/runtimes/{rt}/pause", handler: lifecycle((r) => engine.pause(r)) },
    { method: "POST", path: "/v1/runtimes/{rt}/resume", handler: lifecycle((r) => engine.resume(r)) },
    {
      method: "POST",
      path: "/v1/runtimes/{rt}/exec",
      handler: async (ctx) => {
        const body = await readJson(ctx, ExecRequestSchema);
        // A client that goes away (Ctrl-C on `runta exec`) takes its command with it, instead of leaving it to run
        // unattended until its timeout.
        const gone = new AbortController();
        const onClose = () => {
          if (!ctx.res.writableFinished) gone.abort();
        };
        ctx.res.once("close", onClose);
        try {
          const captured = await engine.execCaptured(ctx.params.rt, {
            argv: commandArgv(body.command, body.args),
            cwd: body.cwd,
            env: body.env,
            stdin: body.stdin === undefined ? undefined : Buffer.from(body.stdin, "utf8"),
            timeoutSecs: body.timeout_secs,
            maxOutputBytes: body.max_output_bytes,
            signal: gone.signal,
            user: body.user,
            outputEncoding: body.output_encoding,
          });
          // Encoded from the captured chunks as it is written, each let go once sent: up to 2 × 16 MiB of output,
          // escaped, is never held whole (issue 21, item 1). The output's reservation ends with the answer.
          try {
            const { result, stdout, stderr } = captured;
            const text = (out: typeof stdout) => new JsonStringPieces(encodedPieces(out, result.output_encoding));
            await sendStreamed(ctx, 200, { data: { ...result, stdout: text(stdout), stderr: text(stderr) } });
          } finally {
            captured.release();
          }
        } finally {
          ctx.res.off("close", onClose);
        }
      },
    },
    {
      method: "GET",
      path: "/v1/runtimes/{rt}/exec/stream",
      handler: async () => {
        // Upgrades are taken by the websocket attachment before reaching here; a plain GET is a client mistake.
        throw new RuntaError("invalid_argument", "this is a websocket endpoint: connect with 'Connection: Upgrade' and 'Upgrade: websocket' (e.g. runta exec -it)", {
          httpStatus: 426,
        });
      },
    },
  ];
};
