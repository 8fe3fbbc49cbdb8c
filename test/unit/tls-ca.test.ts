import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { afterAll, expect, test } from "vitest";
import { CertificateAuthority, certHostName } from "../../src/engine/tls/ca.js";

const root = mkdtempSync(join(tmpdir(), "runta-ca-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** `openssl verify` of a chain file against the CA: the independent judge of what this module writes. */
function opensslVerify(caPath: string, chain: string): string {
  const file = join(root, `chain-${Math.random().toString(36).slice(2)}.pem`);
  writeFileSync(file, chain);
  try {
    return execFileSync("openssl", ["verify", "-CAfile", caPath, file], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
  } catch (err) {
    return String((err as { stdout?: string }).stdout) + String((err as { stderr?: string }).stderr);
  }
}

/** A TLS handshake to a server presenting the CA's leaves, as a client trusting only that CA. */
async function handshake(ca: CertificateAuthority, servername: string): Promise<{ authorized: boolean; error?: string; subject?: string }> {
  const server = tls.createServer({ SNICallback: ca.sniCallback }, (s) => s.end("ok"));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  try {
    return await new Promise((resolve) => {
      const c = tls.connect({ port: (server.address() as AddressInfo).port, host: "127.0.0.1", servername, ca: ca.certPem }, () => {
        resolve({ authorized: c.authorized, subject: c.getPeerCertificate().subjectaltname });
        c.destroy();
      });
      c.on("error", (err) => resolve({ authorized: false, error: err.message }));
    });
  } finally {
    server.close();
  }
}

test("creates a P-256 CA whose key only root reads, and loads the same one again", async () => {
  const dir = join(root, "a");
  const ca = await CertificateAuthority.loadOrCreate({ dir, commonName: "runta ingress CA (test)", permittedDomains: ["runta.localhost"] });
  expect(statSync(join(dir, "ca.key")).mode & 0o777).toBe(0o600);
  expect(statSync(dir).mode & 0o777).toBe(0o700);
  expect(statSync(ca.certPath).mode & 0o777).toBe(0o644);
  const text = execFileSync("openssl", ["x509", "-in", ca.certPath, "-noout", "-text"], { encoding: "utf8" });
  expect(text).toContain("CA:TRUE");
  expect(text).toContain("Certificate Sign");
  expect(text).toMatch(/Name Constraints: critical\s+Permitted:\s+DNS:runta\.localhost/);
  expect(text).toContain("prime256v1");
  const again = await CertificateAuthority.loadOrCreate({ dir, commonName: "runta ingress CA (test)", permittedDomains: ["runta.localhost"] });
  expect(again.fingerprint).toBe(ca.fingerprint);
});

test("a leaf for a name in its domain passes openssl verify and a real TLS handshake; other names are refused", async () => {
  const ca = await CertificateAuthority.loadOrCreate({ dir: join(root, "b"), commonName: "t", permittedDomains: ["runta.localhost"] });
  const leaf = ca.leaf("8080-0b8d.runta.localhost");
  expect(opensslVerify(ca.certPath, leaf.cert)).toMatch(/: OK$/);
  expect(ca.leaf("8080-0B8D.runta.localhost.")).toBe(leaf); // one cached leaf per normalised name
  const hs = await handshake(ca, "8080-0b8d.runta.localhost");
  expect(hs).toMatchObject({ authorized: true, subject: "DNS:8080-0b8d.runta.localhost" });
  expect(() => ca.leaf("example.com")).toThrow(/issues only for runta\.localhost/);
  expect(() => ca.leaf("127.0.0.1")).toThrow(/issues only for/);
  expect((await handshake(ca, "example.com")).authorized).toBe(false);
});

test("other constraints make a new CA with a new key: trust in the constrained one never covers other domains", async () => {
  const dir = join(root, "c");
  const constrained = await CertificateAuthority.loadOrCreate({ dir, commonName: "t", permittedDomains: ["runta.localhost"] });
  writeFileSync(join(root, "constrained.pem"), readFileSync(constrained.certPath, "utf8"));
  const unrestricted = await CertificateAuthority.loadOrCreate({ dir, commonName: "t" });
  expect(unrestricted.fingerprint).not.toBe(constrained.fingerprint);
  expect(opensslVerify(join(root, "constrained.pem"), unrestricted.leaf("example.com").cert)).not.toMatch(/: OK$/);
  expect(opensslVerify(unrestricted.certPath, unrestricted.leaf("example.com").cert)).toMatch(/: OK$/);
});

test("an unrestricted CA (the egress one) issues for any DNS name and for IP addresses", async () => {
  const ca = await CertificateAuthority.loadOrCreate({ dir: join(root, "d"), commonName: "runta egress CA (test)" });
  for (const host of ["example.com", "api.openai.com", "10.0.0.1", "::1"]) {
    expect(opensslVerify(ca.certPath, ca.leaf(host).cert)).toMatch(/: OK$/);
  }
  expect(execFileSync("openssl", ["x509", "-in", ca.certPath, "-noout", "-text"], { encoding: "utf8" })).not.toContain("Name Constraints");
});

test("a damaged key file makes a new CA instead of failing the daemon", async () => {
  const dir = join(root, "e");
  const first = await CertificateAuthority.loadOrCreate({ dir, commonName: "t" });
  writeFileSync(join(dir, "ca.key"), "garbage");
  const second = await CertificateAuthority.loadOrCreate({ dir, commonName: "t" });
  expect(second.fingerprint).not.toBe(first.fingerprint);
  expect(statSync(join(dir, "ca.key")).mode & 0o777).toBe(0o600);
});

test("host names a certificate cannot carry are refused", () => {
  expect(certHostName("Foo.Example.COM.")).toBe("foo.example.com");
  expect(certHostName("*.example.com")).toBe("*.example.com");
  for (const bad of ["", "a b", "-x.com", "x..com", "a".repeat(64) + ".com", "ex\u00e4mple.com"]) {
    expect(() => certHostName(bad), bad).toThrow(/not a host name/);
  }
});
