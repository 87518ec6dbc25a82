import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { HandlerContext, StreamWriter } from '@openagentio/nestjs';
import { GatewayService } from '@openagentio/nestjs-gateway';
import { memoryBuses, until } from '../bridge/helpers.js';
import { gatewayApp } from './gateway-app.js';

// Browser globals used inside page callbacks (the project compiles without the DOM lib).
declare const document: any;
declare const window: any;

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const PUBLIC_DIR = fileURLToPath(new URL('../../../src/public', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The words the test agent streams for a message: "<message> 0 1 2 …". */
const words = (text: string, n: number) => Array.from({ length: n }, (_, i) => `${i === 0 ? text : i} `);

describe('demo page in headless Chromium (src/public)', () => {
  let env: Awaited<ReturnType<typeof memoryBuses>>;
  let app: INestApplication;
  let url: string;
  let browser: Browser;
  let page: Page;
  const aborted: string[] = [];
  const finished: string[] = [];

  before(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `Chromium not found at ${CHROMIUM}. Install it with: apt-get update && apt-get install -y chromium (or set CHROMIUM_PATH)`,
      );
    }
    env = await memoryBuses('demo-gateway', 'demo-agent');
    const agent = env.buses[1];
    // The demo's `writer`: streams one word every `delay` ms, publishing demo.* events in the caller's session.
    agent.handleStream('writer', async (p: { topic: string; text?: string }, ctx: HandlerContext & { writer: StreamWriter }) => {
      const topic = p.topic;
      const n = topic.startsWith('long') ? 200 : 24;
      ctx.signal.addEventListener('abort', () => aborted.push(topic));
      await agent.publish('demo.started', { topic });
      for (const w of words(topic, n)) {
        if (ctx.signal.aborted) return;
        await ctx.writer.delta(w);
        await sleep(40);
      }
      finished.push(topic);
      await agent.publish('demo.finished', { topic, words: n });
      return { words: n };
    });
    ({ app, url } = await gatewayApp(
      env.buses[0],
      { streamTargets: ['writer'], subscribeEvents: ['demo.>'], retryMs: 200, heartbeatMs: 5000, detachGraceMs: 5000 },
      { configure: (a) => (a as NestExpressApplication).useStaticAssets(PUBLIC_DIR) },
    ));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    page = await browser.newPage();
    // The page talks to `triage` by default (the demo's front desk); here, to this test's `writer`.
    await page.goto(url + '/index.html?target=writer');
    await page.waitForFunction(() => document.getElementById('events-state')?.textContent === 'live');
  });
  after(async () => {
    await browser?.close();
    await app?.close();
    await env?.close();
  });

  const answerText = () =>
    page
      .locator('#answer')
      .textContent()
      .then((t) => t ?? '');
  const status = () => page.locator('#status').getAttribute('data-state');

  it('streams the answer token by token, survives a dropped connection without losing frames, and shows session events', async () => {
    await page.fill('#message', 'hello');
    await page.click('#send');
    // incremental: the visible answer grows through several lengths before the end
    const lengths = new Set<number>();
    const end = Date.now() + 3000;
    while (lengths.size < 4 && Date.now() < end) {
      lengths.add((await answerText()).length);
      await sleep(30);
    }
    assert.ok(lengths.size >= 4, `answer grew incrementally: ${[...lengths]}`);
    assert.notEqual(await status(), 'done');
    // drop every SSE connection mid-answer: the page's EventSources reconnect with Last-Event-ID
    await page.waitForFunction(() => (document.getElementById('answer')?.textContent ?? '').split(' ').length > 6);
    const gw = app.get(GatewayService);
    assert.ok(gw.dropConnections() >= 2, 'answer stream and event feed were connected');
    await page.waitForFunction(() => document.getElementById('status')?.dataset.state === 'done', undefined, { timeout: 10_000 });
    assert.equal(await answerText(), words('hello', 24).join(''));
    const opens = await page.evaluate(() => (window as any).demo.opens as number);
    assert.ok(opens >= 2, `answer EventSource reconnected (opens=${opens})`);
    const seqs = await page.evaluate(() => ((window as any).demo.frames as Array<{ seq?: number }>).map((f) => f.seq ?? 0));
    assert.deepEqual(
      seqs,
      Array.from({ length: 26 }, (_, i) => i),
    ); // started, 24 deltas, final: none lost, none twice
    // session events (demo.started before the drop, demo.finished after the reconnect)
    await page.waitForSelector('#events li[data-event-type="demo.finished"]', { timeout: 5000 });
    const types = await page.locator('#events li').evaluateAll((els) => els.map((e: any) => e.dataset.eventType));
    assert.ok(types.includes('demo.started') && types.includes('demo.finished'), `events: ${types}`);
    const sessions = await page.evaluate(() => ((window as any).demo.events as Array<{ session_id: string }>).map((e) => e.session_id));
    const sid = await page.evaluate(() => (window as any).demo.sessionId);
    assert.ok(sessions.every((s) => s === sid));
  });

  it('the stop button aborts the agent handler', async () => {
    await page.fill('#message', 'long story');
    await page.click('#send');
    await page.waitForFunction(() => (document.getElementById('answer')?.textContent ?? '').split(' ').length > 4);
    assert.equal(await page.isEnabled('#stop'), true);
    await page.click('#stop');
    await until(() => aborted.includes('long story'), 3000, 'writer handler aborted');
    await page.waitForFunction(() => document.getElementById('status')?.dataset.state === 'stopped');
    const len = (await answerText()).length;
    await sleep(200);
    assert.equal((await answerText()).length, len, 'no more tokens after stop');
    assert.equal(finished.includes('long story'), false);
    assert.equal(await page.isEnabled('#send'), true);
  });
});
