/**
 * A certificate authority the daemon keeps under its data dir, issuing leaf certificates per host name on demand
 * (cached), for every place the daemon terminates TLS: the ingress (`/https` published ports, a CA users add to their
 * trust store) and the egress proxy's interception for secrets (a CA only runtimes trust). One module, two instances
 * in two directories.
 *
 * Keys are ECDSA P-256 made by node's crypto; certificates are written with the few DER encoders of der.ts (node has
 * no certificate builder), so issuing a leaf costs one signature (~0.1 ms), not a process. The CA's key file is 0600
 * in a 0700 directory (root only); its certificate is 0644. A CA restricted with `permittedDomains` carries X.509
 * name constraints, so trusting it (in a browser, say) cannot let it vouch for any other site.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign, X509Certificate, type KeyObject } from "node:crypto";
import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { isIP } from "node:net";
import { join } from "node:path";
import { createSecureContext, type SecureContext } from "node:tls";
import { silentLogger, type Logger } from "../../log.js";
import { bits, bool, children, ctx, int, octets, oid, read, seq, set, time, tlv, uint, utf8 } from "./der.js";

/** Options of {@link CertificateAuthority.loadOrCreate}. */
export interface CaOptions {
  /** Directory of `ca.crt` (0644), `ca.key` (0600) and `ca.json`; created 0700. */
  dir: string;
  /** The CA's subject common name (shown by browsers and `openssl x509 -subject`). */
  commonName: string;
  /**
   * DNS suffixes the CA may issue for (name constraints, RFC 5280 §4.2.1.10; IP addresses excluded). Default: none
   * (an unrestricted CA). A CA on disk made with other constraints is replaced (and logged): trust the new one.
   */
  permittedDomains?: string[];
  /** Days a leaf is valid (default 30; renewed in memory a day before it ends). */
  leafDays?: number;
  logger?: Logger;
}

/** A leaf certificate and its key, PEM. `cert` is the leaf followed by the CA (the chain a server sends). */
export interface Leaf {
  key: string;
  cert: string;
  notAfter: Date;
}

const CA_YEARS = 10;
const LEAF_CACHE_MAX = 1024;
const DAY_MS = 86_400_000;
const EC_P256 = { namedCurve: "prime256v1" } as const;
const OID = {
  ecdsaSha256: "1.2.840.10045.4.3.2",
  commonName: "2.5.4.3",
  organization: "2.5.4.10",
  subjectKeyId: "2.5.29.14",
  keyUsage: "2.5.29.15",
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  nameConstraints: "2.5.29.30",
  authorityKeyId: "2.5.29.35",
  extKeyUsage: "2.5.29.37",
  serverAuth: "1.3.6.1.5.5.7.3.1",
};

