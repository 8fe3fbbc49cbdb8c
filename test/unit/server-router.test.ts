import { expect, test } from "vitest";
import { RuntaError } from "../../src/api/index.js";
import type { Route } from "../../src/server/http.js";
import { decodeParams, Router } from "../../src/server/router.js";

const route = (method: string, path: string): Route => ({ method, path, handler: async () => undefined });

test("templates match one segment per {name}, the rest for {name*}, and literal text exactly", () => {
  const get = route("GET", "/v1/runtimes/{rt}");
  const exec = route("POST", "/v1/runtimes/{rt}/exec");
  const ui = route("GET", "/ui/{path*}");
  const dotted = route("GET", "/v1/openapi.json");
  const router = new Router([get, exec, ui, dotted]);
  expect(router.match("GET", "/v1/runtimes/a%20b")).toEqual({ route: get, rawParams: { rt: "a%20b" } });
  expect(router.match("POST", "/v1/runtimes/x/exec")).toEqual({ route: exec, rawParams: { rt: "x" } });
  expect(router.match("GET", "/ui/")).toEqual({ route: ui, rawParams: { path: "" } });
  expect(router.match("GET", "/ui/assets/app.js")).toEqual({ route: ui, rawParams: { path: "assets/app.js" } });
  expect(router.match("GET", "/v1/openapi.json").route).toBe(dotted);
  expect(router.match("GET", "/v1/openapiXjson")).toEqual({ route: undefined, allowed: [] });
  expect(router.match("GET", "/v1/runtimes/a/b")).toEqual({ route: undefined, allowed: [] });
});

test("a path known under other methods reports them (for 405 and Allow)", () => {
  const router = new Router([route("GET", "/v1/runtimes/{rt}"), route("DELETE", "/v1/runtimes/{rt}"), route("POST", "/v1/runtimes/{rt}/start")]);
  expect(router.match("PUT", "/v1/runtimes/x")).toEqual({ route: undefined, allowed: ["GET", "DELETE"] });
});

test("params are percent-decoded; a malformed escape is the client's 400", () => {
  expect(decodeParams({ rt: "a%2Fb" })).toEqual({ rt: "a/b" });
  const err = (() => {
    try {
      decodeParams({ rt: "%E0%A4%A" });
    } catch (e) {
      return e;
    }
  })();
  expect(err).toBeInstanceOf(RuntaError);
  expect(err).toMatchObject({ code: "invalid_argument" });
});

test("a template naming one param twice is refused when the router is built", () => {
  expect(() => new Router([route("GET", "/a/{x}/{x}")])).toThrow(/uses \{x\} twice/);
});
