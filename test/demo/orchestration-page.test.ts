import 'reflect-metadata';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { openDemoPage, type DemoPage } from './demo-page-fixture.js';

// Browser globals used inside page callbacks (the project compiles without the DOM lib).
declare const document: any;
declare const window: any;

const SCREENSHOT = fileURLToPath(new URL('../../demo-page.png', import.meta.url)); // dist/demo-page.png

interface Step {
  id: string;
  agent: string;
  mode: string;
  status: string;
  started_at: number;
  duration_ms?: number;
  trace_id?: string;
}

/**
 * The demo as `npm start` serves it (AppModule + configureDemoApp, in-memory bus), driven in headless Chromium: each
 * turn's agents (parallel, in sequence, handed off), their timings, the session and the trace id beside the streamed
 * answer; the session's next turn going to the agent it was handed to; Stop leaving a visible trace.
 */
describe('demo page: the agents working together (headless Chromium, the real demo app)', () => {
  let page: Page;

  let demo: DemoPage;

  before(async () => {
    demo = await openDemoPage();
    ({ page } = demo);
  });
  after(async () => {
    await demo?.close();
  });

  it('the page loads whole: nothing it asks for (stylesheet, scripts, favicon) answers an error', async () => {
    // The favicon is asked for once the page has loaded; wait until the browser has settled its requests.
    await page.waitForLoadState('networkidle');
    assert.deepEqual(demo.failedRequests, []);
    assert.equal(await page.locator('link[rel="icon"]').count(), 1);
  });

  const sessionId = () => page.evaluate(() => window.demo.sessionId as string);
  const answer = () =>
    page
      .locator('#answer')
      .textContent()
      .then((t) => t ?? '');
  const turn = (n: number) => page.locator(`.turn[data-turn="${n}"]`);
  const rows = (n: number) =>
    turn(n)
      .locator('li.call')
      .evaluateAll((els) => els.map((e: any) => ({ agent: e.dataset.agent, mode: e.dataset.mode, status: e.dataset.status })));
  /** The timeline steps the triage agent streamed in turn n (its last word on each), from the frames the page got. */
  const steps = (from: number) =>
    page.evaluate((skip) => {
      const last = new Map<string, Step>();
      for (const f of (window.demo.frames as Array<{ payload?: { data?: { step?: Step } } }>).slice(skip)) {
        const s = f.payload?.data?.step;
        if (s) last.set(s.id, s);
      }
      return [...last.values()];
    }, from);
  const send = async (text: string) => {
    const framesBefore = await page.evaluate(() => window.demo.frames.length as number);
    const turns = await page.locator('.turn').count();
    await page.fill('#message', text);
    await page.click('#send');
    await page.waitForSelector(`.turn[data-turn="${turns + 1}"]`);
    return { n: turns + 1, framesBefore };
  };
  const settled = (n: number) =>
    page.waitForFunction((t) => document.querySelector(`.turn[data-turn="${t}"]`)?.dataset.status !== 'running', n, { timeout: 15_000 });

  it('says that the answers are canned text, not a model', async () => {
    const note = (await page.locator('#canned-note').textContent()) ?? '';
    assert.match(note, /canned text/);
    assert.match(note, /No model runs here/);
    assert.ok(await page.isVisible('#canned-note'));
  });

  it('turn 1: triage fans out to three workers side by side, then the writer in sequence; timings, session and trace shown', async () => {
    const { n, framesBefore } = await send('NATS is fast and I love good tools.');
    await settled(n);
    assert.equal(await turn(n).getAttribute('data-status'), 'ok');
    assert.equal(await turn(n).getAttribute('data-served'), 'triage');
    assert.deepEqual(await rows(n), [
      { agent: 'triage', mode: 'entry', status: 'ok' },
      { agent: 'worker.summarize', mode: 'parallel', status: 'ok' },
      { agent: 'worker.keywords', mode: 'parallel', status: 'ok' },
      { agent: 'worker.sentiment', mode: 'parallel', status: 'ok' },
      { agent: 'writer', mode: 'sequence', status: 'ok' },
    ]);
    // In parallel: the three branches' intervals overlap; the writer starts after the slowest of them ended.
    const s = await steps(framesBefore);
    const branches = s.filter((x) => x.mode === 'parallel');
    const latestStart = Math.max(...branches.map((b) => b.started_at));
    const earliestEnd = Math.min(...branches.map((b) => b.started_at + b.duration_ms!));
    assert.ok(latestStart <= earliestEnd, `branches overlap: ${JSON.stringify(branches)}`);
    const writer = s.find((x) => x.agent === 'writer')!;
    assert.ok(writer.started_at >= Math.max(...branches.map((b) => b.started_at + b.duration_ms!)), 'the writer came after the fan-out');
    // Timings are shown for every call.
    const durations = await turn(n).locator('li.call .duration').allTextContents();
    assert.ok(
      durations.every((d) => /^\d+ ms$/.test(d)),
      `durations: ${durations}`,
    );
    // The session and one trace id for the whole turn: every frame carries it, and every worker saw it.
    assert.equal(await turn(n).locator('.session').textContent(), await sessionId());
    const trace = (await turn(n).locator('.trace').textContent()) ?? '';
    assert.match(trace, /^[0-9a-f]{32}$/);
    const traces = await page.evaluate(
      (skip) => [...new Set((window.demo.frames as Array<{ trace_id?: string }>).slice(skip).map((f) => f.trace_id))],
      framesBefore,
    );
    assert.deepEqual(traces, [trace]);
    assert.deepEqual(
      branches.map((b) => b.trace_id),
      [trace, trace, trace],
    );
    assert.equal(await turn(n).locator('.same-trace', { hasText: '✓ trace' }).count(), 3);
    assert.match(await answer(), new RegExp(`in session ${await sessionId()}\\.$`));
  });

  it('turn 2: a billing question is handed to billing in one answer; turns 3 and 4 go straight to billing, which hands back', async () => {
    const two = await send('Why was I charged twice on my invoice?');
    await settled(two.n);
    assert.equal(await turn(two.n).getAttribute('data-status'), 'ok');
    assert.deepEqual(await rows(two.n), [
      { agent: 'triage', mode: 'entry', status: 'ok' },
      { agent: 'worker.summarize', mode: 'parallel', status: 'ok' },
      { agent: 'worker.keywords', mode: 'parallel', status: 'ok' },
      { agent: 'worker.sentiment', mode: 'parallel', status: 'ok' },
      { agent: 'triage → billing', mode: 'handoff', status: 'ok' },
      { agent: 'billing', mode: 'handed', status: 'ok' },
    ]);
    assert.equal(await turn(two.n).locator('li.call[data-mode="handoff"] .call-note').textContent(), 'handoff: billing question');
    assert.match(
      await answer(),
      /^Billing desk here: triage handed you over \(billing question\) with 3 message\(s\) of history\. I see it is about /,
    );

    // The session remembers its active agent: the next turn, addressed to triage, is served by billing.
    const three = await send('And when do I get the refund?');
    await settled(three.n);
    assert.equal(await turn(three.n).getAttribute('data-served'), 'billing');
    assert.match((await turn(three.n).locator('.served').textContent()) ?? '', /active agent since a handoff; addressed to triage/);
    assert.deepEqual(await rows(three.n), [{ agent: 'billing', mode: 'entry', status: 'ok' }]);
    assert.match(await answer(), /^Billing desk again: after the handoff this session stays with billing\./);

    // "thanks": billing hands the conversation back to triage, whose fan-out and writer follow in the same answer.
    const four = await send('thanks, that is all');
    await settled(four.n);
    const r4 = await rows(four.n);
    assert.deepEqual(r4.slice(0, 3), [
      { agent: 'billing', mode: 'entry', status: 'ok' },
      { agent: 'billing → triage', mode: 'handoff', status: 'ok' },
      { agent: 'triage', mode: 'handed', status: 'ok' },
    ]);
    assert.deepEqual(
      r4
        .slice(3)
        .map((r) => `${r.agent}:${r.mode}`)
        .sort(),
      ['worker.keywords:parallel', 'worker.sentiment:parallel', 'worker.summarize:parallel', 'writer:sequence'],
    );
    assert.match(await answer(), /^Glad I could help\. Back to the front desk\. Here is a short answer about "thanks, that is all"/);
  });

  it('Stop leaves a visible trace: the writer says it stopped, and the turn and the writer show it', async () => {
    const { n } = await send('Tell me a long story about agents on a bus.');
    await page.waitForSelector(`.turn[data-turn="${n}"] li.call[data-agent="writer"][data-status="running"]`);
    await page.waitForFunction(() => (document.getElementById('answer')?.textContent ?? '').split(' ').length > 4);
    await page.click('#stop');
    await page.waitForFunction(() => document.getElementById('status')?.dataset.state === 'stopped');
    assert.equal(await turn(n).getAttribute('data-status'), 'stopped');
    assert.equal(await turn(n).locator('li.call[data-agent="writer"]').getAttribute('data-status'), 'stopped');
    await page.waitForSelector('#events li[data-event-type="demo.writer.stopped"]', { timeout: 5000 });
    const stopped = await page.evaluate(() =>
      (window.demo.events as Array<{ event_type: string; session_id: string; payload: { tokens: number } }>).find(
        (e) => e.event_type === 'demo.writer.stopped',
      ),
    );
    assert.equal(stopped!.session_id, await sessionId());
    assert.ok(stopped!.payload.tokens > 0 && stopped!.payload.tokens < 25, `stopped after ${stopped!.payload.tokens} tokens`);
  });

  it('screenshot: the answer, the call tree of every turn with the handoff, the session and trace ids, and the events are on screen', async () => {
    mkdirSync(new URL('../../', import.meta.url), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    const png = readFileSync(SCREENSHOT);
    assert.deepEqual([...png.subarray(1, 4)], [...Buffer.from('PNG')]);
    const { width, height } = { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
    // What the screenshot shows: each element present, visible, with a size, inside the captured page.
    for (const selector of [
      '#canned-note',
      '#answer',
      '#session',
      '.turn[data-turn="1"] .trace',
      '.turn[data-turn="1"] li.call[data-mode="parallel"]',
      '.turn[data-turn="1"] li.call[data-mode="sequence"] .bar',
      '.turn[data-turn="2"] li.call[data-mode="handoff"]',
      '.turn[data-turn="3"] .served',
      '.turn[data-turn="5"] li.call[data-status="stopped"]',
      '#events li[data-event-type="demo.writer.stopped"]',
    ]) {
      const el = page.locator(selector).first();
      assert.ok(await el.isVisible(), `${selector} is visible`);
      const box = await page.evaluate((sel) => {
        const r = document.querySelector(sel).getBoundingClientRect();
        return { x: r.left + window.scrollX, y: r.top + window.scrollY, w: r.width, h: r.height };
      }, selector);
      assert.ok(box.w > 0 && box.h > 0, `${selector} has a size`);
      assert.ok(
        box.x >= 0 && box.y >= 0 && box.x + box.w <= width + 1 && box.y + box.h <= height + 1,
        `${selector} is inside the ${width}×${height} screenshot`,
      );
    }
    assert.equal(await page.locator('.turn').count(), 5);
  });
});
