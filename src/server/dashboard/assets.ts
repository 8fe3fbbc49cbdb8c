/**
 * The dashboard's static files (built by `npm run build` into dist/ui: index.html, app.js, app.css) and the headers
 * every dashboard page gets: a strict Content-Security-Policy, no framing, no sniffing, no referrer.
 */
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { ServerResponse } from "node:http";
import { fileURLToPath } from "node:url";

/** dist/ui, next to dist/server (this file is dist/server/dashboard/assets.js once built). */
export const DEFAULT_UI_DIR = fileURLToPath(new URL("../../ui/", import.meta.url));

const TYPES: Record<string, string> = {
  "app.js": "text/javascript; charset=utf-8",
  "app.css": "text/css; charset=utf-8",
  "favicon.svg": "image/svg+xml",
};

/**
 * Scripts only from our own files, nothing inline; connections only back to this origin (fetch and the exec websocket).
 * Style elements need a per-response nonce: xterm.js inserts two <style> elements for its cell metrics and colours,
 * and the page hands them the nonce. Style attributes stay allowed because xterm colours true-colour cells with them;
 * with images, fonts and connections limited to 'self' they cannot send anything anywhere.
 */
export function contentSecurityPolicy(nonce: string): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `style-src-elem 'self' 'nonce-${nonce}'`,
    "style-src-attr 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
}

/** Headers of every dashboard response. */
export function pageHeaders(nonce = randomBytes(16).toString("base64")): Record<string, string> {
  return {
    "Content-Security-Policy": contentSecurityPolicy(nonce),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
  };
}

/** Serves dist/ui. Files are read once and kept (they are small and only change with a new build). */
export class DashboardAssets {
  private readonly cache = new Map<string, Buffer>();

  constructor(private readonly dir = DEFAULT_UI_DIR) {}

  /** Whether `name` is one of the files the dashboard serves. */
  static has(name: string): boolean {
    return name in TYPES;
  }

  private async load(name: string): Promise<Buffer | null> {
    const hit = this.cache.get(name);
    if (hit) return hit;
    try {
      const data = await readFile(this.dir + name);
      this.cache.set(name, data);
      return data;
    } catch {
      return null;
    }
  }

  /** The app's page with a fresh style nonce; a short explanation when the dashboard was not built. */
  async index(res: ServerResponse): Promise<void> {
    const nonce = randomBytes(16).toString("base64");
    const page = await this.load("index.html");
    if (!page) return htmlPage(res, 503, "Dashboard not built", "<p>dist/ui is missing: run <code>npm run build</code> and restart the daemon.</p>");
    const body = page.toString("utf8").replaceAll("__STYLE_NONCE__", nonce);
    send(res, 200, "text/html; charset=utf-8", Buffer.from(body), pageHeaders(nonce));
  }

  /** One static file; false when there is no such file. */
  async file(res: ServerResponse, name: string): Promise<boolean> {
    if (!DashboardAssets.has(name)) return false;
    const data = await this.load(name);
    if (!data) return false;
    send(res, 200, TYPES[name]!, data, pageHeaders());
    return true;
  }
}

/** A small self-contained HTML page (login outcomes, errors); `body` is trusted markup. */
export function htmlPage(res: ServerResponse, status: number, title: string, body: string, extraHead = ""): void {
  const html =
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">` +
    `<title>${title} · runta</title>${extraHead}<link rel="stylesheet" href="/ui/app.css"></head>` +
    `<body class="notice"><main><h1>${title}</h1>${body}</main></body></html>`;
  send(res, status, "text/html; charset=utf-8", Buffer.from(html), pageHeaders());
}

function send(res: ServerResponse, status: number, type: string, body: Buffer, headers: Record<string, string>): void {
  res.writeHead(status, { ...headers, "Content-Type": type, "Content-Length": body.length });
  res.end(body);
}
