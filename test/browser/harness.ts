import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import { serve } from '@hono/node-server';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect } from 'vitest';
import { type AppDeps, createApp } from '../../src/api/app.ts';
import { silentLogger } from '../../src/logger.ts';
import { type TestDatabase, useTestDatabase } from '../helpers/db.ts';

/**
 * Browser tests: a real Chromium (Debian's `chromium` package, which .ci/run installs) driven by
 * playwright-core, against a real server on a real PostgreSQL. Where no browser exists they skip
 * with a message; EVENTIX_REQUIRE_BROWSER=1 (set by CI) makes a missing browser a failure.
 */
export function findChromium(): string | undefined {
  const candidates = [process.env.EVENTIX_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
  for (const c of candidates) if (c && existsSync(c)) return c;
  try {
    return execFileSync('which', ['chromium'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

export const chromiumPath = findChromium();
if (!chromiumPath && process.env.EVENTIX_REQUIRE_BROWSER === '1') {
  throw new Error('EVENTIX_REQUIRE_BROWSER=1 but no Chromium found: apt-get install chromium, or set EVENTIX_CHROMIUM');
}
if (!chromiumPath) console.warn('browser tests skipped: no Chromium found (apt-get install chromium, or set EVENTIX_CHROMIUM)');
/** describe.skipIf(noBrowser)(…) */
export const noBrowser = !chromiumPath;

export const SCREENSHOT_DIR = path.resolve('test-results/screenshots');

export interface UiServer {
  /** http://127.0.0.1:<port> */
  url: string;
  db: () => TestDatabase;
  browser: () => Browser;
  /** A fresh browser context (its own cookies) with a page, at 1280×800 unless told otherwise. */
  newPage(opts?: { width?: number; height?: number; colorScheme?: 'light' | 'dark' }): Promise<Page>;
}

/**
 * A real HTTP server (node-server, an ephemeral port) serving createApp on this file's own test
 * database, and one Chromium for the file. `deps` adds to the app's dependencies (API tokens…).
 */
export function useUiServer(deps: (db: TestDatabase) => Partial<AppDeps> = () => ({})): UiServer {
  const db = useTestDatabase();
  let server: ReturnType<typeof serve> | undefined;
  let browser: Browser | undefined;
  const contexts: BrowserContext[] = [];
  const handle: UiServer = {
    url: '',
    db,
    browser: () => {
      if (!browser) throw new Error('browser not started');
      return browser;
    },
    async newPage(opts = {}) {
      const context = await handle.browser().newContext({
        viewport: { width: opts.width ?? 1280, height: opts.height ?? 800 },
        colorScheme: opts.colorScheme ?? 'light',
        baseURL: handle.url,
      });
      contexts.push(context);
      const page = await context.newPage();
      page.setDefaultTimeout(15_000);
      return page;
    },
  };
  beforeAll(async () => {
    if (noBrowser) return;
    const app = createApp({ database: db(), logger: silentLogger, ...deps(db()) });
    await new Promise<void>((resolve) => {
      server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve());
    });
    const { port } = server!.address() as AddressInfo;
    handle.url = `http://127.0.0.1:${port}`;
    browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  });
  afterAll(async () => {
    for (const c of contexts) await c.close().catch(() => undefined);
    await browser?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });
  return handle;
}

/**
 * Run axe-core on the page as it stands and fail on any serious or critical violation, naming
 * each rule and the elements it found; then save a full-page screenshot under
 * test-results/screenshots (git-ignored) for people to look at.
 */
export async function checkPage(page: Page, name: string): Promise<void> {
  const results = await new AxeBuilder({ page }).analyze();
  const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const report = bad.map((v) => `${v.impact} ${v.id}: ${v.help}\n  ${v.nodes.map((n) => n.target.join(' ')).join('\n  ')}`);
  expect(report, `axe violations on ${name}`).toEqual([]);
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}
