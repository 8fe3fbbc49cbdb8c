/**
 * The ingress room of the engine: a runtime's published ports (checked, stored in its record, bound on the host for
 * tcp), and the way in for the daemon's ingress listener (server/ingress/) and the host ports: find the published
 * port, hold activity, wake a suspended runtime, wait until the app accepts (upstream.ts). The HTTP side itself (Host
 * routing, TLS, websockets) is the server's: the engine only hands out connected sockets.
 */
import { isIP } from "node:net";
import type net from "node:net";
import { errors } from "../../api/index.js";
import { PORT_LIMITS, portBinding, publishedPort, type IngressAddress, type PortBinding, type PortRequest, type PublishedPort } from "../../api/ports-spec.js";
import type { NetworkMode } from "../../api/egress.js";
import type { Logger } from "../../log.js";
import type { RuntimeRecord } from "../../store/record.js";
import type { RuntimeStore } from "../../store/store.js";
import { HostPorts } from "./host-ports.js";
import { dialUpstream } from "./upstream.js";

/** How the daemon's ingress is configured (daemon flags). */
export interface IngressConfig {
  /** The ingress listener's domain and port, for URLs; null when the daemon runs without one. */
  address: IngressAddress | null;
  /** The host the ingress listens on: tcp host ports may bind loopback, and this address when it is not loopback. */
  listenHost: string;
  /** How long a connection waits for a suspended or starting app (default PORT_LIMITS.wakeTimeoutSecsDefault). */
  wakeTimeoutMs: number;
}

/** What the room uses of the engine. */
export interface IngressDeps {
  store: RuntimeStore;
  /** The runtime's address on the runtime network (null without one). */
  address(runtimeId: string): string | null;
  wake(runtimeId: string): Promise<void>;
  activityHold(runtimeId: string, kind: "ingress"): () => void;
  logger: Logger;
}

/** A connection into a published port; `release()` ends its activity hold (call it when the connection closes). */
export interface PublishedConnection {
  socket: net.Socket;
  protocol: PortBinding["protocol"];
  release(): void;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1)$/;
const WILDCARD = new Set(["0.0.0.0", "::"]);

/** The ports room (see the module comment). */
export class Ingress {
  readonly hostPorts: HostPorts;

  constructor(
    private readonly deps: IngressDeps,
    readonly config: IngressConfig,
  ) {
    this.hostPorts = new HostPorts((id, port, signal) => this.connect(id, port, "tcp", signal), deps.logger);
  }

  /** Binds the host ports of every record again (daemon start); one that cannot be bound is logged, not fatal. */
  async open(): Promise<void> {
    for (const rec of this.deps.store.all()) await this.bindHostPorts(rec).catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.hostPorts.close();
  }

  /** The record's ports on the wire, with their URLs. */
  wire(rec: RuntimeRecord): PublishedPort[] {
    return rec.ports.map((b) => publishedPort(b, rec.id, this.config.address));
  }

  /**
   * Checks a create's ports before anything is made (synchronous: the record is inserted right after) and returns the
   * bindings to store; tcp host ports are bound later by {@link bindHostPorts}, inside the create.
   */
  admit(reqs: PortRequest[] | undefined, network: NetworkMode): PortBinding[] {
    if (!reqs?.length) return [];
    if (network === "none") throw errors.invalid('publishing ports needs a network: drop network "none" (--network none) or the ports', { field: "ports" });
    const out: PortBinding[] = [];
    for (const req of reqs) out.push(this.checked(out, portBinding(req)));
    return out;
  }

  /**
   * Binds the record's tcp host ports (a port 0 becomes the free one found and is stored). On failure nothing of
   * them stays bound and the error says which port.
   */
  async bindHostPorts(rec: RuntimeRecord): Promise<RuntimeRecord> {
    const ports: PortBinding[] = [];
    try {
      for (const b of rec.ports) {
        if (b.protocol !== "tcp") ports.push(b);
        else ports.push({ ...b, hostPort: await this.hostPorts.bind(rec.id, b.port, b.hostIp!, b.hostPort ?? 0) });
      }
    } catch (err) {
      await this.hostPorts.unbind(rec.id);
      this.deps.logger.warn("could not bind a published host port", { runtime_id: rec.id, name: rec.name, error: (err as Error).message });
      throw err;
    }
    const changed = ports.some((p, i) => p.hostPort !== rec.ports[i]!.hostPort);
    return changed ? (this.deps.store.update(rec.id, { ports }) ?? rec) : rec;
  }

