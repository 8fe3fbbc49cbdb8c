/** The egress routes through the real server and the SDK, on the fake engine. */
import { afterAll, beforeAll, expect, test } from "vitest";
import { Runta } from "../../src/client/index.js";
import { createApiServer, type ApiServer } from "../../src/server/app.js";
import { FakeEngine } from "../helpers/fake-engine.js";

const TOKEN = "egress-test-token";
let engine: FakeEngine;
let runta: Runta;
let api: ApiServer;

beforeAll(async () => {
  engine = new FakeEngine();
  api = createApiServer({ engine, token: TOKEN });
  runta = new Runta({ endpoint: await api.listen("127.0.0.1", 0), token: TOKEN });
});
afterAll(() => api.close(1000));

test("GET/PUT egress round-trips a policy, normalised; each PUT replaces the whole policy", async () => {
  const rt = await runta.runtimes.create("pol");
  expect((await rt.egress()).policy).toEqual({ mode: "open", allow: [], deny: [] });
  const set = await rt.setEgress({ mode: "allowlist", allow: ["Deb.Debian.org", "10.0.0.1"] });
  expect(set.policy).toEqual({ mode: "allowlist", allow: ["deb.debian.org", "10.0.0.1/32"], deny: [] });
  expect((await runta.runtimes.setEgress("pol", { mode: "denylist", deny: ["*.example.com"] })).policy).toEqual({ mode: "denylist", allow: [], deny: ["*.example.com"] });
  expect((await runta.runtimes.egress("pol")).policy.allow).toEqual([]);
});

test("bad policies are 400 naming the field; unknown runtimes 404", async () => {
  await runta.runtimes.create("bad");
  await expect(runta.runtimes.setEgress("bad", { mode: "allowlist", allow: ["not a host!"] })).rejects.toMatchObject({ code: "invalid_argument", message: expect.stringContaining("allow") });
  await expect(runta.runtimes.setEgress("bad", { mode: "open", allow: ["a.com"] })).rejects.toMatchObject({ code: "invalid_argument" });
  await expect(runta.runtimes.setEgress("bad", { mode: "sometimes" as "open" })).rejects.toMatchObject({ code: "invalid_argument" });
  await expect(runta.runtimes.egress("nope")).rejects.toMatchObject({ code: "not_found" });
});

test("create takes egress, seed 000's whitelist ([''] restricts nothing) and network", async () => {
  await runta.runtimes.create("w", { egress: { mode: "allowlist", allow: ["10.10.10.0/24"] }, network: "nat" });
  expect((await runta.runtimes.egress("w")).policy.mode).toBe("allowlist");
  const res = await fetch(`${runta.endpoint}/v1/runtimes`, {
    method: "POST",
    headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
    body: JSON.stringify({ name: "seed", whitelist: ["10.10.10.0/24", ""] }),
  });
  expect(res.status).toBe(201);
  expect((await runta.runtimes.egress("seed")).policy).toEqual({ mode: "allowlist", allow: ["10.10.10.0/24"], deny: [] });
  await expect(runta.runtimes.create("x", { network: "bridge" as "nat" })).rejects.toMatchObject({ code: "invalid_argument" });
});

test("events: limit and after are passed through and validated", async () => {
  const rt = await runta.runtimes.create("ev");
  const ev = (seq: number) => ({ seq, time: "t", protocol: "http" as const, host: "a", ip: null, port: 80, verdict: "denied" as const, rule: "mode:allowlist", reason: null, bytes_out: 0, bytes_in: 0 });
  engine.egressLog.set(rt.id, [ev(1), ev(2), ev(3)]);
  expect((await rt.egressEvents()).map((e) => e.seq)).toEqual([1, 2, 3]);
  expect((await rt.egressEvents({ limit: 1 })).map((e) => e.seq)).toEqual([3]);
  expect((await rt.egressEvents({ after: 1 })).map((e) => e.seq)).toEqual([2, 3]);
  await expect(rt.egressEvents({ limit: 0 })).rejects.toMatchObject({ code: "invalid_argument" });
});

test("the OpenAPI document has the egress routes", async () => {
  const doc = (await (await fetch(`${runta.endpoint}/v1/openapi.json`, { headers: { authorization: `Bearer ${TOKEN}` } })).json()) as { data?: { paths: Record<string, unknown> }; paths?: Record<string, unknown> };
  const paths = doc.paths ?? doc.data!.paths;
  expect(Object.keys(paths)).toEqual(expect.arrayContaining(["/v1/runtimes/{rt}/egress", "/v1/runtimes/{rt}/egress/events"]));
});
