import { existsSync } from 'node:fs';
import path from 'node:path';

import { type Browser, type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';

/**
 * What the page functions here and in the console tests use of the browser's globals: the tests
 * compile without the DOM library. Page functions are sent to the browser as source, so they name
 * `globalThis` themselves instead of calling a helper.
 */
export interface BrowserGlobals {
  document: {
    activeElement: unknown;
    documentElement: { scrollWidth: number; clientWidth: number };
    addEventListener(type: 'securitypolicyviolation', listener: (event: { violatedDirective: string; blockedURI: string }) => void): void;
  };
  location: { hash: string };
  console: { error(message: string): void };
  marker?: string;
}

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM_PATH);
export const consoleBuilt = existsSync(path.join(process.cwd(), 'dist', 'console', 'index.html'));

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: ['--no-sandbox'] });
}

/** 404s and 405s the console expects and shows as "not available yet": endpoints other work adds to the service. */
const OPTIONAL_ENDPOINTS = [/\/api\/v1\/audit\/head$/, /\/api\/v1\/incidents\/[^/]+\/decision$/];

export interface ConsolePage {
  page: Page;
  context: BrowserContext;
  /** Console errors, uncaught exceptions and Content-Security-Policy violations seen so far. */
  problems: string[];
  /** Failed API answers the test provokes on purpose (e.g. 409): not counted as problems. */
  expectFailedRequests(status: number): void;
  close(): Promise<void>;
}

export async function openConsole(
  browser: Browser,
  baseUrl: string,
  token: string,
  route = '/',
  viewport = { width: 1280, height: 900 },
  expectedFailures: number[] = [],
): Promise<ConsolePage> {
  const context = await browser.newContext({ viewport, baseURL: baseUrl });
  const page = await context.newPage();
  const problems: string[] = [];
  const expected = new Set<number>(expectedFailures);
  await page.addInitScript(() => {
    const browser = globalThis as unknown as BrowserGlobals;
    browser.document.addEventListener('securitypolicyviolation', (event) =>
      browser.console.error(`CSP violation: ${event.violatedDirective} ${event.blockedURI}`),
    );
  });
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() !== 'error' && message.type() !== 'warning') return;
    const url = message.location().url;
    const status = /status of (\d{3})/.exec(message.text());
    if (
      status &&
      (expected.has(Number(status[1])) ||
        ((status[1] === '404' || status[1] === '405') && OPTIONAL_ENDPOINTS.some((pattern) => pattern.test(url))))
    )
      return;
    problems.push(`console ${message.type()}: ${message.text()} (${url})`);
  });
  await page.goto(`/console/#token=${token}`);
  await page.waitForFunction(() => !(globalThis as unknown as BrowserGlobals).location.hash.includes('token='));
  if (route !== '/') await page.evaluate((hash) => ((globalThis as unknown as BrowserGlobals).location.hash = hash), route);
  return {
    page,
    context,
    problems,
    expectFailedRequests: (status) => expected.add(status),
    close: () => context.close(),
  };
}

/** Presses Tab until `target` has the focus; fails when it is not reachable by keyboard. */
export async function tabTo(page: Page, target: Locator, maxPresses = 80): Promise<void> {
  for (let i = 0; i < maxPresses; i += 1) {
    if (await target.evaluate((element) => element === (globalThis as unknown as BrowserGlobals).document.activeElement)) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`Not reachable with Tab in ${maxPresses} presses: ${String(target)}`);
}