/** A DNS name (wildcards and `_` allowed, as SNI may carry them) or an IP address, lower-cased; throws otherwise. */
export function certHostName(host: string): string {
  const h = host.trim().toLowerCase().replace(/\.$/, "");
  if (isIP(h)) return h;
  if (h.length > 253 || !/^(\*\.)?[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$/.test(h)) {
    throw new Error(`'${host}' is not a host name a certificate can name`);
  }
  return h;
}

/** Whether `host` lies within one of `domains` (itself or a subdomain). */
function within(host: string, domains: string[]): boolean {
  return domains.some((d) => host === d || host.endsWith("." + d));
}

/** The CA and its leaf cache. */
export class CertificateAuthority {
  /** Path of the CA certificate (PEM): what users and runtimes add to their trust store. */
  readonly certPath: string;
  /** The CA certificate, PEM. */
  readonly certPem: string;
  private readonly leafKeyPem: string;
  private readonly leafSpki: Buffer;
  private readonly leaves = new Map<string, Leaf & { context?: SecureContext }>();

  private constructor(
    private readonly key: KeyObject,
    private readonly cert: X509Certificate,
    private readonly subject: Buffer,
    private readonly keyId: Buffer,
    private readonly opts: CaOptions,
  ) {
    this.certPath = join(opts.dir, "ca.crt");
    this.certPem = cert.toString();
    // One key for every leaf this process issues (as mitmproxy does): a leaf then costs a signature, not a key pair.
    const pair = generateKeyPairSync("ec", EC_P256);
    this.leafKeyPem = pair.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    this.leafSpki = pair.publicKey.export({ type: "spki", format: "der" });
  }

  /** Loads the CA in `opts.dir`, or creates it (also when the one there is unreadable, expiring or differently constrained). */
  static async loadOrCreate(opts: CaOptions): Promise<CertificateAuthority> {
    const logger = opts.logger ?? silentLogger;
    await mkdir(opts.dir, { recursive: true, mode: 0o700 });
    await chmod(opts.dir, 0o700);
    const constraints = JSON.stringify({ permitted_domains: [...(opts.permittedDomains ?? [])].sort() });
    const existing = await loadExisting(opts.dir, constraints).catch((err: Error) => {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") logger.warn("replacing the CA", { dir: opts.dir, reason: err.message });
      return null;
    });
    if (existing) return new CertificateAuthority(existing.key, existing.cert, subjectOf(existing.cert), keyIdOf(existing.key), opts);

    const { privateKey } = generateKeyPairSync("ec", EC_P256);
    const subject = name(opts.commonName);
    const keyId = keyIdOf(privateKey);
    const now = Date.now();
    const ext = [
      extension(OID.basicConstraints, seq(bool(true), int(0)), true),
      // digitalSignature (bit 0), keyCertSign (5), cRLSign (6): 0b1000_0110, one unused bit.
      extension(OID.keyUsage, tlv(0x03, Buffer.from([1, 0x86])), true),
      extension(OID.subjectKeyId, octets(keyId)),
    ];
    if (opts.permittedDomains?.length) ext.push(extension(OID.nameConstraints, nameConstraints(opts.permittedDomains), true));
    const der = certificate({
      subject,
      issuer: subject,
      spki: createPublicKey(privateKey).export({ type: "spki", format: "der" }),
      notBefore: new Date(now - 3600_000),
      notAfter: new Date(now + CA_YEARS * 365 * DAY_MS),
      extensions: ext,
      signer: privateKey,
    });
    const cert = new X509Certificate(der);
    // Key first, 0600 from its creation; each file renamed into place so a crash never leaves half of one.
    await writeAtomic(join(opts.dir, "ca.key"), privateKey.export({ type: "pkcs8", format: "pem" }).toString(), 0o600);
    await writeAtomic(join(opts.dir, "ca.crt"), cert.toString(), 0o644);
    await writeAtomic(join(opts.dir, "ca.json"), constraints + "\n", 0o644);
    logger.info("created a certificate authority", { dir: opts.dir, subject: opts.commonName });
    return new CertificateAuthority(privateKey, cert, subject, keyId, opts);
  }

  /** The CA certificate's SHA-256 fingerprint (as `openssl x509 -fingerprint -sha256` prints it). */
  get fingerprint(): string {
    return this.cert.fingerprint256;
  }

  /** A leaf for `host` (a DNS name or an IP address), issued on first use and cached. Throws for a name outside the CA's domains. */
  leaf(host: string): Leaf {
    const h = certHostName(host);
    const cached = this.leaves.get(h);
    if (cached && cached.notAfter.getTime() - Date.now() > DAY_MS) {
      this.leaves.delete(h);
      this.leaves.set(h, cached); // most recently used last
      return cached;
    }
    const domains = this.opts.permittedDomains;
    if (domains?.length && (isIP(h) || !within(h.replace(/^\*\./, ""), domains))) {
      throw new Error(`this CA issues only for ${domains.join(", ")} and their subdomains, not '${h}'`);
    }
    const now = Date.now();
    const notAfter = new Date(Math.min(now + (this.opts.leafDays ?? 30) * DAY_MS, new Date(this.cert.validTo).getTime()));
    const san = isIP(h) ? ctx(7, ipBytes(h), false) : ctx(2, Buffer.from(h, "ascii"), false);
    const der = certificate({
      subject: name(h),
      issuer: this.subject,
      spki: this.leafSpki,
      notBefore: new Date(now - 3600_000),
      notAfter,
      extensions: [
        extension(OID.basicConstraints, seq(), true),
        extension(OID.keyUsage, tlv(0x03, Buffer.from([7, 0x80])), true), // digitalSignature only
        extension(OID.extKeyUsage, seq(oid(OID.serverAuth))),
        extension(OID.subjectAltName, seq(san)),
        extension(OID.authorityKeyId, seq(ctx(0, this.keyId, false))),
      ],
      signer: this.key,
    });
    const leaf = { key: this.leafKeyPem, cert: pem(der) + this.certPem, notAfter };
    this.leaves.set(h, leaf);
    if (this.leaves.size > LEAF_CACHE_MAX) this.leaves.delete(this.leaves.keys().next().value!);
    return leaf;
  }

  /** A TLS server context presenting the leaf for `host` (cached with it). */
  secureContext(host: string): SecureContext {
    this.leaf(host);
    const entry = this.leaves.get(certHostName(host))!;
    return (entry.context ??= createSecureContext({ key: this.leafKeyPem, cert: entry.cert }));
  }

  /** For `tls.createServer({ SNICallback })`: the leaf for the name the client asked for, or a failed handshake. */
  readonly sniCallback = (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void): void => {
    try {
      cb(null, this.secureContext(servername));
    } catch (err) {
      cb(err as Error);
    }
  };
}

async function loadExisting(dir: string, constraints: string): Promise<{ key: KeyObject; cert: X509Certificate }> {
  const [keyPem, certPem, meta] = await Promise.all([
    readFile(join(dir, "ca.key"), "utf8"),
    readFile(join(dir, "ca.crt"), "utf8"),
    readFile(join(dir, "ca.json"), "utf8"),
  ]);
  const key = createPrivateKey(keyPem);
  const cert = new X509Certificate(certPem);
  if (!cert.checkPrivateKey(key)) throw new Error("ca.key does not belong to ca.crt");
  if (new Date(cert.validTo).getTime() - Date.now() < 30 * DAY_MS) throw new Error(`the CA expires on ${cert.validTo}`);
  if (meta.trim() !== constraints) throw new Error(`the CA was made for other domains (${meta.trim()})`);
  // A key file copied in with looser permissions is tightened, as the token file is.
  await chmod(join(dir, "ca.key"), 0o600);
  return { key, cert };
}

interface CertSpec {
  subject: Buffer;
  issuer: Buffer;
  spki: Buffer;
  notBefore: Date;
  notAfter: Date;
  extensions: Buffer[];
  signer: KeyObject;
}

/** A signed X.509 v3 certificate (RFC 5280 §4.1), DER. */
function certificate(c: CertSpec): Buffer {
  const algorithm = seq(oid(OID.ecdsaSha256));
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x01; // positive and 16 bytes long, as CAs are asked to (≥ 64 random bits)
  const tbs = seq(
    ctx(0, int(2)),
    uint(serial),
    algorithm,
    c.issuer,
    seq(time(c.notBefore), time(c.notAfter)),
    c.subject,
    c.spki,
    ctx(3, seq(...c.extensions)),
  );
  return seq(tbs, algorithm, bits(sign("sha256", tbs, c.signer)));
}

function extension(id: string, value: Buffer, critical = false): Buffer {
  return critical ? seq(oid(id), bool(true), octets(value)) : seq(oid(id), octets(value));
}

/** `O=runta, CN=<cn>`. */
function name(cn: string): Buffer {
  return seq(set(seq(oid(OID.organization), utf8("runta"))), set(seq(oid(OID.commonName), utf8(cn.slice(0, 64)))));
}

/** Permitted: the DNS suffixes; excluded: every IPv4 and IPv6 address (so no IP SAN can pass either). */
function nameConstraints(domains: string[]): Buffer {
  const permitted = ctx(0, Buffer.concat(domains.map((d) => seq(ctx(2, Buffer.from(certHostName(d), "ascii"), false)))));
  const excluded = ctx(1, Buffer.concat([seq(ctx(7, Buffer.alloc(8), false)), seq(ctx(7, Buffer.alloc(32), false))]));
  return seq(permitted, excluded);
}

/** Key identifier (RFC 5280 §4.2.1.2 method 1): SHA-1 of the public key's point. */
function keyIdOf(key: KeyObject): Buffer {
  const jwk = createPublicKey(key).export({ format: "jwk" });
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, "base64url"), Buffer.from(jwk.y!, "base64url")]);
  return createHash("sha1").update(point).digest();
}

/** The subject Name of a certificate, DER, exactly as written (a leaf's issuer must match it byte for byte). */
function subjectOf(cert: X509Certificate): Buffer {
  const raw = cert.raw;
  const tbs = children(raw, read(raw))[0]!;
  const fields = children(raw, tbs);
  const subject = fields[fields[0]!.tag === 0xa0 ? 5 : 4]!;
  return raw.subarray(subject.from, subject.end);
}

function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split(".").map(Number));
  // Expand "::" then read the eight groups.
  const [head, tail] = ip.split("::") as [string, string | undefined];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
  return Buffer.from(groups.map((g) => g.padStart(4, "0")).join(""), "hex");
}

function pem(der: Buffer): string {
  return `-----BEGIN CERTIFICATE-----\n${der.toString("base64").replace(/.{64}/g, "$&\n").replace(/\n?$/, "\n")}-----END CERTIFICATE-----\n`;
}

async function writeAtomic(path: string, data: string, mode: number): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, data, { mode });
  await chmod(tmp, mode);
  await rename(tmp, path);
}
