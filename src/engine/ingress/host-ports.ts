/**
 * Docker's `-p HOST_PORT:PORT`: a listener on a host address and port whose connections are spliced, byte for byte, to
 * the runtime's port (plain TCP, no protocol assumed). A listener is bound when the port is published (so "in use" is
 * an error then, not later) and kept while the port stays published, also while the runtime is shut down, so nothing
 * else takes the port meanwhile; its connections then get the same wake-and-wait as the ingress.
 */
import net from "node:net";
import { errors, LIMITS } from "../../api/index.js";
import type { Logger } from "../../log.js";
import { splice } from "./splice.js";

/** Opens the way to the runtime for one accepted connection (hold, wake, dial); rejects when it cannot be served. */
export type OpenUpstream = (runtimeId: string, port: number, signal: AbortSignal) => Promise<{ socket: net.Socket; release(): void }>;

interface Forwarder {
  server: net.Server;
  sockets: Set<net.Socket>;
}

/** The daemon's host-port listeners, keyed by runtime and runtime port. */
export class HostPorts {
  private readonly forwarders = new Map<string, Forwarder>();

  constructor(
    private readonly open: OpenUpstream,
    private readonly logger: Logger,
  ) {}

  /**
   * Listens on `hostIp:hostPort` (0: a free port) for the runtime's `port`; resolves with the port bound. A port in use
   * is `already_exists` naming the fix; nothing stays bound on failure.
   */
  async bind(runtimeId: string, port: number, hostIp: string, hostPort: number): Promise<number> {
    const key = `${runtimeId}:${port}`;
    if (this.forwarders.has(key)) return (this.forwarders.get(key)!.server.address() as net.AddressInfo).port;
    const fw: Forwarder = { server: net.createServer({ noDelay: true, allowHalfOpen: true }), sockets: new Set() };
    // Each connection holds a descriptor, like the API's: the same cap per listener.
    fw.server.maxConnections = LIMITS.connectionsMax;
    fw.server.on("connection", (client) => this.accept(fw, client, runtimeId, port));
    await new Promise<void>((resolve, reject) => {
      fw.server.once("error", (err: NodeJS.ErrnoException) => {
        const where = `${hostIp.includes(":") ? `[${hostIp}]` : hostIp}:${hostPort}`;
        if (err.code === "EADDRINUSE") reject(errors.exists(`host port ${where} is already in use: pick another host port (e.g. -p ${hostPort + 1}:${port}) or leave it out for a free one`, { field: "host_port", host_port: hostPort }));
        else if (err.code === "EADDRNOTAVAIL") reject(errors.invalid(`host address ${hostIp} is not an address of this host`, { field: "host_ip" }));
        else if (err.code === "EACCES") reject(errors.invalid(`host port ${where} may not be bound by the daemon`, { field: "host_port" }));
        else reject(err);
      });
      fw.server.listen({ host: hostIp, port: hostPort, exclusive: true }, () => resolve());
    });
    fw.server.on("error", (err) => this.logger.error("host port listener failed", { runtime_id: runtimeId, port, error: err.message }));
    this.forwarders.set(key, fw);
    return (fw.server.address() as net.AddressInfo).port;
  }

  /** Closes the listener of one port (and its connections), or every one of the runtime's. */
  async unbind(runtimeId: string, port?: number): Promise<void> {
    const keys = [...this.forwarders.keys()].filter((k) => (port === undefined ? k.startsWith(runtimeId + ":") : k === `${runtimeId}:${port}`));
    await Promise.all(keys.map((k) => this.closeOne(k)));
  }

  /** Closes every listener (daemon shutdown: runtimes keep running, the next daemon binds the ports again). */
  async close(): Promise<void> {
    await Promise.all([...this.forwarders.keys()].map((k) => this.closeOne(k)));
  }

  private async closeOne(key: string): Promise<void> {
    const fw = this.forwarders.get(key);
    if (!fw) return;
    this.forwarders.delete(key);
    for (const s of fw.sockets) s.destroy();
    await new Promise<void>((resolve) => fw.server.close(() => resolve()));
  }

  private accept(fw: Forwarder, client: net.Socket, runtimeId: string, port: number): void {
    fw.sockets.add(client);
    const gone = new AbortController();
    client.once("close", () => {
      fw.sockets.delete(client);
      gone.abort();
    });
    client.on("error", () => client.destroy());
    // Bytes the client sends while the runtime wakes wait in the socket (paused), then go through.
    client.pause();
    this.open(runtimeId, port, gone.signal).then(
      ({ socket, release }) => {
        if (client.destroyed) {
          socket.destroy();
          release();
          return;
        }
        fw.sockets.add(socket);
        splice(client, socket, () => {
          fw.sockets.delete(socket);
          release();
        });
      },
      (err: Error) => {
        this.logger.debug("host port connection not served", { runtime_id: runtimeId, port, reason: err.message });
        client.destroy();
      },
    );
  }
}