  /** Publishes one more port of `rec` (the caller holds the runtime's lock); binds a tcp host port first. */
  async publish(rec: RuntimeRecord, req: PortRequest): Promise<RuntimeRecord> {
    if (rec.status === "creating" || rec.status === "deleting") {
      throw errors.precondition(`runtime "${rec.name}" is ${rec.status}: publish its ports once it is created (or at create: runta run -p)`, { status: rec.status });
    }
    if (this.deps.address(rec.id) === null) {
      throw errors.precondition(`runtime "${rec.name}" has no network (created with --network none): nothing can reach its ports; create it with a network to publish`, {
        network: "none",
      });
    }
    const b = this.checked(rec.ports, portBinding(req));
    if (b.protocol === "tcp") b.hostPort = await this.hostPorts.bind(rec.id, b.port, b.hostIp!, b.hostPort ?? 0);
    try {
      return this.deps.store.update(rec.id, { ports: [...rec.ports, b] }) ?? rec;
    } catch (err) {
      await this.hostPorts.unbind(rec.id, b.port);
      throw err;
    }
  }

  /** Stops publishing `port` of `rec` (the caller holds the lock); its host port and connections close. */
  async unpublish(rec: RuntimeRecord, port: number): Promise<RuntimeRecord> {
    if (!rec.ports.some((p) => p.port === port)) {
      const have = rec.ports.map((p) => `${p.port}/${p.protocol}`).join(", ");
      throw errors.notFound(`port ${port} is not published on runtime "${rec.name}" (${have ? `published: ${have}` : "it publishes none"}); see runta ports ls ${rec.name}`, {
        port,
      });
    }
    await this.hostPorts.unbind(rec.id, port);
    return this.deps.store.update(rec.id, { ports: rec.ports.filter((p) => p.port !== port) }) ?? rec;
  }

  /** The runtime is gone (deleted, or its create failed): its host ports close. */
  async forget(runtimeId: string): Promise<void> {
    await this.hostPorts.unbind(runtimeId);
  }

  /**
   * The way into a published port: `not_found` unless runtime `runtimeId` publishes `port` over `via` (the ingress for
   * http/https, a host port for tcp); otherwise holds activity, wakes and waits for the app (upstream.ts).
   */
  async connect(runtimeId: string, port: number, via: "ingress" | "tcp", signal?: AbortSignal): Promise<PublishedConnection> {
    const binding = this.deps.store.get(runtimeId)?.ports.find((p) => p.port === port && (via === "tcp") === (p.protocol === "tcp"));
    if (!binding) throw errors.notFound("no such service");
    const release = once(this.deps.activityHold(runtimeId, "ingress"));
    try {
      const socket = await dialUpstream(
        {
          runtimeId,
          port,
          state: () => {
            const rec = this.deps.store.get(runtimeId);
            return rec && { status: rec.status, address: this.deps.address(runtimeId) };
          },
          wake: () => this.deps.wake(runtimeId),
        },
        { timeoutMs: this.config.wakeTimeoutMs, signal },
      );
      return { socket, protocol: binding.protocol, release };
    } catch (err) {
      release();
      throw err;
    }
  }

  /** A new binding checked against the ones already there: limit, duplicates, the ingress, host addresses. */
  private checked(existing: PortBinding[], b: PortBinding): PortBinding {
    if (existing.length >= PORT_LIMITS.perRuntimeMax) {
      throw errors.exhausted(`a runtime publishes at most ${PORT_LIMITS.perRuntimeMax} ports; remove one first (runta ports rm)`, { limit: PORT_LIMITS.perRuntimeMax });
    }
    const same = existing.find((p) => p.port === b.port);
    if (same) throw errors.exists(`port ${b.port} is already published (as ${same.protocol}); remove it first to change it: runta ports rm <runtime> ${b.port}`, { port: b.port });
    if (b.protocol !== "tcp" && !this.config.address) {
      throw errors.precondition(`this daemon runs without an ingress (--ingress-listen none), so ${b.protocol} ports cannot be reached; publish a host port instead (-p HOST_PORT:${b.port}) or start the daemon with an ingress`);
    }
    if (b.protocol === "tcp") {
      const ip = b.hostIp!;
      const listen = this.config.listenHost;
      const allowed = LOOPBACK.test(ip) || WILDCARD.has(listen) || (ip === listen && isIP(ip) !== 0);
      if (!allowed) {
        throw errors.invalid(`host address ${ip} is not loopback and the daemon's ingress listens on ${listen}: publish on 127.0.0.1, or start the daemon with --ingress-listen ${ip}:<port> (or 0.0.0.0) to allow it`, {
          field: "host_ip",
        });
      }
    }
    return b;
  }
}

/** `f` callable many times, effective once. */
function once(f: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    f();
  };
}
