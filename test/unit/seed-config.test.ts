/**
 * The seeds' nested `config` on a create: seed 004's `lifecycle.idleTimeoutMinutes` is the idle timeout in minutes
 * (mapped once, by createSpecOf), seed 002's `secret_ids` (top level or in `config.secrets`) is refused saying what
 * to do instead, and the rest of the seeds' config stays unknown.
 */
import { expect, test } from "vitest";
import { CreateRuntimeRequestSchema, LIMITS } from "../../src/api/index.js";
import { SECRET_IDS_REFUSED } from "../../src/api/seed-config.js";
import { createSpecOf, idleTimeoutOf } from "../../src/server/routes/runtimes.js";
import { validationError } from "../../src/server/errors.js";

const parse = (body: unknown) => CreateRuntimeRequestSchema.safeParse(body);

test("config.lifecycle.idleTimeoutMinutes is whole minutes within the idle timeout's range", () => {
  const max = LIMITS.idleTimeoutSecsMax / 60;
  for (const ok of [1, 5, max]) expect(parse({ config: { lifecycle: { idleTimeoutMinutes: ok } } }).success, String(ok)).toBe(true);
  for (const bad of [0, -1, 1.5, max + 1, "5"]) {
    const r = parse({ config: { lifecycle: { idleTimeoutMinutes: bad } } });
    expect(r.success, String(bad)).toBe(false);
    expect(r.error!.issues[0]!.path).toEqual(["config", "lifecycle", "idleTimeoutMinutes"]);
  }
});

test("the create spec's idle timeout comes from idle_timeout_secs or the seed's minutes, which must agree when both are given", () => {
  const spec = (body: unknown) => createSpecOf(CreateRuntimeRequestSchema.parse(body));
  expect(spec({ config: { lifecycle: { idleTimeoutMinutes: 5 } } }).idleTimeoutSecs).toBe(300);
  expect(spec({ idle_timeout_secs: 90 }).idleTimeoutSecs).toBe(90);
  expect(spec({ idle_timeout_secs: 300, config: { lifecycle: { idleTimeoutMinutes: 5 } } }).idleTimeoutSecs).toBe(300);
  expect(spec({ config: { lifecycle: {} } }).idleTimeoutSecs).toBeUndefined();
  expect(() => idleTimeoutOf({ idle_timeout_secs: 60, config: { lifecycle: { idleTimeoutMinutes: 5 } } })).toThrow(
    /config\.lifecycle\.idleTimeoutMinutes is another name for idle_timeout_secs \(in minutes\): give one of them/,
  );
});

test("secret_ids, at the top or in config.secrets, is refused with what to do instead", () => {
  for (const [body, field] of [
    [{ secret_ids: ["2489E9AD-2EE2-8E00-8EC9-32D5F69181C0"] }, "secret_ids"],
    [{ config: { secrets: { secret_ids: [] } } }, "config.secrets.secret_ids"],
  ] as const) {
    const r = parse(body);
    expect(r.success).toBe(false);
    const err = validationError(r.error!);
    expect(err.message).toBe(`${field}: ${SECRET_IDS_REFUSED}`);
    expect(err.httpStatus).toBe(400);
  }
  expect(SECRET_IDS_REFUSED).toMatch(/runta secret rule set RUNTIME --secret NAME --host HOST/);
});

test("the rest of the seeds' config is unknown, named by its path", () => {
  for (const [config, field] of [
    [{ sandbox: { exposed_ports: [8080] } }, "config.sandbox"],
    [{ lifecycle: { lastActivityAt: "2026-01-01T00:00:00Z" } }, "config.lifecycle.lastActivityAt"],
    [{ stealth: "high" }, "config.stealth"],
  ] as const) {
    const r = parse({ config });
    expect(r.success).toBe(false);
    expect(validationError(r.error!).message).toBe(`unknown field ${field}: remove it`);
  }
});
