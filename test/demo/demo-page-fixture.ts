import { existsSync } from 'node:fs';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { chromium, type Browser, type Page } from 'playwright-core';
import { AppModule } from '../../src/app.module.js';
import { configureDemoApp } from '../../src/configure-app.js';

// Browser globals used inside page callbacks (the project compiles without the DOM lib).
declare const document: any;

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export interface DemoPage {
  app: NestExpressApplication;
  base: string;
  browser: Browser;
  page: Page;
  /** Responses of 400 and above, and requests that failed, since the page was opened: `404 /favicon.ico`. */
  failedRequests: string[];
  close(): Promise<void>;
}

/**
 * The demo as `npm start` serves it (AppModule + configureDemoApp on the in-memory bus and task store) and its page
 * open in headless Chromium, once the page's event feed is live.
 */
export async function openDemoPage(): Promise<DemoPage> {
  if (!existsSync(CHROMIUM))
    throw new Error(`Chromium not found at ${CHROMIUM}. Install it with: apt-get install -y chromium (or set CHROMIUM_PATH)`);
  delete process.env.NATS_URL;
  delete process.env.TASKS_STORE;
  const app = await NestFactory.create<NestExpressApplication>(AppModule, { logger: false });
  await configureDemoApp(app);
  await app.listen(0, '127.0.0.1');
  const base = `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-sync'],
  });
  const page = await browser.newPage({ viewport: { width: 1500, height: 1100 } });
  // What the page asked for and did not get (the browser console's red lines: a missing favicon, a stale script).
  const failedRequests: string[] = [];
  page.on('response', (r) => {
    if (r.status() >= 400) failedRequests.push(`${r.status()} ${new URL(r.url()).pathname}`);
  });
  page.on('requestfailed', (r) => failedRequests.push(`failed ${new URL(r.url()).pathname}`));
  await page.goto(`${base}/`);
  await page.waitForFunction(() => document.getElementById('events-state')?.textContent === 'live');
  return {
    app,
    base,
    browser,
    page,
    failedRequests,
    close: async () => {
      await browser.close();
      await app.close();
    },
  };
}
