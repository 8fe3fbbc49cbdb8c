/**
 * Headless Chromium for the dashboard's browser tests: Debian's `chromium` package (bin/setup.sh --test installs it)
 * driven by playwright-core, which downloads nothing. `--no-sandbox` because the tests run as root; no /dev/shm use
 * because a small /dev/shm (containers, CI) crashes Chromium's renderers.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type LaunchOptions, type Page } from "playwright-core";
import { runtaBin } from "./cli.js";

export const CHROMIUM = "/usr/bin/chromium";

const LAUNCH: LaunchOptions = { executablePath: CHROMIUM, headless: true, args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] };

/** Launches Chromium (throws with the install line when it is missing). */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install it with 'apt-get install chromium' (bin/setup.sh --test does)`);
  return chromium.launch(LAUNCH);
}

/** A browser with a profile on disk (history, cookies, storage), so a test can search what the browser kept. */
export async function launchPersistent(userDataDir: string, viewport = { width: 1280, height: 800 }): Promise<BrowserContext> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install it with 'apt-get install chromium' (bin/setup.sh --test does)`);
  return chromium.launchPersistentContext(userDataDir, { ...LAUNCH, viewport });
}

/** The login link `runta dashboard --no-open` prints for a daemon (through the built CLI). */
export async function loginLink(env: Record<string, string>): Promise<string> {
  const r = await runtaBin(["dashboard", "--no-open"], { env });
  if (r.exitCode !== 0) throw new Error(`runta dashboard failed (${r.exitCode}): ${String(r.stderr)}`);
  const m = /(http:\/\/\S+\/ui\/login\?code=\S+)/.exec(String(r.stdout));
  if (!m) throw new Error(`no login link in: ${String(r.stdout)}`);
  return m[1]!;
}

/** With RUNTA_SCREENSHOTS=<dir>, saves a PNG of the page there (how the README's pictures in docs/ are made). */
export async function screenshot(page: Page, name: string): Promise<void> {
  const dir = process.env.RUNTA_SCREENSHOTS;
  if (dir) await page.screenshot({ path: join(dir, `${name}.png`) });
}
