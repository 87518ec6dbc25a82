import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { openDemoPage, type DemoPage } from '../demo/demo-page-fixture.js';

// Browser globals used inside page callbacks (the project compiles without the DOM lib).
declare const document: any;

describe('console on the memory bus: the demo as `npm start` runs it, one process', () => {
  let demo: DemoPage;

  before(async () => {
    demo = await openDemoPage();
    await demo.page.goto(`${demo.base}/console`);
    await demo.page.waitForFunction(() => document.getElementById('feed-state')?.textContent === 'live', undefined, { timeout: 10_000 });
  });
  after(() => demo?.close());

  it('shows the one agent from the memory registry and the traffic of a turn; without a span ring, no conversation and no error', async () => {
    const { page, base } = demo;
    assert.equal(await page.getAttribute('#topology [data-agent="demo"] [data-instance]', 'data-health'), 'up');
    const res = await fetch(`${base}/demo/ask`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-session-id': 'console-memory' },
      body: JSON.stringify({ text: 'memory is fast' }),
    });
    assert.equal(res.status, 200);
    // The writer is a stream (message path, so timed and counted with its caller): in the table within a sweep.
    await page.waitForFunction(
      () => Number(document.querySelector('#traffic tr[data-target="writer"] .calls')?.textContent) >= 1,
      undefined,
      {
        timeout: 10_000,
      },
    );
    await page.waitForFunction(
      () => Number(document.querySelector('#traffic tr[data-target="worker.keywords"] .calls')?.textContent) >= 1,
      undefined,
      {
        timeout: 10_000,
      },
    );
    assert.ok(await page.$('#edges tr[data-edge="demo>demo:writer"]'), 'the stream to the writer is an edge of the agent to itself');
    // No SpanRing in this process (telemetry is not started by the fixture): the search says so, and fails nothing.
    await page.fill('#conv-session', 'console-memory');
    await page.click('#conv-search button');
    await page.waitForFunction(() => /no conversation found/.test(document.getElementById('conv-note').textContent), undefined, {
      timeout: 10_000,
    });
    // (the demo page's own event feed, left when the fixture navigated here, is not the console's)
    assert.deepEqual(
      demo.failedRequests.filter((r) => r.includes('/console')),
      [],
      'every request of the console page answered',
    );
  });
});
