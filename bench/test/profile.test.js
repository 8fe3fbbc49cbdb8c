import { describe, expect, test } from "vitest";
import { origin, summarizeProfile } from "../lib/profile.js";

describe("origin", () => {
  test("names npm packages, runta modules and node internals", () => {
    expect(origin("file:///work/main/node_modules/zod/v4/core/schemas.js")).toBe("npm:zod");
    expect(origin("file:///x/node_modules/@types/node/index.js")).toBe("npm:@types/node");
    expect(origin("file:///work/main/dist/client/http.js")).toBe("runta:client/http.js");
    expect(origin("node:internal/deps/undici/undici")).toBe("node:undici (bundled)");
    expect(origin("node:internal/modules/esm/utils")).toBe("node:internal/modules");
    expect(origin("")).toBe("(native / V8)");
  });
});

describe("summarizeProfile", () => {
  test("adds self time per function and per origin from samples and time deltas", () => {
    const profile = {
      startTime: 0,
      endTime: 10_000,
      nodes: [
        { id: 1, callFrame: { functionName: "(idle)", url: "", lineNumber: -1 } },
        { id: 2, callFrame: { functionName: "parse", url: "file:///a/node_modules/zod/index.js", lineNumber: 9 } },
        { id: 3, callFrame: { functionName: "spawn", url: "node:child_process", lineNumber: 0 } },
      ],
      samples: [2, 2, 3, 1],
      timeDeltas: [1000, 2000, 4000, 3000],
    };
    const s = summarizeProfile(profile);
    expect(s.total_ms).toBe(10);
    expect(s.functions[0]).toEqual({ name: "spawn node:child_process:1", ms: 4 });
    expect(s.origins).toEqual([
      { name: "node:child_process", ms: 4 },
      { name: "npm:zod", ms: 3 },
      { name: "(idle: waiting on I/O)", ms: 3 },
    ]);
  });
});
