import { describe, expect, test } from "vitest";
import { escapeControl, humanBytes, listJson, relativeTime } from "../../../src/cli/output.js";
import { NOW } from "../../helpers/cli-harness.js";

describe("output helpers", () => {
  test("relative times read like docker's", () => {
    const at = (secs: number) => new Date(NOW.getTime() - secs * 1000).toISOString();
    expect(relativeTime(at(0), NOW)).toBe("Less than a second ago");
    expect(relativeTime(at(30), NOW)).toBe("30 seconds ago");
    expect(relativeTime(at(70), NOW)).toBe("About a minute ago");
    expect(relativeTime(at(180), NOW)).toBe("3 minutes ago");
    expect(relativeTime(at(2 * 3600), NOW)).toBe("2 hours ago");
    expect(relativeTime(at(3 * 86400), NOW)).toBe("3 days ago");
  });

  test("escapeControl makes control characters visible", () => {
    expect(escapeControl("a\tb\nc\x1b[0m\x7f")).toBe("a\\tb\\nc\\x1b[0m\\x7f");
  });
});

describe("list JSON", () => {
  test("every list is an object keyed by its noun", () => {
    expect(listJson("runtimes", [{ id: "a" }])).toEqual({ runtimes: [{ id: "a" }] });
    expect(listJson("images", [] as { name: string }[])).toEqual({ images: [] });
    expect(listJson("secrets", [{ n: 1 }], (r) => ({ name: String(r.n) }))).toEqual({ secrets: [{ name: "1" }] });
  });
});

describe("human sizes", () => {
  test("decimal by default (image sizes, as docker images); binary for memory, so a 1g limit reads 1.00GiB", () => {
    expect(humanBytes(259_000_000)).toBe("259MB");
    expect(humanBytes(999)).toBe("999B");
    expect(humanBytes(2 ** 30, true)).toBe("1.00GiB");
    expect(humanBytes(64 * 2 ** 20, true)).toBe("64.0MiB");
    expect(humanBytes(365 * 1024, true)).toBe("365KiB");
    expect(humanBytes(1023, true)).toBe("1023B");
  });
});
