import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { GatewayService } from '@openagentio/nestjs-gateway';
import type { Page } from 'playwright-core';
import { REPORT_SECTIONS, reportSection, reportTitle } from '../../src/agents/report.agent.js';
import { openDemoPage, type DemoPage } from './demo-page-fixture.js';

// Browser globals used inside page callbacks (the project compiles without the DOM lib).
declare const document: any;
declare const window: any;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Frame {
  event_type: string;
  seq?: number;
  correlation_id?: string;
  payload?: any;
}

/**
 * The page's "Report task" panel on the demo as `npm start` serves it (AppModule, in-memory bus and task store), in
 * headless Chromium: Build report submits `report.build` through the gateway, the panel follows the task's SSE
 * frames to `completed` with the whole report, resumes after dropped connections without gaps or duplicates, and
 * Cancel ends a running task `canceled`.
 */
describe('demo page: the report task panel (headless Chromium, the real demo app)', () => {
  let app: NestExpressApplication;
  let base: string;
  let page: Page;

  let demo: DemoPage;

  before(async () => {
    demo = await openDemoPage();
    ({ app, base, page } = demo);
  });
  after(async () => {
    await demo?.close();
  });

  const text = (sel: string) =>
    page
      .locator(sel)
      .textContent()
      .then((t) => t ?? '');
  const taskState = () => page.locator('#task-state').getAttribute('data-state');
  const frames = () => page.evaluate(() => window.demo.task.frames as Frame[]);

  it('says what the panel shows', async () => {
    assert.ok(await page.isVisible('#report-task'));
    const note = await text('#task-note');
    for (const words of [
      /report\.build/,
      /POST \/v1\/agents\/report\.build\/tasks/,
      /GET \/v1\/tasks\/\{id\}\/events/,
      /Last-Event-ID/,
      /attempt 2/,
    ])
      assert.match(note, words);
    assert.equal(await page.isEnabled('#task-submit'), true);
    assert.equal(await page.isEnabled('#task-cancel'), false, 'nothing to cancel yet');
  });

  it('Build report: the panel follows the task to completed, the report growing chunk by chunk, across dropped connections', async () => {
    await page.click('#task-submit');
    await page.waitForFunction(() => /^[0-9a-f-]{36}$/.test(document.getElementById('task-id')?.textContent ?? ''));
    const id = await text('#task-id');
    assert.equal(await page.evaluate(() => window.demo.task.id), id);
    await page.waitForFunction(() => document.getElementById('task-state')?.dataset.state === 'working');
    assert.equal(await page.isEnabled('#task-cancel'), true, 'a working task can be cancelled');
    assert.equal(await text('#task-attempt'), '1');

    // The artifact grows: several lengths seen while the task runs.
    const lengths = new Set<number>();
    const end = Date.now() + 5000;
    while (lengths.size < 3 && Date.now() < end) {
      lengths.add((await text('#task-artifact')).length);
      await sleep(100);
    }
    assert.ok(lengths.size >= 3, `the report grew chunk by chunk: ${[...lengths]}`);
    assert.match(await text('#task-message'), /^writing section \d of 5: /);

    // Drop every SSE connection mid-task (the task's and the events feed): the EventSource reconnects with
    // Last-Event-ID = the last seq it got, and the gateway resumes after it.
    assert.equal(await taskState(), 'working');
    assert.ok(app.get(GatewayService).dropConnections() >= 2, 'task events and session events were connected');
    await page.waitForFunction(() => window.demo.task.opens >= 2, undefined, { timeout: 5000 });

    await page.waitForFunction(() => document.getElementById('task-state')?.dataset.state === 'completed', undefined, { timeout: 15_000 });
    const got = await frames();
    assert.deepEqual(
      got.map((f) => f.seq),
      got.map((_, i) => i),
      'every frame once, in seq order, none lost at the reconnect',
    );
    assert.ok(got.every((f) => f.correlation_id === id));
    assert.equal(got[0].event_type, 'agent.task.created');
    assert.equal(got.at(-1)!.event_type, 'agent.task.completed');
    assert.equal(got.at(-1)!.payload.state, 'completed');
    assert.equal(await text('#task-seq'), String(got.at(-1)!.seq), 'the seq of the last frame is shown');
    assert.equal(await text('#task-connection'), 'ended');

    // The report as the page shows it is the task's artifact, whole.
    const expected =
      reportTitle('the demo bus', `demo (pid ${process.pid}), attempt 1`) + REPORT_SECTIONS.map(([t, x]) => reportSection(t, x)).join('');
    assert.equal(await text('#task-artifact'), expected);
    assert.equal(await page.locator('#task-artifact').getAttribute('data-complete'), 'true');
    const record = (await (await fetch(`${base}/v1/tasks/${id}`)).json()) as {
      state: string;
      artifacts: Array<{ data: string }>;
      seq: number;
    };
    assert.equal(record.state, 'completed');
    assert.equal(record.artifacts[0].data, expected);
    assert.equal(record.seq, got.at(-1)!.seq);

    // The frame log: one row per frame, created first, completed last.
    const rows = await page.locator('#task-frames li').evaluateAll((els) => els.map((e: any) => `${e.dataset.seq} ${e.dataset.eventType}`));
    assert.equal(rows.length, got.length);
    assert.equal(rows[0], '0 agent.task.created');
    assert.equal(rows.at(-1), `${got.at(-1)!.seq} agent.task.completed`);
    assert.equal(rows.filter((r) => r.endsWith('agent.task.artifact')).length, REPORT_SECTIONS.length + 1);
    assert.equal(await page.isEnabled('#task-cancel'), false, 'an ended task cannot be cancelled');
    assert.equal(await page.isEnabled('#task-submit'), true);
    assert.equal(await page.isVisible('#task-error'), false);
  });

  it('Cancel ends a running report task canceled, and the panel shows it', async () => {
    const before = await text('#task-id');
    await page.click('#task-submit');
    await page.waitForFunction((prev) => {
      const id = document.getElementById('task-id')?.textContent ?? '';
      return id !== prev && document.getElementById('task-state')?.dataset.state === 'working';
    }, before);
    await page.waitForFunction(() => (document.getElementById('task-artifact')?.textContent ?? '').length > 0);
    await page.click('#task-cancel');
    await page.waitForFunction(() => document.getElementById('task-state')?.dataset.state === 'canceled', undefined, { timeout: 5000 });
    const got = await frames();
    assert.equal(got.at(-1)!.event_type, 'agent.task.completed');
    assert.equal(got.at(-1)!.payload.state, 'canceled');
    const artifact = await text('#task-artifact');
    assert.ok(artifact.length > 0 && !artifact.includes('## Tasks'), 'the report stopped part way');
    assert.equal(await page.locator('#task-artifact').getAttribute('data-complete'), 'false');
    assert.equal(await page.isEnabled('#task-cancel'), false);
  });
});
