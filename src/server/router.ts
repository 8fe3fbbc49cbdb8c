/**
 * Matches a request to a route: path templates (`/v1/runtimes/{rt}`, `/ui/{path*}`) compiled once to regular
 * expressions, and the methods a path allows when the request's method is not among them (for 405 and `Allow`).
 */
import { errors } from "../api/index.js";
import { pathSegment, type Route } from "./http.js";

interface CompiledRoute {
  route: Route;
  pattern: RegExp;
  names: string[];
}

/**
 * What {@link Router.match} found: the route and its params still percent-encoded (decode them with
 * {@link decodeParams} once the request is authenticated), or the methods the path does allow.
 */
export type RouteMatch = { route: Route; rawParams: Record<string, string> } | { route: undefined; allowed: string[] };

/** Compiles one template: `{name}` is one non-empty segment, `{name*}` the rest of the path; the rest is literal. */
function compile(route: Route): CompiledRoute {
  const names: string[] = [];
  const source = route.path.replace(/\{(\w+)(\*?)\}|[.*+?^$()|[\]\\]/g, (token, name: string | undefined, rest: string) => {
    if (!name) return `\\${token}`;
    if (names.includes(name)) throw errors.internal(`route ${route.method} ${route.path} uses {${name}} twice`);
    names.push(name);
    return rest ? "(.*)" : "([^/]+)";
  });
  return { route, pattern: new RegExp(`^${source}$`), names };
}

/** The routes of every module, matched in the order given. */
export class Router {
  private readonly compiled: CompiledRoute[];

  constructor(routes: readonly Route[]) {
    this.compiled = routes.map(compile);
  }

  /** The first route whose path and method match. */
  match(method: string, pathname: string): RouteMatch {
    const allowed: string[] = [];
    for (const c of this.compiled) {
      const m = c.pattern.exec(pathname);
      if (!m) continue;
      if (c.route.method !== method) {
        allowed.push(c.route.method);
        continue;
      }
      return { route: c.route, rawParams: Object.fromEntries(c.names.map((name, i) => [name, m[i + 1]])) };
    }
    return { route: undefined, allowed };
  }
}

/** Percent-decodes matched params; a malformed escape is the client's error (400). */
export function decodeParams(raw: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(raw).map(([name, value]) => [name, pathSegment(value)]));
}
