/**
 * Headless Chromium for the web page tests: Debian's `chromium` package (never a downloaded
 * browser), driven by playwright-core. A missing browser fails the tests with how to install it.
 * Every page is watched: each request it makes must go to the gateway's own origin, and nothing
 * may be written to the console as an error.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

/** Override with UNIFILE_CHROMIUM=/path/to/chromium. */
export const CHROMIUM = process.env.UNIFILE_CHROMIUM ?? '/usr/bin/chromium';

/** Screenshots of the main views (gitignored; kept as test artifacts). */
export const ARTIFACTS = join(process.cwd(), 'test-artifacts', 'ui');

export async function launchChromium(executablePath = CHROMIUM): Promise<Browser> {
  if (!existsSync(executablePath)) {
    throw new Error(
      `The web page tests need Chromium at ${executablePath} and it is not there. ` +
        'Install Debian\'s package: `sudo apt-get install -y chromium` (.ci/run does this as root), ' +
        'or point UNIFILE_CHROMIUM at a Chromium binary. Never download a browser for these tests.',
    );
  }
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'] });
}

export interface WatchedPage {
  context: BrowserContext;
  page: Page;
  /** Every URL the page asked for. */
  requests: string[];
  /** Console errors and uncaught exceptions. */
  errors: string[];
  /** Asserts the watch held (only `allowedErrors` matched console errors), then closes the context. */
  close(allowedErrors?: RegExp): Promise<void>;
}

export async function openPage(browser: Browser, origin: string, viewport = { width: 1100, height: 800 }): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport, acceptDownloads: true });
  context.setDefaultTimeout(15_000);
  const requests: string[] = [];
  const errors: string[] = [];
  const foreign: string[] = [];
  // Anything not for the gateway's origin is recorded and refused before it leaves the browser.
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (new URL(url).origin === origin) return route.continue();
    foreign.push(url);
    return route.abort();
  });
  const page = await context.newPage();
  page.on('request', (request) => requests.push(request.url()));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`));
  // A script-made alert()/confirm() would be an injected one: the page itself never opens them.
  page.on('dialog', (dialog) => {
    errors.push(`unexpected ${dialog.type()} dialog: ${dialog.message()}`);
    void dialog.dismiss();
  });
  return {
    context,
    page,
    requests,
    errors,
    close: async (allowedErrors?: RegExp) => {
      await context.close();
      const outside = requests.filter((url) => !url.startsWith('blob:') && new URL(url).origin !== origin);
      if (foreign.length > 0 || outside.length > 0) throw new Error(`the page made requests outside ${origin}: ${[...foreign, ...outside].join(', ')}`);
      const unexpected = errors.filter((text) => !allowedErrors?.test(text));
      if (unexpected.length > 0) throw new Error(`console errors: ${unexpected.join(' | ')}`);
    },
  };
}
