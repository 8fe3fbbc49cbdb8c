/** The secrets room's logic without a daemon: the shared checks, rules applied to a request, the sealed store, stubs, trust. */
import Database from "better-sqlite3";
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { headerNameError, ruleHostError, rulePathError, secretNameError, secretValueError, templateError } from "../../src/api/secret-policy.js";
import { fillTemplate, pathMatches, rewriteHeaders } from "../../src/engine/secrets/rules.js";
import { SecretStore } from "../../src/engine/secrets/store.js";
import { installEgressCa } from "../../src/engine/secrets/trust.js";
import { buildExecProcess } from "../../src/engine/spec.js";

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), "runta-secrets-unit-"));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe("checks shared by the CLI, SDK and daemon", () => {
  test("names are environment variables' names, not reserved ones", () => {
    expect(secretNameError("OPENAI_API_KEY")).toBeNull();
    expect(secretNameError("_x1")).toBeNull();
    for (const bad of ["", "1X", "A-B", "A B", "PATH", "NODE_EXTRA_CA_CERTS", "RUNTA_TOKEN", "X".repeat(129)]) expect(secretNameError(bad), bad).not.toBeNull();
  });

  test("values: not empty, at most 16 KiB of UTF-8, no line break; the message never quotes the value", () => {
    expect(secretValueError("sk-" + "a".repeat(100))).toBeNull();
    expect(secretValueError("é".repeat(8192))).toBeNull(); // 16384 bytes
    const big = secretValueError("é".repeat(8193))!;
    expect(big).toBe("the secret's value is 16386 bytes; at most 16384 bytes (16 KiB) are allowed");
    expect(secretValueError("")).toMatch(/empty/);
    expect(secretValueError("secret-part\r\nX-Evil: 1")).toMatch(/line break/);
    expect(secretValueError("secret-part\r\nX-Evil: 1")).not.toContain("secret-part");
  });

  test("templates hold the placeholder exactly once; headers are tokens the proxy does not own; hosts are one name; paths start with /", () => {
    expect(templateError("Bearer ${secret}")).toBeNull();
    expect(templateError("Bearer")).toMatch(/not at all/);
    expect(templateError("${secret}:${secret}")).toMatch(/2 times/);
    expect(templateError("${secret}\r\nX: y")).toMatch(/line break/);
    expect(headerNameError("X-Api-Key")).toBeNull();
    expect(headerNameError("Bad Header")).toMatch(/not a valid header name/);
    expect(headerNameError("Content-Length")).toMatch(/cannot be rewritten/);
    expect(ruleHostError("api.openai.com")).toBeNull();
    for (const bad of ["*.openai.com", "10.0.0.1", "api.openai.com:443", "https://x"]) expect(ruleHostError(bad), bad).not.toBeNull();
    expect(rulePathError("/v1/*")).toBeNull();
    expect(rulePathError("v1")).not.toBeNull();
    expect(rulePathError("/a?b")).not.toBeNull();
  });
});

describe("rules applied to a request", () => {
  test("path patterns: * matches anything, / included; the query is ignored", () => {
    expect(pathMatches("/*", "/")).toBe(true);
    expect(pathMatches("/v1/*", "/v1/chat/completions?stream=true")).toBe(true);
    expect(pathMatches("/v1/*", "/v2/chat")).toBe(false);
    expect(pathMatches("/v1/models", "/v1/models")).toBe(true);
    expect(pathMatches("/v1/models", "/v1/models/x")).toBe(false);
    expect(pathMatches("/a.b", "/axb")).toBe(false);
  });

  test("a template's placeholder takes the value literally ($& and $1 stay as they are)", () => {
    expect(fillTemplate("Bearer ${secret}", "a$&b$1")).toBe("Bearer a$&b$1");
  });

  test("the named header is replaced whatever was sent (every copy of it), kept in place, or added", () => {
    const replace = new Map([["authorization", { name: "Authorization", value: "Bearer real" }]]);
    expect(rewriteHeaders(["Host", "x", "authorization", "Bearer runta-secret-stub", "Accept", "*/*", "AUTHORIZATION", "dup"], replace)).toEqual([
      "Host", "x", "authorization", "Bearer real", "Accept", "*/*",
    ]);
    expect(rewriteHeaders(["Host", "x"], replace)).toEqual(["Host", "x", "Authorization", "Bearer real"]);
  });
});

