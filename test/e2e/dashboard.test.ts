/**
 * The dashboard end to end: real Chromium (headless, Debian's package) against the real daemon and real runc, logged in
 * through the link the built CLI prints. The browser keeps a profile on disk so the last test can search everything
 * it stored (history, cookies, local storage, cache) for the token.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { launchPersistent, loginLink, screenshot } from "../helpers/browser.js";
import { runtaBin } from "../helpers/cli.js";
import { daemonSuite } from "../helpers/daemon-suite.js";

const d = daemonSuite().daemon;
let profile: string;
let browser: BrowserContext;
let page: Page;

beforeAll(async () => {
  profile = mkdtempSync(join(tmpdir(), "runta-chromium-"));
  browser = await launchPersistent(profile);
  // Keep the page's websockets reachable, so a test can drop one the way a network failure would.
  await browser.addInitScript(() => {
    const sockets: WebSocket[] = [];
    (window as unknown as { sockets: WebSocket[] }).sockets = sockets;
    const Original = window.WebSocket;
    window.WebSocket = class extends Original {
      constructor(url: string | URL, protocols?: string | string[]) {
        super(url, protocols);
        sockets.push(this);
      }
    } as typeof WebSocket;
  });
  page = browser.pages()[0] ?? (await browser.newPage());
});

afterAll(async () => {
  await browser?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});

const row = (name: string) => page.locator(`tr[data-name="${name}"]`);
const terminalText = () => page.locator(".xterm-rows").innerText();

async function run(args: string[]) {
  const r = await runtaBin(args, { env: d.env });
  expect(r.exitCode, String(r.stderr)).toBe(0);
  return String(r.stdout);
}

/** Types into the terminal (xterm's hidden textarea takes the keys) and waits until `pattern` is on screen. */
async function typeAndWait(text: string, pattern: RegExp): Promise<string> {
  await page.keyboard.type(text);
  await expect.poll(terminalText, { timeout: 10_000 }).toMatch(pattern);
  return terminalText();
}

