/**
 * Browser runtimes through the real daemon, runc, the runtime network and the ingress: `type: "browser"` builds the
 * browser image (Debian's Chromium over the default image, once), starts headless Chromium as the runtime's main
 * process, publishes its DevTools port, and inspect's `browser.ws` is a CDP URL that playwright-core on the host
 * connects to (`connectOverCDP`), opening a `data:` URL and reading its title. Needs the host's Debian mirror; the
 * browser image takes minutes to build (RUNTA_DEBUG_IMAGES=<dir> keeps the images in <dir> across runs while debugging).
 */
import { chromium } from "playwright-core";
import { expect, test } from "vitest";
import { daemonSuite } from "../helpers/daemon-suite.js";

// The browser image is built into the file's private images dir (over the shared default image) and removed with it.
const d = daemonSuite({ defaultImage: true, privateImages: true, privateImagesDir: process.env.RUNTA_DEBUG_IMAGES }).daemon;

test("a browser runtime's CDP URL takes playwright-core's connectOverCDP: a data: page's title is read through the ingress", async () => {
  const runta = d.client();
  const rt = await runta.runtimes.create("chrome", { type: "browser", memoryMiB: 1024 });
  expect(rt.info.image).toBe("browser");
  expect(rt.info.labels["runta.type"]).toBe("browser");
  expect(rt.info.ports.map((p) => `${p.port}/${p.protocol}`)).toEqual(["9222/http"]);
  const image = (await runta.images.list()).find((i) => i.name === "browser")!;
  expect(image).toMatchObject({ parent: "default", packages: ["chromium", "fonts-liberation", "socat"] });

  let ws: string | null = null;
  await expect
    .poll(async () => (ws = (await runta.runtimes.get("chrome")).info.browser?.ws ?? null), { timeout: 60_000, interval: 500 })
    .toMatch(/^ws:\/\/9222-[0-9a-f-]{36}\.runta\.localhost:\d+\/devtools\/browser\/[0-9a-f-]{36}$/);
  // glibc does not resolve *.localhost: dial the ingress on 127.0.0.1 with the URL's Host, as a resolver would.
  const url = new URL(ws!);
  const browser = await chromium.connectOverCDP(`ws://127.0.0.1:${url.port}${url.pathname}`, { headers: { Host: url.host }, timeout: 60_000 });
  try {
    const context = browser.contexts()[0] ?? (await browser.newContext());
    const page = await context.newPage();
    await page.goto("data:text/html,<title>runta browser</title><p>hello</p>");
    expect(await page.title()).toBe("runta browser");
    expect(await page.evaluate(() => navigator.userAgent)).toMatch(/HeadlessChrome|Chrome/);
  } finally {
    await browser.close();
  }
  await runta.runtimes.delete("chrome");
}, 900_000);
