/**
 * What the ingress itself answers (never a runtime): small HTML pages that name no runtime, for a host nothing is
 * published at, a service that is not serving, a request that cannot be forwarded. Over a plain socket too (a
 * websocket upgrade that cannot go through).
 */
import type { ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { RuntaError, httpStatusFor } from "../../api/index.js";

/** One answer of the ingress. */
export interface Page {
  status: number;
  title: string;
  text: string;
  headers?: Record<string, string>;
}

/** A host nothing is published at (or a runtime or port that is gone): the API's not_found status. */
export const NOT_PUBLISHED: Page = { status: httpStatusFor({ code: "not_found" }), title: "Not Found", text: "No service is published at this address." };

const BAD_GATEWAY: Page = { status: 502, title: "Bad Gateway", text: "The service could not be reached." };

/**
 * The page for an error of the engine's way in (engine/ingress). Where the ingress means what the API means, the
 * status is the API's own (`httpStatusFor`, the one engine-error → HTTP mapping): `not_found` 404 (nothing published
 * here), `unavailable` 503 (not serving now, with Retry-After), `deadline_exceeded` 504 (the service, or its wake, did
 * not answer in time). It differs on purpose where the ingress is a gateway rather than the API: its client is anyone
 * who reached the service, not the runtime's owner, and the request is the service's, not a call on the runtime.
 * - `failed_precondition` (the runtime's state refuses: paused by its owner, shut down) is 409 in the API, a conflict
 *   its owner resolves; to the service's client it is a service unavailable for now: 503 with Retry-After.
 * - Anything else (an internal failure, a refused or reset connection to the upstream) is the API's 4xx/500 about a
 *   call the client did not make: to the client the upstream could not be reached, 502, with no detail (it names no
 *   runtime and says nothing of the host).
 */
export function pageFor(err: unknown): Page {
  if (!(err instanceof RuntaError)) return BAD_GATEWAY;
  if (err.code === "not_found") return NOT_PUBLISHED;
  if (err.code === "unavailable" || err.code === "failed_precondition") {
    const retry = Number(err.details?.retry_after_secs ?? 5);
    const status = err.code === "unavailable" ? httpStatusFor(err) : 503;
    return { status, title: "Service Unavailable", text: `${err.message}. Try again in ${retry} s.`, headers: { "Retry-After": String(retry) } };
  }
  if (err.code === "deadline_exceeded") return { status: httpStatusFor(err), title: "Gateway Timeout", text: "The service did not answer in time." };
  return BAD_GATEWAY;
}

function html(p: Page): string {
  const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html>\n<html><head><meta charset="utf-8"><title>${p.status} ${esc(p.title)}</title></head>` +
    `<body><h1>${p.status} ${esc(p.title)}</h1><p>${esc(p.text)}</p><hr><p>runta ingress</p></body></html>\n`;
}

/** Sends `p` as the response (when nothing was sent yet; otherwise the response is cut). */
export function sendPage(res: ServerResponse, p: Page): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = html(p);
  res.writeHead(p.status, { "Content-Type": "text/html; charset=utf-8", "Content-Length": Buffer.byteLength(body), "Cache-Control": "no-store", ...p.headers });
  res.end(body);
}

/** Writes `p` as a whole HTTP/1.1 response on a raw socket (an upgrade refused) and closes it. */
export function writePage(socket: Duplex, p: Page): void {
  const body = html(p);
  const head = [`HTTP/1.1 ${p.status} ${p.title}`, "Content-Type: text/html; charset=utf-8", `Content-Length: ${Buffer.byteLength(body)}`, "Connection: close"];
  for (const [k, v] of Object.entries(p.headers ?? {})) head.push(`${k}: ${v}`);
  socket.end(head.join("\r\n") + "\r\n\r\n" + body);
}
