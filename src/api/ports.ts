/** Wire schemas of published ports and the ingress (issue 13); the rules themselves are in ports-spec.ts (no zod). */
import { isIP } from "node:net";
import { z } from "zod";
import { PORT_LIMITS, PORT_PROTOCOLS, PORT_RANGE, type IngressInfo, type PublishedPort } from "./ports-spec.js";

export * from "./ports-spec.js";

export const PortNumberSchema = z.number({ error: PORT_RANGE }).int({ error: PORT_RANGE }).min(1, { error: PORT_RANGE }).max(65535, { error: PORT_RANGE });

/** One port to publish (body of `POST /v1/runtimes/{rt}/ports`, items of create's `ports`). */
export const PortRequestSchema = z
  .strictObject({
    /** The port inside the runtime. */
    port: PortNumberSchema,
    /** Default `tcp` with a host port, else `http`. */
    protocol: z.enum(PORT_PROTOCOLS).optional(),
    /** tcp only: the host port forwarded to it (default: a free one the daemon picks). */
    host_port: PortNumberSchema.optional(),
    /** tcp only: the host address it listens on (default 127.0.0.1; others only where the ingress listens elsewhere). */
    host_ip: z
      .string()
      .refine((s) => isIP(s) !== 0, { error: "must be an IP address (e.g. 127.0.0.1)" })
      .optional(),
  })
  .superRefine((p, ctx) => {
    if (p.protocol !== undefined && p.protocol !== "tcp" && (p.host_port !== undefined || p.host_ip !== undefined)) {
      ctx.addIssue({
        code: "custom",
        path: [p.host_port !== undefined ? "host_port" : "host_ip"],
        message: `a host port forwards plain TCP: drop it, or use protocol "tcp" (protocol is "${p.protocol}")`,
      });
    }
  });

/** The list of create's `ports`, at most PORT_LIMITS.perRuntimeMax and no port twice. */
export const PortRequestsSchema = z
  .array(PortRequestSchema)
  .max(PORT_LIMITS.perRuntimeMax, { error: `at most ${PORT_LIMITS.perRuntimeMax} published ports` })
  .superRefine((ports, ctx) => {
    const seen = new Set<number>();
    ports.forEach((p, i) => {
      if (seen.has(p.port)) ctx.addIssue({ code: "custom", path: [i, "port"], message: `port ${p.port} is listed twice: publish each port once` });
      seen.add(p.port);
    });
  });

/** A published port as a runtime reports it. */
export const PublishedPortSchema = z.object({
  port: z.number().int(),
  protocol: z.enum(PORT_PROTOCOLS),
  /** Where to reach it: `http(s)://<port>-<uuid>.<domain>:<ingress port>/`, or `tcp://<host_ip>:<host_port>`. */
  url: z.string(),
  /** tcp: the host address and port forwarded to it; null for http/https. */
  host_ip: z.string().nullable(),
  host_port: z.number().int().nullable(),
}) satisfies z.ZodType<PublishedPort>;

/** Body of `GET /v1/runtimes/{rt}/ports`. */
export const PortsSchema = z.array(PublishedPortSchema);

/** Body of `GET /v1/ingress`: where the ingress listens and the CA to trust for its https URLs. */
export const IngressInfoSchema = z.object({
  /** The ingress listener, host:port (HTTP and HTTPS on one port). */
  listen: z.string(),
  domain: z.string(),
  /** The CA certificate (PEM) of the https URLs: `curl --cacert`, or add it to a trust store. */
  ca_certificate: z.string(),
  ca_fingerprint_sha256: z.string(),
  /** Where the daemon keeps it (root-only directory). */
  ca_path: z.string(),
  wake_timeout_secs: z.number(),
}) satisfies z.ZodType<IngressInfo>;

