/**
 * What the ingress itself answers (never a runtime): small HTML pages that name no runtime, for a host nothing is
 * published at, a service that is not serving, a request that cannot be forwarded. Over a plain socket too (a
 * websocket upgrade that cannot go through).
 */
import type { ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import { RuntaError } from "../../api/index.js";

/** One answer of the ingress. */
export interface Page {
  status: number;
  title: string;
  text: string;
  headers?: Record<string, string>;
}

export const NOT_PUBLISHED: Page = { status: 404, title: "Not Found", text: "No service is published at this address." };

/** The page for an error of the engine's way in (engine/ingress): 404 for nothing there, 503 + Retry-After when not serving. */
export function pageFor(err: unknown): Page {
  if (err instanceof RuntaError && err.code === "not_found") return NOT_PUBLISHED;
  if (err instanceof RuntaError && (err.code === "unavailable" || err.code === "failed_precondition")) {
    const retry = Number(err.details?.retry_after_secs ?? 5);
    return { status: 503, title: "Service Unavailable", text: `${err.message}. Try again in ${retry} s.`, headers: { "Retry-After": String(retry) } };
  }
  return { status: 502, title: "Bad Gateway", text: "The service could not be reached." };
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
