/**
 * Browser runtimes (seed 004's `type: "browser"`): a runtime of the `browser` image (Debian's Chromium over the
 * default image, built by the derived-image machinery, images/packages.ts) whose main process is a headless Chromium
 * speaking the DevTools protocol (CDP), published through the ingress so Playwright/Puppeteer connect from outside.
 *
 * Why a forwarder: Chromium's new headless mode binds the DevTools port to 127.0.0.1 whatever
 * `--remote-debugging-address` says, so inside the runtime `socat` listens on 0.0.0.0:9222 (what the ingress dials)
 * and forwards to Chromium on 127.0.0.1:9223. The Host header passes through unchanged: the ingress's names
 * (`9222-<uuid>.runta.localhost`) end in `.localhost`, which Chromium's DevTools accepts like `localhost` itself (it
 * refuses other names, against DNS rebinding), and it builds its `webSocketDebuggerUrl` from that Host, so the URL it
 * hands out leads back through the ingress.
 *
 * Chromium is the runtime's main process (catatonit's child, not an exec): it does not count as activity, so the idle
 * timeout applies (DevTools connections through the ingress do count), and if Chromium dies the runtime stops.
 */
import { request } from "node:http";
import type { Runtime } from "../../api/index.js";
import type { RuntimeRecord } from "../../store/record.js";

/** The image browser runtimes run on, and what it adds to the default image. */
export const BROWSER_IMAGE = "browser";
export const BROWSER_PACKAGES = ["chromium", "fonts-liberation", "socat"];

/** The label that marks a browser runtime (set at create; what boot reads to start Chromium). */
export const TYPE_LABEL = "runta.type";

/** The DevTools port the runtime publishes (socat), and Chromium's own inside. */
export const CDP_PORT = 9222;
const CHROMIUM_PORT = 9223;

/** Chromium's profile directory inside the runtime (on its own disk; a new profile at every boot is not promised). */
const PROFILE_DIR = "/tmp/runta-chromium";

/** Whether a runtime is a browser runtime. */
export function isBrowser(rec: Pick<RuntimeRecord, "labels">): boolean {
  return rec.labels[TYPE_LABEL] === "browser";
}

/**
 * The command the init runs in a browser runtime: the forwarder in the background, then Chromium in its place.
 * `--no-sandbox`: Chromium's sandbox needs user namespaces, which the runtime's seccomp profile refuses; the runtime
 * itself is the sandbox.
 */
export function browserCommand(): string[] {
  const chromium = [
    "chromium",
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    `--remote-debugging-port=${CHROMIUM_PORT}`,
    `--user-data-dir=${PROFILE_DIR}`,
    "about:blank",
  ];
  return ["/bin/sh", "-c", `socat TCP-LISTEN:${CDP_PORT},fork,reuseaddr TCP:127.0.0.1:${CHROMIUM_PORT} & exec ${chromium.join(" ")}`];
}

/**
 * The CDP URLs of a browser runtime, from its published DevTools port's URL (`http://9222-<uuid>.<domain>:<port>/`):
 * `http` (`/json/version`) and `ws`, the browser target's websocket (`ws://…/devtools/browser/<id>`, what
 * Playwright's `connectOverCDP` and Puppeteer's `connect({ browserWSEndpoint })` take). The target's id is asked of
 * Chromium itself (`/json/version` at the runtime's address, sent the ingress's Host so the URL it builds leads back
 * through the ingress); `ws` is null while Chromium is not answering. Chromium 150 writes no DevToolsActivePort file
 * for a fixed port, so asking is the one way.
 */
export async function cdpUrls(portUrl: string, address: string | null, timeoutMs = 2000): Promise<{ http: string; ws: string | null }> {
  const base = portUrl.replace(/\/$/, "");
  if (!address) return { http: base, ws: null };
  const host = new URL(base).host;
  const ws = await new Promise<string | null>((resolve) => {
    const req = request({ host: address, port: CDP_PORT, path: "/json/version", headers: { Host: host }, timeout: timeoutMs }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (body.length < 65536 ? (body += c) : res.destroy()));
      res.on("end", () => {
        try {
          const url = (JSON.parse(body) as { webSocketDebuggerUrl?: unknown }).webSocketDebuggerUrl;
          // Only a URL of the ingress's own name and a browser target: never echo whatever the runtime answers.
          resolve(typeof url === "string" && url.startsWith(`ws://${host}/devtools/browser/`) && /^[0-9a-f-]{36}$/.test(url.slice(`ws://${host}/devtools/browser/`.length)) ? url : null);
        } catch {
          resolve(null);
        }
      });
      res.on("error", () => resolve(null));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(null));
    req.end();
  });
  return { http: base, ws };
}

/** A browser runtime's CDP URLs: its published DevTools port, and the target Chromium names at `address` while it runs. */
export async function browserOf(rt: Runtime, address: string | null): Promise<Runtime["browser"]> {
  const port = rt.ports.find((p) => p.port === CDP_PORT && p.protocol === "http");
  if (!port) return undefined;
  return cdpUrls(port.url, rt.status === "running" ? address : null);
}
