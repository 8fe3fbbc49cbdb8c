/**
 * Reads the destination name a connection asks for from its first bytes, without terminating anything: the HTTP
 * `Host` header of a plain request, or the server_name (SNI) of a TLS ClientHello. TLS stays end to end.
 */

/** `more`: not enough bytes yet; `none`: this connection names no host (or is not the protocol expected). */
export type Sniffed = { kind: "host"; host: string } | { kind: "more" } | { kind: "none" };

/** Bytes read at most before giving up on finding a name. */
export const SNIFF_MAX_BYTES = 16 * 1024 + 5;

const HOSTNAME = /^[a-z0-9_]([a-z0-9_.-]{0,252})$/i;

function cleanHost(raw: string): string | null {
  const host = raw.trim().toLowerCase().replace(/:\d+$/, "").replace(/\.$/, "");
  return HOSTNAME.test(host) ? host : null;
}

/** The Host header of an HTTP/1.x request head. */
export function sniffHttpHost(buf: Buffer): Sniffed {
  const end = buf.indexOf("\r\n\r\n");
  if (end < 0) return buf.length >= SNIFF_MAX_BYTES ? { kind: "none" } : { kind: "more" };
  const head = buf.subarray(0, end).toString("latin1");
  const lines = head.split("\r\n");
  if (!/^[A-Z]+ \S+ HTTP\/1\.[01]$/.test(lines[0] ?? "")) return { kind: "none" };
  for (const line of lines.slice(1)) {
    const m = /^host:\s*(.*)$/i.exec(line);
    if (m) {
      const host = cleanHost(m[1]!);
      return host ? { kind: "host", host } : { kind: "none" };
    }
  }
  return { kind: "none" };
}

/** The server_name of a TLS ClientHello (first handshake record). */
export function sniffTlsSni(buf: Buffer): Sniffed {
  if (buf.length < 5) return { kind: "more" };
  if (buf[0] !== 0x16 || buf[1] !== 0x03) return { kind: "none" };
  const recordLen = buf.readUInt16BE(3);
  if (buf.length < 5 + recordLen) return 5 + recordLen > SNIFF_MAX_BYTES ? { kind: "none" } : { kind: "more" };
  const hello = buf.subarray(5, 5 + recordLen);
  try {
    if (hello[0] !== 0x01) return { kind: "none" };
    let p = 4 + 2 + 32; // handshake header, client_version, random
    p += 1 + hello[p]!; // session_id
    p += 2 + hello.readUInt16BE(p); // cipher_suites
    p += 1 + hello[p]!; // compression_methods
    if (p + 2 > hello.length) return { kind: "none" };
    const extEnd = Math.min(hello.length, p + 2 + hello.readUInt16BE(p));
    p += 2;
    while (p + 4 <= extEnd) {
      const type = hello.readUInt16BE(p);
      const len = hello.readUInt16BE(p + 2);
      p += 4;
      if (type === 0) {
        // server_name_list: length, then entries of (type, length, name); type 0 is host_name.
        let q = p + 2;
        while (q + 3 <= p + len) {
          const nameType = hello[q]!;
          const nameLen = hello.readUInt16BE(q + 1);
          if (nameType === 0) {
            const host = cleanHost(hello.subarray(q + 3, q + 3 + nameLen).toString("latin1"));
            return host ? { kind: "host", host } : { kind: "none" };
          }
          q += 3 + nameLen;
        }
        return { kind: "none" };
      }
      p += len;
    }
  } catch {
    // A truncated or malformed hello: it names nothing we can trust.
  }
  return { kind: "none" };
}

/** A fatal TLS alert (access_denied): the client fails at once with a TLS error instead of waiting for a timeout. */
export const TLS_ACCESS_DENIED_ALERT = Buffer.from([0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x31]);

/** The plain-HTTP refusal: a 403 whose body names the policy, then close. */
export function httpForbidden(message: string): Buffer {
  const body = `${message}\n`;
  return Buffer.from(
    `HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\nX-Runta-Egress: denied\r\n\r\n${body}`,
  );
}
