/**
 * `RuntimeNetworks`: the network room of the engine. It owns the daemon's address range, nftables table, resolver
 * and egress proxy, and each runtime's namespace, veth, policy and audit trail (durable in {@link NetworkStore}).
 * The engine calls it at create (before runc starts: the runtime joins the namespace made here), at boot (a host
 * reboot took the namespace: it is made again), at delete, and for the egress routes. Namespaces outlive their
 * containers, so shutdown/boot, pause/resume and daemon restarts keep the runtime's address and policy.
 *
 * Nothing is set up until a runtime needs a network. The last one out leaves the resolver, proxy and table for
 * {@link KEEP_ACTIVE_MS} (a next create, as in a create-use-delete loop, then skips setting them up again: 60–120 ms
 * of a create here under load), then removes the table and gives IPv4 forwarding back (forwarding.ts); stopping the
 * daemon does so at once. A daemon without networked runtimes leaves the host as it found it.
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import {
  EGRESS_LIMITS,
  OPEN_POLICY,
  type EgressEvent,
  type EgressPolicy,
  type NetworkMode,
} from "../../api/egress.js";
import { errors } from "../../api/index.js";
import { silentLogger, type Logger } from "../../log.js";
import { NetworkStore, type NetworkRecord } from "../../store/network-store.js";
import { DnsForwarder } from "./dns.js";
import { acquireForwarding, releaseForwarding } from "./forwarding.js";
import { cidrsOverlap, formatCidr, parseCidr } from "./ipv4.js";
import {
  addRuntimeScript,
  allocateIndex,
  attachment,
  deleteTableScript,
  hostSetupBatch,
  namespaceSetupBatch,
  networkNames,
  policyScript,
  removeRuntimeScript,
  tableScript,
  teardownBatch,
  type Attachment,
  type NetworkNames,
  type TableRuntime,
} from "./plan.js";
import { EgressProxy, type Takeover } from "./proxy.js";
import { Resolver } from "./resolve.js";
import { ipBatch, nftScript } from "./tools.js";

const execFileAsync = promisify(execFile);

/** Options of {@link RuntimeNetworks.open}. */
export interface RuntimeNetworksOptions {
  dataDir: string;
  /** What names and the range derive from (default: the data dir), so two daemons never share them. */
  identity?: string;
  /** The daemon's address range (default: a /20 in 10.64.0.0/10 derived from the identity, kept once chosen). */
  cidr?: string;
  /** A hosts(5) file the resolver and proxy consult before DNS. */
  hostsFile?: string;
  /** Counts each open proxied connection as its runtime's activity (the idle keeper's hold). */
  activity?: (runtimeId: string) => () => void;
  logger?: Logger;
  /** Takes over the proxied connections it wants (the secrets room's injection); absent: all are spliced. */
  takeover?: Takeover;
  /** How long the table, resolver and proxy stay after the last networked runtime is removed (default {@link KEEP_ACTIVE_MS}). */
  keepActiveMs?: number;
}

/** How long the daemon's network parts outlive its last networked runtime by default. */
export const KEEP_ACTIVE_MS = 30_000;

/** A runtime's network as the engine sees it. */
export interface RuntimeNetwork {
  mode: NetworkMode;
  address: string | null;
  policy: EgressPolicy;
  /** The namespace runc joins (null with mode "none": runc makes a loopback-only one). */
  netnsPath: string | null;
}

/** How many alternative derived ranges a daemon tries when the host routes its first one. */
const RANGE_ATTEMPTS = 8;

/** Where `ip netns add` puts a namespace. */
const NETNS_DIR = "/run/netns";

/** The daemon's runtime networks (see the module comment). */
export class RuntimeNetworks {
  private current: NetworkNames;
  private readonly resolver: Resolver;
  private readonly byAddress = new Map<string, { runtimeId: string; policy: EgressPolicy }>();
  private active: Promise<{ dns: DnsForwarder; proxy: EgressProxy }> | null = null;
  /** Serialises changes of the table and of indexes (allocation reads then writes). */
  private queue: Promise<unknown> = Promise.resolve();
  /** The removal of the parts once no runtime has a network, pending for {@link RuntimeNetworksOptions.keepActiveMs}. */
  private idleTimer: NodeJS.Timeout | null = null;

  private constructor(
    private readonly opts: RuntimeNetworksOptions & { logger: Logger },
    readonly store: NetworkStore,
  ) {
    this.current = networkNames(this.identity, opts.cidr ?? store.range() ?? undefined);
    this.resolver = new Resolver(opts.hostsFile);
  }

  /** Table name, interface prefix and address range (the range is settled at the first activation). */
  get names(): NetworkNames {
    return this.current;
  }

  private get identity(): string {
    return this.opts.identity ?? resolve(this.opts.dataDir);
  }

