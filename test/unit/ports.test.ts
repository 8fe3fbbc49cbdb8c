import { expect, test } from "vitest";
import { ingressHostName, parseIngressHost, parsePortSpec, portBinding, publishedUrl } from "../../src/api/ports-spec.js";
import { PortRequestSchema, PortRequestsSchema } from "../../src/api/ports.js";

const ID = "0b8d6f2e-5c1a-4e7b-9a3d-2f6e8c1b7a90";

test("-p forms: PORT, PORT/proto, HOST_PORT:PORT, HOST_IP:HOST_PORT:PORT, [v6]:HOST_PORT:PORT", () => {
  expect(parsePortSpec("8080")).toEqual({ port: 8080 });
  expect(parsePortSpec("8443/https")).toEqual({ port: 8443, protocol: "https" });
  expect(parsePortSpec("8080/HTTP")).toEqual({ port: 8080, protocol: "http" });
  expect(parsePortSpec("5432/tcp")).toEqual({ port: 5432, protocol: "tcp" });
  expect(parsePortSpec("15432:5432")).toEqual({ port: 5432, protocol: "tcp", host_port: 15432 });
  expect(parsePortSpec("15432:5432/tcp")).toEqual({ port: 5432, protocol: "tcp", host_port: 15432 });
  expect(parsePortSpec("127.0.0.1:8080:80")).toEqual({ port: 80, protocol: "tcp", host_port: 8080, host_ip: "127.0.0.1" });
  expect(parsePortSpec("[::1]:8080:80")).toEqual({ port: 80, protocol: "tcp", host_port: 8080, host_ip: "::1" });
});

test("bad -p values say what is wrong and show the forms", () => {
  const cases: Array<[string, RegExp]> = [
    ["0", /port '0' must be a port number from 1 to 65535/],
    ["65536", /must be a port number from 1 to 65535/],
    ["http", /port 'http' must be a port number/],
    ["8080/udp", /protocol 'udp' is not http, https or tcp/],
    ["8080:80/https", /a host port forwards plain TCP, not https/],
    ["99999:80", /host port '99999' must be/],
    [":80", /host port '' must be/],
    ["1.2.3:8080:80", /'1.2.3' is not an IP address/],
    ["", /port '' must be/],
  ];
  for (const [spec, why] of cases) {
    expect(() => parsePortSpec(spec), spec).toThrow(why);
    expect(() => parsePortSpec(spec), spec).toThrow(/forms: 8080, 8080\/https/);
  }
});

test("defaults: http without a host port; tcp on 127.0.0.1 and a free host port", () => {
  expect(portBinding({ port: 80 })).toEqual({ port: 80, protocol: "http", hostIp: null, hostPort: null });
  expect(portBinding({ port: 80, protocol: "tcp" })).toEqual({ port: 80, protocol: "tcp", hostIp: "127.0.0.1", hostPort: 0 });
  expect(portBinding({ port: 80, host_port: 8080 })).toEqual({ port: 80, protocol: "tcp", hostIp: "127.0.0.1", hostPort: 8080 });
  expect(portBinding({ port: 80, host_ip: "0.0.0.0" })).toEqual({ port: 80, protocol: "tcp", hostIp: "0.0.0.0", hostPort: 0 });
});

test("the wire schema refuses what the engine could not publish", () => {
  expect(PortRequestSchema.safeParse({ port: 8080 }).success).toBe(true);
  for (const bad of [{ port: 0 }, { port: 65536 }, { port: 1.5 }, { port: 80, protocol: "udp" }, { port: 80, protocol: "http", host_port: 80 }, { port: 80, host_ip: "x" }, { port: 80, extra: 1 }]) {
    expect(PortRequestSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
  }
  const dup = PortRequestsSchema.safeParse([{ port: 80 }, { port: 80, protocol: "https" }]);
  expect(dup.success).toBe(false);
  expect(dup.error!.issues[0]!.message).toBe("port 80 is listed twice: publish each port once");
  expect(PortRequestsSchema.safeParse(Array.from({ length: 33 }, (_, i) => ({ port: i + 1 }))).success).toBe(false);
});

test("ingress host names: built and read back; anything else is no route", () => {
  const host = ingressHostName(8080, ID, "runta.localhost");
  expect(host).toBe(`8080-${ID}.runta.localhost`);
  expect(parseIngressHost(host, "runta.localhost")).toEqual({ port: 8080, runtimeId: ID });
  expect(parseIngressHost(`${host}:7480`, "runta.localhost")).toEqual({ port: 8080, runtimeId: ID });
  expect(parseIngressHost(`${host.toUpperCase()}.`, "runta.localhost")).toEqual({ port: 8080, runtimeId: ID });
  for (const other of [
    undefined,
    "",
    "runta.localhost",
    `8080-${ID}.other.localhost`,
    `8080-${ID}.evilrunta.localhost`,
    `x.8080-${ID}.runta.localhost`,
    `08080-${ID}.runta.localhost`,
    `0-${ID}.runta.localhost`,
    `70000-${ID}.runta.localhost`,
    `8080-${ID.slice(1)}.runta.localhost`,
    `8080_${ID}.runta.localhost`,
    "127.0.0.1:7480",
  ]) {
    expect(parseIngressHost(other, "runta.localhost"), String(other)).toBeNull();
  }
});

test("URLs: the ingress port is left out only where it is the scheme's own; tcp names the host address", () => {
  const http = portBinding({ port: 8080 });
  const https = portBinding({ port: 8443, protocol: "https" });
  expect(publishedUrl(http, ID, { domain: "runta.localhost", port: 7480 })).toBe(`http://8080-${ID}.runta.localhost:7480/`);
  expect(publishedUrl(https, ID, { domain: "runta.localhost", port: 7480 })).toBe(`https://8443-${ID}.runta.localhost:7480/`);
  expect(publishedUrl(http, ID, { domain: "apps.example.com", port: 80 })).toBe(`http://8080-${ID}.apps.example.com/`);
  expect(publishedUrl(https, ID, { domain: "apps.example.com", port: 443 })).toBe(`https://8443-${ID}.apps.example.com/`);
  expect(publishedUrl(https, ID, { domain: "apps.example.com", port: 80 })).toBe(`https://8443-${ID}.apps.example.com:80/`);
  expect(publishedUrl({ port: 5432, protocol: "tcp", hostIp: "127.0.0.1", hostPort: 15432 }, ID, null)).toBe("tcp://127.0.0.1:15432");
  expect(publishedUrl({ port: 5432, protocol: "tcp", hostIp: "::1", hostPort: 15432 }, ID, null)).toBe("tcp://[::1]:15432");
});
