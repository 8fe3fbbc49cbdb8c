import { expect, test } from "vitest";
import { CreateRuntimeRequestSchema, ExecRequestSchema, LIMITS, UpdateRuntimeRequestSchema } from "../../src/api/index.js";

test("buffered exec stdin is capped in bytes, not characters", () => {
  const ascii = "a".repeat(LIMITS.execStdinMaxBytes);
  expect(ExecRequestSchema.safeParse({ command: "cat", stdin: ascii }).success).toBe(true);
  // Half as many characters, but two bytes each in UTF-8: one byte over the cap.
  const wide = "é".repeat(LIMITS.execStdinMaxBytes / 2) + "a";
  const r = ExecRequestSchema.safeParse({ command: "cat", stdin: wide });
  expect(r.success).toBe(false);
  expect(r.error!.issues[0]).toMatchObject({ path: ["stdin"], message: `must be at most ${LIMITS.execStdinMaxBytes} bytes` });
});

test("a bad env or label key is named with the rule, at its own path", () => {
  const env = ExecRequestSchema.safeParse({ command: "env", env: { "1BAD": "x", GOOD: "y" } });
  expect(env.success).toBe(false);
  expect(env.error!.issues).toEqual([
    expect.objectContaining({ path: ["env", "1BAD"], message: expect.stringContaining(`"1BAD": variable names are letters, digits and '_'`) }),
  ]);
  const labels = CreateRuntimeRequestSchema.safeParse({ labels: { "-x": "1", team: "infra" } });
  expect(labels.success).toBe(false);
  expect(labels.error!.issues[0]).toMatchObject({ path: ["labels", "-x"], message: expect.stringContaining("label keys are") });
  expect(CreateRuntimeRequestSchema.safeParse({ env: { A_1: "v" }, labels: { "team/x": "infra" } }).success).toBe(true);
});

test("label values refuse C0/C1 controls and bidi overrides (they are printed raw by inspect), not other Unicode", () => {
  for (const bad of ["a\u009b31mred", "evil\u202Etxt.exe", "a\u2066b", "a\u0085b", "bell\u0007"]) {
    const r = CreateRuntimeRequestSchema.safeParse({ labels: { team: bad } });
    expect(r.success, JSON.stringify(bad)).toBe(false);
    expect(r.error!.issues[0]!.message).toMatch(/control or bidirectional-override/);
  }
  expect(CreateRuntimeRequestSchema.safeParse({ labels: { team: "Zürich – 東京 ✓" } }).success).toBe(true);
});

test("a description is free text up to 1024 characters: newline and tab yes, other controls and bidi overrides no", () => {
  for (const ok of ["", "nightly ETL", "line one\nline\ttwo", "Zürich – 東京 ✓", "x".repeat(1024)]) {
    expect(CreateRuntimeRequestSchema.safeParse({ description: ok }).success, ok).toBe(true);
  }
  for (const bad of ["a\x1b[2J", "a\rb", "\u202egnp.exe", "a\u009bb", "x".repeat(1025)]) {
    const r = CreateRuntimeRequestSchema.safeParse({ description: bad });
    expect(r.success, JSON.stringify(bad)).toBe(false);
    expect(r.error!.issues[0]!.path).toEqual(["description"]);
  }
});

test("a runtime's exec timeout is whole seconds from 1 to the exec maximum, also under seed 000's name execTimeout", () => {
  for (const field of ["exec_timeout_secs", "execTimeout"]) {
    for (const ok of [1, 600, LIMITS.execTimeoutSecsMax]) expect(CreateRuntimeRequestSchema.safeParse({ [field]: ok }).success, `${field}=${ok}`).toBe(true);
    for (const bad of [0, -1, 1.5, LIMITS.execTimeoutSecsMax + 1, "600"]) {
      const r = CreateRuntimeRequestSchema.safeParse({ [field]: bad });
      expect(r.success, `${field}=${bad}`).toBe(false);
      expect(r.error!.issues[0]!.path).toEqual([field]);
    }
  }
});

test("a lifetime is whole seconds from 1 to 30 days, also under seed 002's name timeout_seconds", () => {
  for (const field of ["lifetime_secs", "timeout_seconds"]) {
    for (const ok of [1, 3600, LIMITS.lifetimeSecsMax]) expect(CreateRuntimeRequestSchema.safeParse({ [field]: ok }).success, `${field}=${ok}`).toBe(true);
    for (const bad of [0, 2.5, LIMITS.lifetimeSecsMax + 1, "60"]) expect(CreateRuntimeRequestSchema.safeParse({ [field]: bad }).success, `${field}=${bad}`).toBe(false);
  }
});

test("PATCH takes a name, resources, a description or several, not nothing", () => {
  expect(UpdateRuntimeRequestSchema.safeParse({ description: "" }).success).toBe(true);
  expect(UpdateRuntimeRequestSchema.safeParse({ resources: { requests: { vcpus: 1 } }, description: "d" }).success).toBe(true);
  const none = UpdateRuntimeRequestSchema.safeParse({});
  expect(none.success).toBe(false);
  expect(none.error!.issues[0]!.message).toBe("give name, resources, description, idle_timeout_secs or several");
  expect(UpdateRuntimeRequestSchema.safeParse({ labels: {} }).success).toBe(false);
});

test("a hostname is RFC 1123 labels of at most 63 characters in all", () => {
  for (const ok of ["web", "api.internal", "a-b.c-d.e", "x".repeat(63), "9lives"]) {
    expect(CreateRuntimeRequestSchema.safeParse({ hostname: ok }).success, ok).toBe(true);
  }
  for (const bad of ["", "-a", "a-", "a..b", ".a", "a.", "under_score", "sp ace", "x".repeat(64), "é"]) {
    const r = CreateRuntimeRequestSchema.safeParse({ hostname: bad });
    expect(r.success, bad).toBe(false);
    expect(r.error!.issues[0]).toMatchObject({ path: ["hostname"], message: expect.stringContaining("must be a hostname") });
  }
});
