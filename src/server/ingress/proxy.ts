/**
 * Forwarding one request (or one websocket upgrade) to the app in a runtime, over the connection the engine handed
 * out (engine/ingress: activity held, runtime woken, app accepting). Requests stream both ways with backpressure
 * (pipe), nothing is buffered whole: a chunked or server-sent-events answer reaches the client chunk by chunk.
 * Upgrades are passed through raw: the request head is written to the app and the two sockets are spliced.
 */
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { PublishedConnection } from "../../engine/ingress/ingress.js";
import { splice } from "../../engine/ingress/splice.js";
import { pageFor, sendPage, writePage } from "./pages.js";

/** Headers that describe one hop (RFC 9110 §7.6.1), not the message: never forwarded. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "proxy-authorization", "proxy-authenticate", "te", "trailer", "transfer-encoding", "upgrade"]);

/** The request's headers for the app: hop-by-hop ones (and those `Connection` names) dropped, X-Forwarded-* added. */
export function forwardHeaders(req: IncomingMessage, scheme: "http" | "https", upgrade = false): IncomingHttpHeaders {
  const named = new Set(String(req.headers.connection ?? "").toLowerCase().split(",").map((s) => s.trim()));
  const out: IncomingHttpHeaders = {};
  for (const [k, v] of Object.entries(req.headers)) {
    if (v === undefined || HOP_BY_HOP.has(k) || named.has(k) || k.startsWith("x-forwarded-")) continue;
    out[k] = v;
  }
  const client = req.socket.remoteAddress ?? "";
  out["x-forwarded-for"] = client.replace(/^::ffff:/, "");
  out["x-forwarded-proto"] = scheme;
  if (req.headers.host) out["x-forwarded-host"] = req.headers.host;
  if (upgrade) {
    out.connection = "Upgrade";
    out.upgrade = req.headers.upgrade;
  }
  return out;
}

/** The app's response headers for the client, hop-by-hop ones dropped. */
function responseHeaders(res: IncomingMessage): IncomingHttpHeaders {
  const named = new Set(String(res.headers.connection ?? "").toLowerCase().split(",").map((s) => s.trim()));
  const out: IncomingHttpHeaders = {};
  for (const [k, v] of Object.entries(res.headers)) if (v !== undefined && !HOP_BY_HOP.has(k) && !named.has(k)) out[k] = v;
  return out;
}

/** Forwards `req` over `conn` and the app's answer back into `res`; releases the connection when the exchange ends. */
export function forwardRequest(req: IncomingMessage, res: ServerResponse, conn: PublishedConnection, scheme: "http" | "https"): void {
  res.once("close", () => conn.release());
  const upstream = http.request({
    createConnection: () => conn.socket,
    method: req.method,
    path: req.url,
    headers: forwardHeaders(req, scheme),
    setHost: false,
  });
  let answered = false;
  upstream.on("response", (answer) => {
    // The ingress may have answered already (a body too slow: 408); the app's answer then has nowhere to go.
    if (res.headersSent || res.destroyed) {
      answer.destroy();
      return;
    }
    answer.once("end", () => (answered = true));
    res.writeHead(answer.statusCode ?? 502, answer.statusMessage, responseHeaders(answer));
    // Headers now, not with the first chunk: a stream that starts slowly (server-sent events) is seen as open.
    res.flushHeaders();
    answer.pipe(res);
    answer.on("error", () => res.destroy());
    answer.once("aborted", () => res.destroy());
  });
  upstream.on("error", () => {
    // Before any answer a page says so; after it started, the client sees the connection cut, as the app cut it.
    if (!res.headersSent) sendPage(res, { status: 502, title: "Bad Gateway", text: "The service closed the connection before answering." });
    else res.destroy();
  });
  // The client gone (reset, timeout) or answered by the ingress itself (a slow body): the request to the app goes too.
  res.once("close", () => {
    if (!answered) upstream.destroy();
  });
  req.pipe(upstream);
}

/** Passes an upgrade (websocket) through: the request head to the app, then bytes both ways until either side closes. */
export function forwardUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, conn: PublishedConnection, scheme: "http" | "https"): void {
  const headers = forwardHeaders(req, scheme, true);
  const lines = [`${req.method} ${req.url} HTTP/1.1`];
  for (const [k, v] of Object.entries(headers)) for (const one of Array.isArray(v) ? v : [v]) lines.push(`${k}: ${one}`);
  conn.socket.write(lines.join("\r\n") + "\r\n\r\n");
  if (head.length) conn.socket.write(head);
  splice(socket, conn.socket, () => conn.release());
}

/** Answers an upgrade that cannot go through with the page for `err`. */
export function refuseUpgrade(socket: Duplex, err: unknown): void {
  writePage(socket, pageFor(err));
}
