import { EventEmitter } from "node:events";
import { describe, expect, test } from "vitest";
import type { EgressEvent } from "../../../src/api/egress.js";
import { cli, stopped, worker } from "../../helpers/cli-harness.js";

const denied: EgressEvent = {
  seq: 7, time: "2026-01-01T00:04:00.000Z", protocol: "tls", host: "denied.test", ip: "10.250.1.2", port: 443,
  verdict: "denied", rule: "mode:allowlist", reason: "not allowed by the allowlist egress policy", bytes_out: 517, bytes_in: 0,
};
const allowed: EgressEvent = { ...denied, seq: 9, host: "deb.debian.org", verdict: "allowed", rule: "deb.debian.org", reason: null, bytes_in: 4096 };

describe("egress", () => {
  test("set in Runta's form replaces the policy and prints it", async () => {
    const r = await cli(["egress", "set", "worker", "--mode", "allowlist", "--allow", "deb.debian.org", "--allow", "10.10.10.0/24"], { client: { runtimes: [worker] } });
    expect(r.code).toBe(0);
    expect(r.client.calls.find((c) => c.method === "setEgress")!.args).toEqual(["worker", { mode: "allowlist", allow: ["deb.debian.org", "10.10.10.0/24"] }]);
    expect(r.out).toBe(
      `Runtime:  worker (${worker.id})\nNetwork:  nat, address 10.64.0.2\nMode:     allowlist\nAllow:    deb.debian.org\n          10.10.10.0/24\n`,
    );
  });

  test("set refuses bad entries, entries that do not fit the mode, and a missing mode, as usage errors", async () => {
    const bad = await cli(["egress", "set", "worker", "--mode", "allowlist", "--allow", "http://x.com/"], { client: { runtimes: [worker] } });
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('--allow "http://x.com/": must be a hostname');
    const mismatch = await cli(["egress", "set", "worker", "--mode", "open", "--allow", "a.com"], { client: { runtimes: [worker] } });
    expect(mismatch.code).toBe(2);
    expect(mismatch.err).toContain("--allow needs --mode allowlist");
    const noMode = await cli(["egress", "set", "worker", "--allow", "a.com"], { client: { runtimes: [worker] } });
    expect(noMode.code).toBe(2);
    expect(noMode.err).toContain("--mode");
    expect(bad.client.calls.some((c) => c.method === "setEgress")).toBe(false);
  });

  test("set --mode open clears, describe says an empty allowlist refuses everything, an empty denylist nothing", async () => {
    const open = await cli(["egress", "set", "worker", "--mode", "open"], { client: { runtimes: [worker] } });
    expect(open.client.calls.find((c) => c.method === "setEgress")!.args[1]).toEqual({ mode: "open" });
    const empty = await cli(["egress", "set", "worker", "--mode", "allowlist"], { client: { runtimes: [worker] } });
    expect(empty.out).toContain("(nothing: every destination is refused)");
    const emptyDeny = await cli(["egress", "set", "worker", "--mode", "denylist"], { client: { runtimes: [worker] } });
    expect(emptyDeny.out).toContain("(nothing: every destination is allowed, as with open)");
    expect(emptyDeny.out).not.toContain("refused");
  });

  test("ls lists every runtime's policy (table in a pipe, {egress: [...]} with --json)", async () => {
    const r = await cli(["egress", "ls"], { client: { runtimes: [worker, stopped] } });
    expect(r.out.split("\n")[0]).toBe("RUNTIME\tNETWORK\tADDRESS\tMODE\tENTRIES");
    expect(r.out).toContain("worker\tnat\t10.64.0.2\topen\t");
    const j = await cli(["egress", "ls", "--json"], { client: { runtimes: [worker] } });
    expect(JSON.parse(j.out)).toEqual({ egress: [{ runtime: "worker", runtime_id: worker.id, network: "nat", address: "10.64.0.2", policy: { mode: "open", allow: [], deny: [] } }] });
  });

  test("describe of an unknown runtime fails with exit 1", async () => {
    const r = await cli(["egress", "describe", "nope"], { client: { runtimes: [worker] } });
    expect(r.code).toBe(1);
    expect(r.err).toContain('runtime "nope" not found');
  });

  test("events: a table of the last events with verdict, destination, rule and bytes; --limit is passed on", async () => {
    const r = await cli(["egress", "events", "worker", "--limit", "5"], { client: { runtimes: [worker], egressEvents: { worker: [denied, allowed] } } });
    expect(r.code).toBe(0);
    const lines = r.out.trim().split("\n");
    expect(lines[0]).toBe("TIME\tVERDICT\tPROTOCOL\tDESTINATION\tIP\tRULE\tSENT\tRECEIVED\tREASON");
    expect(lines[1]).toBe("2026-01-01T00:04:00.000Z\tdenied\ttls\tdenied.test:443\t10.250.1.2\tmode:allowlist\t517\t0\tnot allowed by the allowlist egress policy");
    expect(r.client.calls.find((c) => c.method === "egressEvents")!.args).toEqual(["worker", { limit: 5 }]);
    const bad = await cli(["egress", "events", "worker", "--limit", "0"], { client: { runtimes: [worker] } });
    expect(bad.code).toBe(2);
  });

  test("events: a request a secret rule rewrote names the secret and header in RULE (never a value)", async () => {
    const injected: EgressEvent = { ...allowed, seq: 10, host: "api.openai.com", rule: "mode:open", injected: [{ secret: "OPENAI_API_KEY", header: "Authorization" }] };
    const r = await cli(["egress", "events", "worker"], { client: { runtimes: [worker], egressEvents: { worker: [injected] } } });
    expect(r.out.trim().split("\n")[1]!.split("\t")[5]).toBe("mode:open +secret OPENAI_API_KEY→Authorization");
  });

  test("events --follow prints new events as they come, until Ctrl-C", async () => {
    const signals = new EventEmitter();
    const events = [denied];
    setTimeout(() => events.push(allowed), 300);
    setTimeout(() => signals.emit("SIGINT"), 2300);
    const r = await cli(["egress", "events", "worker", "--follow", "--json"], { client: { runtimes: [worker], egressEvents: { worker: events } }, deps: { signals } });
    expect(r.code).toBe(130);
    expect(r.out.trim().split("\n").map((l) => JSON.parse(l).seq)).toEqual([7, 9]);
  });

  test("run --egress-allow creates with an allowlist; --network none; mixing is a usage error", async () => {
    const r = await cli(["run", "--name", "b", "--egress-allow", "deb.debian.org", "--egress-allow", "10.0.0.0/8"], { client: {} });
    expect(r.code).toBe(0);
    const opts = r.client.calls.find((c) => c.method === "create")!.args[1] as Record<string, unknown>;
    expect(opts.egress).toEqual({ mode: "allowlist", allow: ["deb.debian.org", "10.0.0.0/8"] });
    const none = await cli(["run", "--name", "c", "--network", "none"], { client: {} });
    expect((none.client.calls.find((c) => c.method === "create")!.args[1] as Record<string, unknown>).network).toBe("none");
    const both = await cli(["run", "--network", "none", "--egress-allow", "a.com"], { client: {} });
    expect(both.code).toBe(2);
    const mixed = await cli(["run", "--egress-allow", "a.com", "--egress-deny", "b.com"], { client: {} });
    expect(mixed.code).toBe(2);
    expect(mixed.err).toContain("cannot be mixed");
  });
});
