import { describe, expect, test } from "vitest";
import { apiErrorFromCode } from "../../../src/client/errors.js";
import { cli } from "../../helpers/cli-harness.js";

describe("version", () => {
  test("prints client and server versions", async () => {
    const r = await cli(["version"]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/Client:\n  Version: \d+\.\d+\.\d+[\s\S]*Server:\n  Version: 0\.1\.0/);
  });

  test("a down daemon is reported, not an error", async () => {
    const r = await cli(["version", "--json"], {
      client: { version: async () => { throw apiErrorFromCode("unavailable", "cannot reach the runta daemon at http://127.0.0.1:1"); } },
    });
    expect(r.code).toBe(0);
    const v = JSON.parse(r.out);
    expect(v.server).toBeNull();
    expect(v.server_error).toContain("cannot reach");
  });
});
