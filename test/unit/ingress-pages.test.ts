/** The ingress's own pages: the API's statuses where the two agree, a gateway's where the ingress answers for a service. */
import { expect, test } from "vitest";
import { ERROR_CODES, RuntaError, httpStatusFor } from "../../src/api/index.js";
import { NOT_PUBLISHED, pageFor } from "../../src/server/ingress/pages.js";

test("not_found, unavailable and deadline_exceeded answer the API's status (404, 503 with Retry-After, 504)", () => {
  expect(pageFor(new RuntaError("not_found", "no such service"))).toBe(NOT_PUBLISHED);
  expect(NOT_PUBLISHED.status).toBe(httpStatusFor({ code: "not_found" }));
  const waking = pageFor(new RuntaError("unavailable", "the service did not accept connections", { details: { retry_after_secs: 7 } }));
  expect(waking).toMatchObject({ status: 503, headers: { "Retry-After": "7" } });
  expect(waking.text).toBe("the service did not accept connections. Try again in 7 s.");
  expect(pageFor(new RuntaError("unavailable", "the daemon is starting")).headers).toEqual({ "Retry-After": "5" });
  expect(pageFor(new RuntaError("deadline_exceeded", "runc resume did not finish within 60 s"))).toMatchObject({ status: 504, title: "Gateway Timeout" });
});

test("a state that refuses (409 in the API) is a service unavailable for now: 503 with Retry-After", () => {
  expect(httpStatusFor({ code: "failed_precondition" })).toBe(409);
  const paused = pageFor(new RuntaError("failed_precondition", "the service is paused by its owner", { details: { retry_after_secs: 30 } }));
  expect(paused).toMatchObject({ status: 503, title: "Service Unavailable", headers: { "Retry-After": "30" } });
});

test("every other code, and an upstream socket's error, is 502 with no detail", () => {
  const gateway = ERROR_CODES.filter((c) => !["not_found", "unavailable", "deadline_exceeded", "failed_precondition"].includes(c));
  expect(gateway.length).toBeGreaterThan(0);
  for (const code of gateway) {
    const page = pageFor(new RuntaError(code, `secret detail of ${code}`));
    expect(page, code).toMatchObject({ status: 502, title: "Bad Gateway" });
    expect(page.text).not.toContain("secret detail");
  }
  expect(pageFor(Object.assign(new Error("connect ECONNREFUSED 10.0.0.2:8080"), { code: "ECONNREFUSED" }))).toMatchObject({ status: 502 });
});
