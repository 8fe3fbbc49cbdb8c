import { expect, test } from "vitest";
import { runcTrustWarning } from "../../src/api/trust.js";

test("Debian's runc 1.1.5 gets the warning naming both CVE sets", () => {
  const w = runcTrustWarning("1.1.5+ds1");
  expect(w).toMatch(/^runc 1\.1\.5\+ds1 on this host lacks fixes/);
  expect(w).toContain("CVE-2024-21626");
  expect(w).toContain("CVE-2025-31133");
  expect(w).toContain("only import and run images you trust");
});

test("a runc with the 2024 fix but not the 2025 ones names only the 2025 set", () => {
  const w = runcTrustWarning("1.1.15");
  expect(w).not.toContain("CVE-2024-21626");
  expect(w).toContain("CVE-2025-52881");
  expect(runcTrustWarning("1.2.7")).not.toBeNull();
  expect(runcTrustWarning("1.3.2")).not.toBeNull();
});

test("fixed releases and unknown versions get no warning", () => {
  for (const v of ["1.2.8", "1.3.3", "1.4.0", "2.0.0"]) expect(runcTrustWarning(v)).toBeNull();
  expect(runcTrustWarning("unknown")).toBeNull();
});
