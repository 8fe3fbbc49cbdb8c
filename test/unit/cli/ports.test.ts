import { describe, expect, test } from "vitest";
import { cli, worker } from "../../helpers/cli-harness.js";

describe("ports", () => {
  test("run -p publishes each port as the API takes it", async () => {
    const r = await cli(["run", "--name", "web", "--image", "busybox", "-p", "8080", "--publish", "8443/https", "-p", "127.0.0.1:15432:5432"]);
    expect(r.code).toBe(0);
    expect(r.client.calls.find((c) => c.method === "create")!.args[1]).toMatchObject({
      ports: [{ port: 8080 }, { port: 8443, protocol: "https" }, { port: 5432, protocol: "tcp", host_port: 15432, host_ip: "127.0.0.1" }],
    });
  });

  test("run -p refuses bad ports, a port twice, and --network none, as usage errors before calling the daemon", async () => {
    for (const [args, why] of [
      [["-p", "70000"], "--publish: invalid port '70000': port '70000' must be a port number from 1 to 65535"],
      [["-p", "80/udp"], "protocol 'udp' is not http, https or tcp"],
      [["-p", "80", "-p", "80/https"], "port 80 is published twice"],
      [["-p", "80", "--network", "none"], "--publish needs a network"],
    ] as const) {
      const r = await cli(["run", "--image", "busybox", ...args]);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.err).toContain(why);
      expect(r.client.calls.some((c) => c.method === "create")).toBe(false);
    }
  });

  test("add prints the URL; ls lists ports as a table, JSON keyed by noun, or URLs; rm takes several", async () => {
    const client = { runtimes: [worker] };
    const added = await cli(["ports", "add", "worker", "8080"], { client });
    expect(added.code).toBe(0);
    expect(added.out).toBe(`http://8080-${worker.id}.runta.localhost:7480/\n`);
    const state = added.client;
    expect((await cli(["ports", "add", "worker", "15432:5432"], { client: state })).out).toBe("tcp://127.0.0.1:15432\n");
    const ls = await cli(["ports", "ls", "worker"], { client: state });
    expect(ls.out).toBe(`PORT\tPROTOCOL\tURL\n8080\thttp\thttp://8080-${worker.id}.runta.localhost:7480/\n5432\ttcp\ttcp://127.0.0.1:15432\n`);
    const json = JSON.parse((await cli(["ports", "ls", "worker", "--json"], { client: state })).out) as { ports: Array<{ port: number }> };
    expect(json.ports.map((p) => p.port)).toEqual([8080, 5432]);
    expect((await cli(["ports", "ls", "-q", "worker"], { client: state })).out).toBe(`http://8080-${worker.id}.runta.localhost:7480/\ntcp://127.0.0.1:15432\n`);
    const rm = await cli(["ports", "rm", "worker", "8080/http", "9999", "5432"], { client: state });
    expect(rm.code).toBe(1);
    expect(rm.out).toBe("8080/http\n5432\n");
    expect(rm.err).toContain('port 9999 is not published on runtime "worker"');
    expect((await cli(["ports", "ls", "worker", "--json"], { client: state })).out).toBe('{\n  "ports": []\n}\n');
  });

  test("add and rm refuse what is not a port (exit 2); add of a port published already is the daemon's error (exit 1)", async () => {
    expect((await cli(["ports", "add", "worker", "http"], { client: { runtimes: [worker] } })).code).toBe(2);
    expect((await cli(["ports", "rm", "worker", "0"], { client: { runtimes: [worker] } })).err).toContain('port "0" must be a port number from 1 to 65535');
    const r = await cli(["ports", "add", "worker", "8080"], { client: { runtimes: [worker] } });
    const again = await cli(["ports", "add", "worker", "8080/https"], { client: r.client });
    expect(again.code).toBe(1);
    expect(again.err).toContain("port 8080 is already published");
  });

  test("checkpoint restore -p publishes ports of the new runtime (a checkpoint carries none)", async () => {
    const r = await cli(["checkpoint", "restore", "golden", "task-1", "-p", "8080", "-p", "8443/https"], { client: { checkpoints: [{ display_name: "golden" }] } });
    expect(r.code, r.err).toBe(0);
    expect(r.client.calls.find((c) => c.method === "checkpoints.restore")!.args[2]).toMatchObject({ ports: [{ port: 8080 }, { port: 8443, protocol: "https" }] });
  });

  test("ca prints the ingress CA certificate", async () => {
    const r = await cli(["ports", "ca"]);
    expect(r.out).toMatch(/^-----BEGIN CERTIFICATE-----\n[\s\S]*-----END CERTIFICATE-----\n$/);
  });
});
