/**
 * The egress CA in a runtime's trust store, so that what it runs trusts the proxy's leaf for a host with secret
 * rules: the certificate at `/usr/local/share/ca-certificates/runta-egress.crt` (where `update-ca-certificates`
 * looks, so a runtime that regenerates its bundle keeps it) and appended to the system bundle
 * `/etc/ssl/certs/ca-certificates.crt` (curl, python's ssl, pip, git, apt read it). Node reads neither: spec.ts sets
 * NODE_EXTRA_CA_CERTS to the first file for every process. Written at every boot and when a rule is set on a running
 * runtime; idempotent.
 *
 * The runtime's root is the runtime's own and its processes may be running: paths are resolved inside it through
 * held directory fds (files/scope.ts), so a symlinked bundle can neither read nor overwrite a host file.
 */
import { Readable } from "node:stream";
import { Scope } from "../files/scope.js";
import { openFile } from "../files/read.js";
import { writeFileAt } from "../files/write.js";
import { EGRESS_CA_PATH_IN_RUNTIME } from "../../api/secrets.js";
/** Debian's system bundle. */
const SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";
/** A bundle larger than this is not ours to rewrite (Debian's is ~220 KiB). */
const BUNDLE_MAX_BYTES = 16 * 1024 * 1024;

async function write(scope: Scope, path: string, text: string): Promise<void> {
  const loc = await scope.locate(path, { followLast: true, mkdirMode: 0o755 });
  try {
    await writeFileAt(loc, Readable.from([Buffer.from(text)]), 0o644);
  } finally {
    await loc.close();
  }
}

async function read(scope: Scope, path: string): Promise<string | null> {
  let file;
  try {
    file = await openFile(scope, path);
  } catch {
    return null;
  }
  try {
    return file.size > BUNDLE_MAX_BYTES ? null : (await file.handle.readFile()).toString("utf8");
  } finally {
    await file.handle.close();
  }
}

/** Installs the CA certificate `pem` in the runtime whose root is `rootfs` (see the module comment). */
export async function installEgressCa(rootfs: string, pem: string): Promise<void> {
  const scope = await Scope.open(rootfs);
  try {
    const cert = pem.endsWith("\n") ? pem : `${pem}\n`;
    if ((await read(scope, EGRESS_CA_PATH_IN_RUNTIME)) !== cert) await write(scope, EGRESS_CA_PATH_IN_RUNTIME, cert);
    // An image without a system bundle (busybox) has nothing to add to: the file above is all there is.
    const bundle = await read(scope, SYSTEM_BUNDLE);
    if (bundle !== null && !bundle.includes(cert.trim())) await write(scope, SYSTEM_BUNDLE, `${bundle}${bundle.endsWith("\n") || !bundle ? "" : "\n"}${cert}`);
  } finally {
    await scope.close();
  }
}