describe("the sealed store", () => {
  test("a key only root reads, values sealed (never in the database file in clear), rotation, rows bound to their secret", () => {
    const dataDir = tmp();
    const db = new Database(join(dataDir, "runta.db"));
    const store = new SecretStore(db, dataDir);
    expect(statSync(join(dataDir, "secrets", "key")).mode & 0o777).toBe(0o400);
    expect(statSync(join(dataDir, "secrets")).mode & 0o777).toBe(0o700);
    const a = store.set("A", "value-of-a-0123456789");
    expect(a.created).toBe(true);
    store.set("B", "value-of-b-0123456789");
    expect(store.value("A")).toBe("value-of-a-0123456789");
    db.pragma("wal_checkpoint(TRUNCATE)");
    expect(readFileSync(join(dataDir, "runta.db")).includes(Buffer.from("value-of-a"))).toBe(false);
    expect(store.set("A", "rotated-a").created).toBe(false);
    expect(store.value("A")).toBe("rotated-a");
    // A sealed value copied onto another secret does not open (GCM's additional data is the secret's id).
    db.prepare("UPDATE secrets SET sealed = (SELECT sealed FROM secrets WHERE name = 'A') WHERE name = 'B'").run();
    expect(() => store.value("B")).toThrow();
    // The same key is read back by the next daemon.
    expect(new SecretStore(db, dataDir).value("A")).toBe("rotated-a");
    expect(store.value("NOPE")).toBeNull();
    db.close();
  });

  test("a key file of the wrong size stops the daemon with what to do", () => {
    const dataDir = tmp();
    mkdirSync(join(dataDir, "secrets"), { mode: 0o700 });
    writeFileSync(join(dataDir, "secrets", "key"), "short");
    const db = new Database(join(dataDir, "runta.db"));
    expect(() => new SecretStore(db, dataDir)).toThrow(/not a 32-byte key \(5 bytes\); restore it from a backup/);
    db.close();
  });
});

describe("stubs and trust inside runtimes", () => {
  test("every secret's name holds the stub under the runtime's and the exec's env; node trusts the egress CA", () => {
    const p = buildExecProcess({ argv: ["sh"], tty: false, imageEnv: { OWN: "1" }, env: { B: "mine" }, secretNames: ["A", "B"] });
    expect(p.env).toEqual(expect.arrayContaining(["A=runta-secret-stub", "B=mine", "OWN=1", "NODE_EXTRA_CA_CERTS=/usr/local/share/ca-certificates/runta-egress.crt"]));
  });

  test("the CA goes into the runtime's file and bundle once; a symlinked bundle never reaches a host file", async () => {
    const root = tmp();
    mkdirSync(join(root, "etc/ssl/certs"), { recursive: true });
    writeFileSync(join(root, "etc/ssl/certs/ca-certificates.crt"), "-----BEGIN CERTIFICATE-----\nroot\n-----END CERTIFICATE-----\n");
    const pem = "-----BEGIN CERTIFICATE-----\negress\n-----END CERTIFICATE-----\n";
    await installEgressCa(root, pem);
    await installEgressCa(root, pem);
    expect(readFileSync(join(root, "usr/local/share/ca-certificates/runta-egress.crt"), "utf8")).toBe(pem);
    expect(readFileSync(join(root, "etc/ssl/certs/ca-certificates.crt"), "utf8").split("egress").length).toBe(2);

    const evil = tmp();
    const hostFile = join(tmp(), "host-secret");
    writeFileSync(hostFile, "host only\n");
    mkdirSync(join(evil, "etc/ssl/certs"), { recursive: true });
    symlinkSync(hostFile, join(evil, "etc/ssl/certs/ca-certificates.crt"));
    await installEgressCa(evil, pem);
    expect(readFileSync(hostFile, "utf8")).toBe("host only\n");
    // The absolute link resolves inside the runtime's root, where nothing is: nothing was read or written outside.
    expect(lstatSync(join(evil, "etc/ssl/certs/ca-certificates.crt")).isSymbolicLink()).toBe(true);
  });
});