describe("dashboard in Chromium", () => {
  test("logs in through the link from `runta dashboard`; the link works only once", async () => {
    const link = await loginLink(d.env);
    await page.goto(link);
    await page.waitForURL(/\/ui\/$/);
    await expect.poll(() => page.locator("table.grid").count(), { timeout: 10_000 }).toBe(1);
    const cookies = await browser.cookies();
    const session = cookies.find((c) => c.name === "runta_session");
    expect(session).toMatchObject({ httpOnly: true, sameSite: "Strict", path: "/" });
    expect(session!.expires).toBeGreaterThan(Date.now() / 1000);

    const again = await browser.newPage();
    const res = await again.goto(link);
    expect(res?.status()).toBe(401);
    expect(await again.textContent("h1")).toContain("Login link expired");
    await again.close();
  });

  test("a runtime from `runta run` appears, and pausing it shows without a reload", async () => {
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
    await run(["run", "--name", "web1", "--image", "busybox", "--label", "team=ui"]);
    await expect.poll(() => row("web1").getAttribute("data-status"), { timeout: 10_000 }).toBe("running");
    expect(await row("web1").innerText()).toContain("team=ui");
    // Live usage from the runtime's cgroup: memory used of the limit, and CPU % once two polls have been seen.
    await expect.poll(() => row("web1").innerText(), { timeout: 10_000 }).toMatch(/\d+(\.\d)? (B|KiB|MiB) \/ 1 GiB/);
    await expect.poll(() => row("web1").innerText(), { timeout: 10_000 }).toMatch(/\d+\.\d%/);
    // Its disk as `runta ps` shows it (the size it was given), with the bytes in use in front once usage was read.
    const size = (await d.client().runtimes.get("web1")).info.resources.requests.disk_size_gib;
    expect(size).toBeGreaterThan(0);
    await expect.poll(() => row("web1").locator("td.disk").innerText(), { timeout: 10_000 }).toMatch(new RegExp(`^\\d+(\\.\\d)? (B|KiB|MiB) / ${size} GiB$`));

    await run(["pause", "web1"]);
    await expect.poll(() => row("web1").getAttribute("data-status"), { timeout: 10_000 }).toBe("paused");
    await expect.poll(() => row("web1").locator(".status").innerText(), { timeout: 10_000 }).toBe("paused");

    // Filters: by status and by label.
    await page.selectOption('select[aria-label="Status"]', "running");
    await expect.poll(() => row("web1").count(), { timeout: 10_000 }).toBe(0);
    await page.selectOption('select[aria-label="Status"]', "all");
    await page.fill("input.filter", "team=nope");
    await expect.poll(() => row("web1").count(), { timeout: 10_000 }).toBe(0);
    await page.fill("input.filter", "team=ui");
    await expect.poll(() => row("web1").count(), { timeout: 10_000 }).toBe(1);
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
  });

  test("the runtime page resumes it with a button, resizes it, sets its egress policy, with the API's messages", async () => {
    await row("web1").click();
    await page.waitForURL(/#\/rt\//);
    await page.getByRole("button", { name: "Resume" }).click();
    await expect.poll(() => page.locator(".title .status").innerText(), { timeout: 10_000 }).toBe("running");
    expect((await d.client().runtimes.get("web1")).info.status).toBe("running");

    // A port published meanwhile (runta ports add) shows with its URL as a link; a host port as its address.
    const ports = page.getByRole("region", { name: "Published ports" });
    const published = await d.client().runtimes.publish("web1", { port: 8080 });
    await d.client().runtimes.publish("web1", { port: 5432, protocol: "tcp" });
    await expect.poll(() => ports.locator('tr[data-port="8080"] a').getAttribute("href"), { timeout: 10_000 }).toBe(published.url);
    await expect.poll(() => ports.locator('tr[data-port="5432"]').innerText(), { timeout: 10_000 }).toMatch(/tcp:\/\/127\.0\.0\.1:\d+/);
    // An idle timeout set meanwhile (runta update --idle-timeout) shows when it would suspend.
    await d.client().runtimes.update("web1", { idleTimeoutSecs: 600 });
    await expect.poll(() => page.locator("dl.record dd.idle").innerText(), { timeout: 10_000 }).toMatch(/^timeout 600 s · suspends in (9|10)m if nothing happens/);
    await d.client().runtimes.update("web1", { idleTimeoutSecs: null });

    await page.fill('form.resize input[name="memory_mib"]', "300");
    await page.click('form.resize button[type="submit"]');
    await expect.poll(async () => (await d.client().runtimes.get("web1")).info.resources.requests.memory_mib, { timeout: 10_000 }).toBe(300);
    await expect.poll(() => page.locator("dl.record").innerText(), { timeout: 10_000 }).toContain("300 MiB");

    await page.fill('form.resize input[name="memory_mib"]', "5");
    await page.click('form.resize button[type="submit"]');
    await expect.poll(() => page.locator('[role="alert"]').innerText(), { timeout: 10_000 }).toContain("must be between 16 and 262144 MiB");
    // The egress policy, as `runta egress set` sets it, with the API's message for a bad entry.
    const policy = page.getByRole("form", { name: "Egress policy" });
    await policy.locator('select[name="mode"]').selectOption("allowlist");
    await policy.locator('textarea[name="entries"]').fill("example.com\n10.10.10.0/24");
    await policy.getByRole("button", { name: "Save policy" }).click();
    await expect.poll(async () => (await d.client().runtimes.egress("web1")).policy, { timeout: 10_000 }).toMatchObject({ mode: "allowlist", allow: ["example.com", "10.10.10.0/24"] });
    await policy.locator('textarea[name="entries"]').fill("not a host!");
    await policy.getByRole("button", { name: "Save policy" }).click();
    await expect.poll(() => policy.locator('[role="alert"]').innerText(), { timeout: 10_000 }).toContain("must be a hostname");
    await policy.locator('select[name="mode"]').selectOption("open");
    await policy.getByRole("button", { name: "Save policy" }).click();
    await expect.poll(async () => (await d.client().runtimes.egress("web1")).policy.mode, { timeout: 10_000 }).toBe("open");
  });

  test("ports from the runtime page: publish (http, tcp), open the ingress URL, remove, with the API's messages", async () => {
    const ports = page.getByRole("region", { name: "Published ports" });
    const form = ports.getByRole("form", { name: "Publish port" });
    await run(["exec", "web1", "--", "sh", "-c", "mkdir -p /www && echo served-through-ingress > /www/index.html"]);
    await run(["exec", "-d", "web1", "--", "httpd", "-f", "-p", "8090", "-h", "/www"]);

    await form.locator('input[name="port"]').fill("8090");
    await form.getByRole("button", { name: "Publish" }).click();
    await expect.poll(() => ports.locator('[role="status"]').innerText(), { timeout: 10_000 }).toMatch(/^Port 8090 published at http:\/\/8090-/);
    const url = (await d.client().runtimes.ports("web1")).find((p) => p.port === 8090)!.url;
    const link = ports.locator('tr[data-port="8090"] a');
    await expect.poll(() => link.getAttribute("href"), { timeout: 10_000 }).toBe(url);
    // The link opens the runtime's server in a new tab, through the daemon's ingress.
    const [tab] = await Promise.all([browser.waitForEvent("page"), link.click()]);
    await tab.waitForLoadState();
    await expect.poll(() => tab.textContent("body"), { timeout: 15_000 }).toContain("served-through-ingress");
    await tab.close();

    // tcp with a host port the daemon picks; then a port out of range gets the API's message.
    await form.locator('select[name="protocol"]').selectOption("tcp");
    await form.locator('input[name="port"]').fill("6379");
    await form.getByRole("button", { name: "Publish" }).click();
    await expect.poll(() => ports.locator('tr[data-port="6379"]').innerText(), { timeout: 10_000 }).toMatch(/tcp:\/\/127\.0\.0\.1:\d+/);
    await form.locator('input[name="port"]').fill("70000");
    await form.getByRole("button", { name: "Publish" }).click();
    await expect.poll(() => ports.locator('[role="alert"]').innerText(), { timeout: 10_000 }).toContain("must be a port number from 1 to 65535");

    await ports.locator('tr[data-port="6379"]').getByRole("button", { name: "Remove" }).click();
    await expect.poll(() => ports.locator('tr[data-port="6379"]').count(), { timeout: 10_000 }).toBe(0);
    expect((await d.client().runtimes.ports("web1")).map((p) => p.port).sort()).toEqual([5432, 8080, 8090]);
  });

  test("the idle timeout from the runtime page: set, the API's message for a bad value, never", async () => {
    const idle = page.getByRole("form", { name: "Idle timeout" });
    await idle.locator('input[name="idle_timeout_secs"]').fill("900");
    await idle.getByRole("button", { name: "Set" }).click();
    await expect.poll(async () => (await d.client().runtimes.get("web1")).info.idle_timeout_secs, { timeout: 10_000 }).toBe(900);
    await expect.poll(() => page.locator("dl.record dd.idle").innerText(), { timeout: 10_000 }).toMatch(/^timeout 900 s/);

    await idle.locator('input[name="idle_timeout_secs"]').fill("2");
    await idle.getByRole("button", { name: "Set" }).click();
    await expect.poll(() => page.locator('[role="alert"]').first().innerText(), { timeout: 10_000 }).toContain("must be between 5 and 604800 seconds");
    expect((await d.client().runtimes.get("web1")).info.idle_timeout_secs).toBe(900);

    await idle.getByRole("button", { name: "Never" }).click();
    await expect.poll(async () => (await d.client().runtimes.get("web1")).info.idle_timeout_secs, { timeout: 10_000 }).toBeNull();
    await expect.poll(() => page.locator("dl.record dd.idle").innerText(), { timeout: 10_000 }).toBe("—");
  });

  test("a terminal over the exec websocket: echo, resize followed by stty size, reattach after a drop, the exit status, the exec history", async () => {
    await page.fill('.launcher input[name="command"]', "sh");
    await page.click(".launcher button");
    await expect.poll(() => page.locator(".term-status").innerText(), { timeout: 10_000 }).toBe("connected");
    await page.locator(".xterm-host").click();
    await typeAndWait("echo $((6*7))\n", /^42$/m);

    const size = async () => {
      const host = page.locator(".xterm-host");
      return `${await host.getAttribute("data-rows")} ${await host.getAttribute("data-cols")}`;
    };
    const before = await size();
    await typeAndWait("stty size\n", new RegExp(`^${before}$`, "m"));
    await page.setViewportSize({ width: 760, height: 700 });
    await expect.poll(size, { timeout: 10_000 }).not.toBe(before);
    const after = await size();
    await typeAndWait("clear; stty size\n", new RegExp(`^${after}$`, "m"));
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.getByRole("button", { name: "Dark" }).click();
    await expect.poll(() => page.evaluate(() => document.documentElement.dataset.theme), { timeout: 10_000 }).toBe("dark");
    await page.locator(".xterm-host").click();
    await typeAndWait("clear; uname -sm; ls /; echo $((6*7))\n", /^42$/m);
    await page.evaluate(() => window.scrollTo(0, 0));
    await screenshot(page, "dashboard-terminal");

    // A dropped connection: the daemon keeps the terminal session for its grace period, and the page reattaches.
    await page.evaluate(() => (window as unknown as { sockets: WebSocket[] }).sockets.at(-1)!.close());
    await expect.poll(() => page.locator(".term-status").innerText(), { timeout: 10_000 }).toContain("connection closed");
    await page.getByRole("button", { name: "Reattach" }).click();
    await expect.poll(() => page.locator(".term-status").innerText(), { timeout: 10_000 }).toBe("connected");
    await page.locator(".xterm-host").click();
    await typeAndWait("echo again $((6*8))\n", /^again 48$/m);

    await page.keyboard.type("exit 3\n");
    await expect.poll(() => page.locator(".term-status").innerText(), { timeout: 10_000 }).toBe("exited with code 3");
    // The exec history lists it: a terminal exec that exited with 3.
    const exec = page.locator("section.execs tbody tr").filter({ hasText: "terminal" }).first();
    await expect.poll(() => exec.innerText(), { timeout: 10_000 }).toMatch(/exited\s+3/);
  });

  test("checkpoints from the runtime page: create (creating → ready), restore as a new runtime, delete refused while it stands on it", async () => {
    expect(await page.locator("dl.record dd.disk").innerText()).toMatch(/ GiB/);
    const panel = page.getByRole("region", { name: "Checkpoints" });
    const cp = panel.locator('tr[data-name="snap1"]');
    const create = panel.getByRole("form", { name: "Create checkpoint" });
    // Every state the page shows for the new row, in order (the copy of a small runtime is quicker than a poll).
    await page.evaluate(() => {
      const seen: string[] = [];
      (window as unknown as { cpStates: string[] }).cpStates = seen;
      new MutationObserver(() => {
        const state = document.querySelector('section.checkpoints tr[data-name="snap1"]')?.getAttribute("data-state");
        if (state && seen.at(-1) !== state) seen.push(state);
      }).observe(document.body, { subtree: true, childList: true, attributes: true });
    });
    await create.locator('input[name="name"]').fill("snap1");
    await create.locator('input[name="name"]').press("Enter");
    await expect.poll(() => cp.getAttribute("data-state"), { timeout: 30_000 }).toBe("ready");
    expect(await page.evaluate(() => (window as unknown as { cpStates: string[] }).cpStates)).toEqual(["creating", "ready"]);
    const api = (await d.client().checkpoints.list()).find((c) => c.display_name === "snap1");
    expect(api).toMatchObject({ state: "ready", source_runtime: "web1" });
    expect(await cp.innerText()).toMatch(/ready\s+\d+(\.\d)? (B|KiB|MiB)/);
    await expect.poll(() => create.getByRole("button").innerText()).toBe("Create checkpoint");

    await cp.getByRole("button", { name: "Restore…" }).click();
    const restore = panel.getByRole("form", { name: "Restore checkpoint" });
    await restore.locator('input[name="name"]').fill("web1-fork");
    await restore.getByRole("button", { name: "Restore" }).click();
    await expect.poll(() => panel.locator('[role="status"]').innerText(), { timeout: 30_000 }).toContain("as new runtime web1-fork");
    expect((await d.client().runtimes.get("web1-fork")).info.checkpoint).toBeTruthy();
    await expect.poll(() => cp.innerText(), { timeout: 10_000 }).toContain("web1-fork");

    // Deleting it is refused while the fork stands on it: the API's message, and the checkpoint stays.
    await cp.getByRole("button", { name: "Delete…" }).click();
    await page.getByRole("dialog", { name: "Confirm checkpoint delete" }).getByRole("button", { name: "Delete" }).click();
    await expect.poll(() => panel.locator('[role="alert"]').innerText(), { timeout: 10_000 }).toContain("in use by runtime(s) web1-fork");
    expect((await d.client().checkpoints.list()).map((c) => c.display_name)).toContain("snap1");
    const web1 = page.url();

    // The fork is in the fleet.
    await page.goto(web1.replace(/#.*$/, "#/"));
    await page.fill("input.filter", "");
    await page.selectOption('select[aria-label="Status"]', "all");
    await expect.poll(() => row("web1-fork").getAttribute("data-status"), { timeout: 15_000 }).toBe("running");

    // Without the fork, the delete (after confirming) goes through.
    await run(["rm", "-f", "web1-fork"]);
    await page.goto(web1);
    await expect.poll(() => cp.innerText(), { timeout: 10_000 }).not.toContain("web1-fork");
    await cp.getByRole("button", { name: "Delete…" }).click();
    await page.getByRole("dialog", { name: "Confirm checkpoint delete" }).getByRole("button", { name: "Cancel" }).click();
    expect((await d.client().checkpoints.list()).map((c) => c.display_name)).toContain("snap1");
    await cp.getByRole("button", { name: "Delete…" }).click();
    await page.getByRole("dialog", { name: "Confirm checkpoint delete" }).getByRole("button", { name: "Delete" }).click();
    await expect.poll(() => cp.count(), { timeout: 10_000 }).toBe(0);
    expect((await d.client().checkpoints.list()).map((c) => c.display_name)).not.toContain("snap1");
  });

  test("volumes: create (the API's message for a bad size), mount one from the New runtime form, delete refused while mounted", async () => {
    await page.goto(page.url().replace(/#.*$/, "#/volumes"));
    const view = page.getByRole("region", { name: "Volumes" });
    const create = view.getByRole("form", { name: "Create volume" });
    await create.locator('input[name="name"]').fill("vol1");
    await create.locator('input[name="size_mib"]').fill("1");
    await create.getByRole("button", { name: "Create volume" }).click();
    await expect.poll(() => view.locator('[role="alert"]').innerText(), { timeout: 10_000 }).toContain("must be between 16 and");
    await create.locator('input[name="size_mib"]').fill("64");
    await create.getByRole("button", { name: "Create volume" }).click();
    const vol = view.locator('tr[data-name="vol1"]');
    await expect.poll(() => vol.innerText(), { timeout: 15_000 }).toContain("64 MiB");
    expect((await d.client().volumes.get("vol1")).size_bytes).toBe(64 * 1024 * 1024);

    // Mounted from the create form as `run -v vol1:/data` would; a bad line is refused before anything is sent.
    await page.getByRole("link", { name: "New", exact: true }).click();
    await page.fill('input[name="name"]', "with-vol");
    await page.selectOption('select[name="image"]', "busybox");
    await page.fill('textarea[name="volumes"]', "vol1");
    await page.click('button[type="submit"]');
    await expect.poll(() => page.locator('[role="alert"]').innerText(), { timeout: 10_000 }).toContain("volumes, line 1: write NAME:/path or NAME:/path:ro");
    await page.fill('textarea[name="volumes"]', "vol1:/data");
    await page.click('button[type="submit"]');
    await page.waitForURL(/#\/rt\//);
    await expect.poll(() => page.locator(".title .status").innerText(), { timeout: 15_000 }).toBe("running");
    expect((await d.client().runtimes.get("with-vol")).info.volumes).toMatchObject([{ volume: "vol1", path: "/data", read_only: false }]);
    await run(["exec", "with-vol", "--", "sh", "-c", "head -c 1048576 /dev/zero > /data/f && sync"]);

    await page.getByRole("link", { name: "Volumes", exact: true }).click();
    await expect.poll(() => vol.locator("td.in-use").innerText(), { timeout: 10_000 }).toBe("with-vol");
    await expect.poll(() => vol.locator("td").nth(1).innerText(), { timeout: 10_000 }).toMatch(/MiB$/);
    await vol.getByRole("button", { name: "Delete…" }).click();
    await page.getByRole("dialog", { name: "Confirm volume delete" }).getByRole("button", { name: "Delete" }).click();
    await expect.poll(() => view.locator('[role="alert"]').innerText(), { timeout: 10_000 }).toContain("with-vol");
    expect((await d.client().volumes.list()).map((v) => v.name)).toContain("vol1");

    await run(["rm", "-f", "with-vol"]);
    await vol.getByRole("button", { name: "Delete…" }).click();
    await page.getByRole("dialog", { name: "Confirm volume delete" }).getByRole("button", { name: "Delete" }).click();
    await expect.poll(() => vol.count(), { timeout: 10_000 }).toBe(0);
    expect((await d.client().volumes.list()).map((v) => v.name)).not.toContain("vol1");
  });

  test("creating from the page shows the API's message for a bad name, then creates", async () => {
    await page.goto(page.url().replace(/#.*$/, "#/new"));
    await page.fill('input[name="name"]', "-bad");
    await page.click('button[type="submit"]');
    await expect.poll(() => page.locator('[role="alert"]').innerText(), { timeout: 10_000 }).toContain("must start with a letter or digit");
    await expect.poll(() => page.locator(".field-error").first().innerText(), { timeout: 10_000 }).toContain("must start with a letter or digit");
    await page.fill('input[name="name"]', "made-in-ui");
    await page.selectOption('select[name="image"]', "busybox");
    await page.fill('textarea[name="labels"]', "from=ui");
    await page.click('button[type="submit"]');
    await page.waitForURL(/#\/rt\//);
    await expect.poll(() => page.locator(".title .status").innerText(), { timeout: 15_000 }).toBe("running");
    expect((await d.client().runtimes.get("made-in-ui")).info.labels).toEqual({ from: "ui" });
  });

  test("delete asks for confirmation; Cancel keeps the runtime, Delete removes it", async () => {
    await page.getByRole("button", { name: "Delete…" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Cancel" }).click();
    await expect.poll(() => page.getByRole("dialog").isVisible(), { timeout: 10_000 }).toBe(false);
    expect((await d.client().runtimes.get("made-in-ui")).info.status).toBe("running");

    await page.getByRole("button", { name: "Delete…" }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Delete" }).click();
    await page.waitForURL(/#\/$/, { timeout: 15_000 });
    await expect.poll(async () => (await d.client().runtimes.list()).map((r) => r.name), { timeout: 10_000 }).not.toContain("made-in-ui");
    await expect.poll(() => row("made-in-ui").count(), { timeout: 10_000 }).toBe(0);
  });

  test("a page on another origin cannot use the session: cross-site POSTs, form posts and websockets are refused", async () => {
    const evil = await servePage(`<!doctype html><form id="f" method="POST" action="${d.endpoint}/v1/runtimes/web1/stop" enctype="text/plain">
      <input name='{"x":"' value='"}'></form>`);
    try {
      const attacker = await browser.newPage();
      const statuses: number[] = [];
      attacker.on("response", (r) => r.url().startsWith(d.endpoint) && statuses.push(r.status()));
      await attacker.goto(evil.url);
      // Same site (127.0.0.1, another port), so the SameSite=Strict cookie does go along: the Origin check refuses it.
      const results = await attacker.evaluate(async (endpoint) => {
        const out: string[] = [];
        const post = await fetch(`${endpoint}/v1/runtimes/web1/pause`, { method: "POST", credentials: "include", mode: "no-cors" });
        out.push(`no-cors:${post.type}`);
        try {
          const res = await fetch(`${endpoint}/v1/runtimes`, { credentials: "include" });
          out.push(`read:${res.status}`);
        } catch {
          out.push("read:blocked");
        }
        const ws = await new Promise<string>((resolve) => {
          const sock = new WebSocket(`${endpoint.replace("http", "ws")}/v1/runtimes/web1/exec/stream`);
          sock.onopen = () => resolve("open");
          sock.onerror = () => resolve("refused");
        });
        out.push(`ws:${ws}`);
        return out;
      }, d.endpoint);
      expect(results).toEqual(["no-cors:opaque", "read:blocked", "ws:refused"]);
      await Promise.all([attacker.waitForURL(`${d.endpoint}/**`), attacker.evaluate(() => (document.getElementById("f") as HTMLFormElement).submit())]);
      expect(await attacker.textContent("body")).toContain("unauthenticated");
      await attacker.close();
      expect(statuses.length).toBeGreaterThanOrEqual(2);
      expect(statuses.every((s) => s === 401)).toBe(true);
      expect((await d.client().runtimes.get("web1")).info.status).toBe("running");

      // Our own page without the CSRF header is refused too.
      const direct = await page.evaluate(async () => (await fetch("/v1/runtimes/web1/pause", { method: "POST" })).status);
      expect(direct).toBe(401);
      expect((await d.client().runtimes.get("web1")).info.status).toBe("running");
    } finally {
      await evil.close();
    }
  });

  test("the token is nowhere in the page, its storage, the history or anything else in the browser profile", async () => {
    const html = await page.content();
    expect(html).not.toContain(d.token);
    const storage = await page.evaluate(() => JSON.stringify({ local: { ...localStorage }, session: { ...sessionStorage }, cookie: document.cookie }));
    expect(storage).not.toContain(d.token);
    expect(storage).not.toContain("runta_session"); // HttpOnly: scripts never see the session cookie
    for (const c of await browser.cookies()) expect(c.value).not.toContain(d.token);
    await browser.close();
    const files = listFiles(profile);
    expect(files.some((f) => f.endsWith("/History"))).toBe(true);
    const history = readFileSync(files.find((f) => f.endsWith("/History"))!);
    expect(history.includes("/ui/")).toBe(true); // the history is really there and readable
    const hits = files.filter((f) => readFileSync(f).includes(d.token));
    expect(hits).toEqual([]);
    // Also the grep way, in case Chromium compresses something we read as bytes.
    expect(() => execFileSync("grep", ["-rl", "--", d.token, profile])).toThrow();
    browser = await launchPersistent(profile);
  });
});

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st) continue;
    if (st.isDirectory()) out.push(...listFiles(p));
    else if (st.isFile()) out.push(p);
  }
  return out;
}

/** Serves one HTML page on another loopback port: a different origin, but the same site as the daemon. */
async function servePage(html: string): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { "Content-Type": "text/html" });
    res.end(html);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () =>
      new Promise((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}