  /** Opens the store; when runtimes with a network exist, rebuilds the table and starts the resolver and proxy. */
  static async open(options: RuntimeNetworksOptions): Promise<RuntimeNetworks> {
    const nets = new RuntimeNetworks({ ...options, logger: options.logger ?? silentLogger }, new NetworkStore(options.dataDir));
    for (const rec of nets.store.all()) nets.remember(rec);
    if (nets.byAddress.size) await nets.activate();
    return nets;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(fn, fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private attachmentOf(rec: NetworkRecord): Attachment | null {
    return rec.mode === "nat" && rec.index !== null ? attachment(this.names, rec.index) : null;
  }

  private remember(rec: NetworkRecord): void {
    const a = this.attachmentOf(rec);
    if (a) this.byAddress.set(a.address, { runtimeId: rec.runtimeId, policy: rec.policy });
  }

  private tableRuntimes(): TableRuntime[] {
    return this.store.all().flatMap((rec) => {
      const a = this.attachmentOf(rec);
      return a ? [{ attachment: a, policy: rec.policy }] : [];
    });
  }

  /** Starts the resolver and proxy and (re)builds the table with every runtime; once per daemon (until deactivated). */
  private activate(): Promise<{ dns: DnsForwarder; proxy: EgressProxy }> {
    this.keepActive();
    this.active ??= (async () => {
      await this.settleRange();
      const ctx = {
        policyFor: (ip: string) => this.byAddress.get(ip) ?? null,
        record: (runtimeId: string, ev: Omit<EgressEvent, "seq">) => this.record(runtimeId, ev),
        resolver: this.resolver,
        logger: this.opts.logger,
      };
      const dns = await DnsForwarder.start(ctx);
      const proxy = await EgressProxy.start({ ...ctx, range: this.names.range, activity: this.opts.activity, takeover: this.opts.takeover });
      try {
        const ownsForwarding = acquireForwarding(this.names.table);
        await nftScript(tableScript(this.names, { dnsPort: dns.port, httpPort: proxy.ports.http, tlsPort: proxy.ports.tls, ownsForwarding }, this.tableRuntimes()));
      } catch (err) {
        await Promise.all([dns.close(), proxy.close()]);
        throw err;
      }
      this.opts.logger.info("runtime networking ready", { table: this.names.table, range: formatCidr(this.names.range), gateway: this.names.gateway });
      return { dns, proxy };
    })();
    this.active.catch(() => (this.active = null));
    return this.active;
  }

  /**
   * Settles the address range before the first runtime gets one. A range given in the config, or kept from an earlier
   * start (the runtimes' addresses are in it), is used or refused; a derived one the host already routes (another
   * daemon's, a VPN's) gives way to the next derived alternative, and the one chosen is kept for later starts.
   */
  private async settleRange(): Promise<void> {
    if (this.opts.cidr || this.store.range() !== null || this.store.all().some((r) => r.index !== null)) {
      const clash = await this.overlappingRoute();
      if (clash) throw this.rangeRefusal(clash);
      return;
    }
    const first = await this.overlappingRoute();
    let clash = first;
    for (let attempt = 1; clash && attempt <= RANGE_ATTEMPTS; attempt++) {
      const taken = formatCidr(this.current.range);
      this.current = networkNames(this.identity, undefined, attempt);
      clash = await this.overlappingRoute();
      if (!clash) this.opts.logger.warn("the derived address range is routed by the host already; using another", { taken, range: formatCidr(this.current.range) });
    }
    if (clash) {
      this.current = networkNames(this.identity);
      throw this.rangeRefusal(first!);
    }
    this.store.saveRange(formatCidr(this.current.range));
  }

  private rangeRefusal(r: { dst: string; dev?: string }): Error {
    return errors.unavailable(
      `the runtimes' address range ${formatCidr(this.names.range)} overlaps the host's route to ${r.dst} (dev ${r.dev ?? "?"}); start the daemon with another range (RUNTA_NETWORK_CIDR)`,
    );
  }

  /** A route of the host (not one of this daemon's runtimes) into the range, or null. */
  private async overlappingRoute(): Promise<{ dst: string; dev?: string } | null> {
    const { stdout } = await execFileAsync("ip", ["-j", "-4", "route", "show", "table", "all"]).catch((err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") throw errors.unavailable("ip (iproute2) was not found, so runtimes cannot have a network; install it with 'apt-get install iproute2' (or use --network none)", err);
      throw err;
    });
    for (const r of JSON.parse(stdout || "[]") as Array<{ dst: string; dev?: string; type?: string }>) {
      if (!r.dst || r.dst === "default" || r.type === "broadcast" || r.type === "local") continue;
      if (r.dev?.startsWith(this.names.ifPrefix + "-")) continue;
      let dst;
      try {
        dst = parseCidr(r.dst);
      } catch {
        continue;
      }
      if (cidrsOverlap(dst, this.names.range)) return r;
    }
    return null;
  }

  /** Gives a new runtime its network record (and, for "nat", an address, namespace, veth and chains). */
  create(runtimeId: string, mode: NetworkMode, policy: EgressPolicy = OPEN_POLICY): Promise<RuntimeNetwork> {
    return this.serial(async () => {
      if (mode === "none") {
        this.store.put({ runtimeId, mode, index: null, policy });
        return this.describe(runtimeId);
      }
      await this.activate();
      const index = allocateIndex(this.names, this.store.all().flatMap((r) => (r.index === null ? [] : [r.index])));
      if (index === null) throw errors.exhausted(`the runtimes' address range ${formatCidr(this.names.range)} is full`);
      const rec: NetworkRecord = { runtimeId, mode, index, policy };
      this.store.put(rec);
      try {
        await this.build(rec);
      } catch (err) {
        await this.destroy(rec).catch(() => {});
        this.store.remove(runtimeId);
        await this.lastOut();
        throw err;
      }
      return this.describe(runtimeId);
    });
  }

  /** The links and the rules at once: nftables names the interface as a string, so neither waits for the other. */
  private async build(rec: NetworkRecord): Promise<void> {
    const a = this.attachmentOf(rec)!;
    const links = ipBatch(hostSetupBatch(this.names, a)).then(() => ipBatch(namespaceSetupBatch(this.names, a), { netns: a.ifname }));
    const rules = nftScript(addRuntimeScript(this.names, { attachment: a, policy: rec.policy }));
    const [l, r] = await Promise.allSettled([links, rules]);
    if (l.status === "rejected") throw l.reason;
    if (r.status === "rejected") throw r.reason;
    this.remember(rec);
  }

  private async destroy(rec: NetworkRecord): Promise<void> {
    const a = this.attachmentOf(rec);
    if (!a) return;
    this.byAddress.delete(a.address);
    // Each may already be gone (a failed create, a host reboot): what is there is removed.
    await Promise.all([nftScript(removeRuntimeScript(this.names, a)).catch(() => {}), ipBatch(teardownBatch(a), { force: true }).catch(() => {})]);
  }

  /**
   * Takes back the network of a runtime whose record a damaged database lost (engine/recover.ts): its record again,
   * its rules in the table, and its namespace and veth if they are gone.
   */
  recover(rec: NetworkRecord): Promise<void> {
    return this.serial(async () => {
      this.store.put(rec);
      const a = this.attachmentOf(rec);
      if (!a) return;
      await this.activate();
      if (!existsSync(join(NETNS_DIR, a.ifname)) || !existsSync(`/sys/class/net/${a.ifname}`)) {
        await ipBatch(teardownBatch(a), { force: true }).catch(() => {});
        await this.build(rec);
        return;
      }
      await nftScript(addRuntimeScript(this.names, { attachment: a, policy: rec.policy }));
      this.remember(rec);
    });
  }

  /**
   * Makes sure a runtime's namespace and veth exist before runc starts it: after a host reboot (or anything that
   * removed them) they are made again with the same address and policy. A no-op when both are there.
   */
  ensure(runtimeId: string): Promise<RuntimeNetwork> {
    return this.serial(async () => {
      const rec = this.store.get(runtimeId);
      const a = rec && this.attachmentOf(rec);
      if (!rec || !a) return this.describe(runtimeId);
      await this.activate();
      if (!existsSync(join(NETNS_DIR, a.ifname)) || !existsSync(`/sys/class/net/${a.ifname}`)) {
        this.opts.logger.info("recreating a runtime's network namespace", { id: runtimeId, address: a.address });
        await ipBatch(teardownBatch(a), { force: true }).catch(() => {});
        await this.build(rec);
      }
      return this.describe(runtimeId);
    });
  }

  /** A runtime's network (mode "none" for runtimes made before networking existed). */
  describe(runtimeId: string): RuntimeNetwork {
    const rec = this.store.get(runtimeId);
    const a = rec && this.attachmentOf(rec);
    return {
      mode: rec?.mode ?? "none",
      address: a?.address ?? null,
      policy: rec?.policy ?? OPEN_POLICY,
      netnsPath: a ? join(NETNS_DIR, a.ifname) : null,
    };
  }

  /**
   * Bytes the runtime received and sent since its veth was made, or null without one (mode "none", or gone). Read
   * from the host side, whose directions are the runtime's reversed: what the host end transmits, the runtime
   * receives. Synchronous, like the cgroup usage it is read with.
   */
  traffic(runtimeId: string): { rxBytes: number; txBytes: number } | null {
    const rec = this.store.get(runtimeId);
    const a = rec && this.attachmentOf(rec);
    if (!a) return null;
    try {
      const counter = (name: string) => Number(readFileSync(`/sys/class/net/${a.ifname}/statistics/${name}`, "utf8"));
      return { rxBytes: counter("tx_bytes"), txBytes: counter("rx_bytes") };
    } catch {
      return null;
    }
  }

  /** Replaces a runtime's egress policy; it applies at once to new connections and cuts live ones it now denies. */
  setPolicy(runtimeId: string, policy: EgressPolicy): Promise<RuntimeNetwork> {
    return this.serial(async () => {
      const rec = this.store.get(runtimeId);
      if (!rec) throw errors.notFound(`runtime ${runtimeId} has no network record`);
      const next = { ...rec, policy };
      const a = this.attachmentOf(next);
      if (a) {
        const { proxy } = await this.activate();
        await nftScript(policyScript(this.names, { attachment: a, policy }));
        this.store.put(next);
        this.remember(next);
        proxy.policyChanged(runtimeId, policy);
      } else this.store.put(next);
      return this.describe(runtimeId);
    });
  }

  /** Removes a runtime's network entirely (its container is gone); unknown runtimes are a no-op. */
  remove(runtimeId: string): Promise<void> {
    return this.serial(async () => {
      const rec = this.store.get(runtimeId);
      if (!rec) return;
      await this.destroy(rec);
      this.store.remove(runtimeId);
      await this.lastOut();
    });
  }

  private networked(): boolean {
    return this.store.all().some((r) => r.mode === "nat");
  }

  /** Cancels a pending removal of the parts (a runtime needs them again). */
  private keepActive(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  /**
   * Once no runtime has a network (the caller holds the queue): removes the parts after keepActiveMs unless a runtime
   * needs them again meanwhile, or at once with none.
   */
  private async lastOut(): Promise<void> {
    if (this.networked()) return;
    this.keepActive();
    const delay = this.opts.keepActiveMs ?? KEEP_ACTIVE_MS;
    if (delay <= 0) return this.deactivate();
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      void this.serial(async () => {
        if (!this.networked() && !this.idleTimer) await this.deactivate();
      });
    }, delay);
    this.idleTimer.unref();
  }

  /** Stops the resolver and proxy, removes the table and gives forwarding back (no runtime needs them any more). */
  private async deactivate(): Promise<void> {
    const active = await this.active?.catch(() => null);
    this.active = null;
    if (!active) return;
    await Promise.all([active.dns.close(), active.proxy.close()]);
    await nftScript(deleteTableScript(this.names)).catch((err: Error) => this.opts.logger.warn("cannot remove the network table", { error: err.message }));
    releaseForwarding(this.names.table);
    this.opts.logger.info("runtime networking removed: no runtime has a network", { table: this.names.table });
  }

  /** Audit events of a runtime, oldest first. */
  events(runtimeId: string, opts: { after?: number; limit?: number } = {}): EgressEvent[] {
    return this.store.events(runtimeId, { after: opts.after, limit: opts.limit ?? EGRESS_LIMITS.eventsLimitDefault });
  }

  private record(runtimeId: string, ev: Omit<EgressEvent, "seq">): void {
    try {
      this.store.addEvent(runtimeId, ev);
    } catch (err) {
      this.opts.logger.warn("cannot record an egress event", { id: runtimeId, error: (err as Error).message });
    }
  }

  /**
   * The runtime's /etc/hosts, /etc/hostname and (with a network) /etc/resolv.conf, by path in the runtime: the
   * hostname resolves to the runtime's address (`hostname -f` works), the resolver is the gateway. The engine writes
   * them into the runtime's root at every boot (rootfs.ts writeIntoRoot) rather than bind-mounting host files, which
   * would show the host's disk in `df` inside.
   */
  etcFiles(runtimeId: string, hostname: string): Record<string, string> {
    const net = this.describe(runtimeId);
    return {
      "/etc/hosts": `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n${net.address ?? "127.0.1.1"}\t${hostname}\n`,
      "/etc/hostname": `${hostname}\n`,
      ...(net.address ? { "/etc/resolv.conf": `nameserver ${this.names.gateway}\n` } : {}),
    };
  }

  /**
   * Stops the resolver and proxy. The table stays while runtimes have a network: they keep running without the
   * daemon (only their DNS and ports 80/443 wait for it to come back, refused at once meanwhile). Without any, the
   * table goes now (not after keepActiveMs).
   */
  async close(): Promise<void> {
    this.keepActive();
    await this.queue;
    if (!this.networked()) await this.deactivate();
    const active = await this.active?.catch(() => null);
    this.active = null;
    if (active) await Promise.all([active.dns.close(), active.proxy.close()]);
    this.store.close();
  }
}
