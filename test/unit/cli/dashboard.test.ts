import { describe, expect, test } from "vitest";
import { cli } from "../../helpers/cli-harness.js";

describe("dashboard", () => {
  test("prints the one-time login link the daemon made", async () => {
    const r = await cli(["dashboard", "--no-open"]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("it works once, within two minutes");
    expect(r.out).toContain("\n  http://fake.invalid/ui/login?code=fake-code\n");
  });

  test("--json prints the link object", async () => {
    const r = await cli(["dashboard", "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ url: "http://fake.invalid/ui/login?code=fake-code", login_path: "/ui/login?code=fake-code" });
  });
});
