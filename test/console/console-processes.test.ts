import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConsoleCluster, REFRESH_MS, SHOTS } from './console-cluster.js';

// Browser globals used inside page callbacks (the project compiles without the DOM lib).
declare const document: any;
declare const window: any;

describe('console (docs/console.md) against the demo split over three processes on NATS, in Chromium', () => {
  const c = new ConsoleCluster();

  before(() => c.start());
  after(() => c.stop());

  it('topology: the three agents from discovery, and the calls of a turn as edges from the router with their rates', async () => {
    const { page } = c;
    await c.turn('console-topology');
    // The calls of the turn, as the buses of the workers and the writer counted them per caller.
    await page.waitForFunction(
      () =>
        [
          'router>workers:worker.keywords',
          'router>workers:worker.sentiment',
          'router>workers:worker.summarize',
          'router>writer:writer',
        ].every((k) => Number(document.querySelector(`#edges tr[data-edge="${k}"] td:nth-child(6)`)?.textContent) >= 1),
      undefined,
      { timeout: 10_000 },
    );
    const agents = await page.evaluate(() =>
      [...document.querySelectorAll('#topology [data-agent]')].map((g: any) => ({
        agent: g.getAttribute('data-agent'),
        up: g.querySelectorAll('[data-health="up"]').length,
        text: g.textContent,
      })),
    );
    assert.deepEqual(
      agents.map((a) => a.agent),
      ['router', 'workers', 'writer'],
    );
    for (const a of agents) assert.equal(a.up, 1, `${a.agent}: one live instance`);
    assert.match(agents.find((a) => a.agent === 'workers')!.text, /worker\.keywords/);
    assert.match(agents.find((a) => a.agent === 'router')!.text, /v0\.0\.0/);
    const edgeText = await page.textContent('#topology [data-edge="router>workers:worker.keywords"]');
    assert.match(edgeText ?? '', /^worker\.keywords \d+(\.\d+)?\/s$/);
    await page.locator('#topology-view').screenshot({ path: `${SHOTS}topology.png` });
  });

  it('a failing call colours its edge red', async () => {
    const { page } = c;
    // worker.summarize with no text: the handler throws, its bus counts an error against the router's calls.
    const res = await fetch(`${c.base}/v1/agents/worker.summarize/invoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ payload: {} }),
    });
    assert.ok(res.status >= 400, `the call fails (${res.status})`);
    await page.waitForFunction(
      () => document.querySelector('#topology [data-edge="router>workers:worker.summarize"]')?.classList.contains('failing'),
      undefined,
      { timeout: 10_000 },
    );
    assert.ok(await page.$eval('#edges tr[data-edge="router>workers:worker.summarize"]', (tr: any) => tr.classList.contains('failing')));
    assert.equal(
      await page.$eval('#topology [data-edge="router>workers:worker.keywords"]', (g: any) => g.classList.contains('failing')),
      false,
      'the edges that did not fail stay blue',
    );
  });

  it('traffic: calls/s, p50 and p99 of each target the turn called, from the buses’ own counters', async () => {
    const { page } = c;
    for (let i = 0; i < 3; i++) await c.turn(`console-traffic-${i}`);
    await page.waitForFunction(
      () => Number(document.querySelector('#traffic tr[data-target="worker.sentiment"] .calls')?.textContent) >= 3,
      undefined,
      { timeout: 10_000 },
    );
    const row = await page.$eval('#traffic tr[data-target="worker.sentiment"]', (tr: any) => ({
      agent: tr.querySelector('.agent').textContent,
      rate: tr.querySelector('.rate').textContent,
      p50: tr.querySelector('.p50').textContent,
      p99: tr.querySelector('.p99').textContent,
      points: tr.querySelector('.spark.rate polyline').getAttribute('points').split(' ').length,
      p99Points: tr.querySelector('.spark.p99 polyline').getAttribute('points').trim().split(' ').filter(Boolean).length,
    }));
    assert.equal(row.agent, 'workers');
    assert.ok(Number(row.rate) > 0, `calls/s ${row.rate}`);
    // worker.sentiment waits 20 ms: its median is a bucket at or above that.
    const p50 = await page.evaluate(() => window.consoleSnapshot.traffic.find((t: any) => t.target === 'worker.sentiment').p50);
    assert.ok(p50 >= 19 && p50 < 200, `p50 ${p50} ms`);
    assert.match(row.p50, /ms$/);
    assert.match(row.p99, /ms$/);
    assert.ok(row.points >= 2, 'a series over the window');
    assert.ok(row.p99Points >= 1, 'p99 where calls were timed');
    await page.locator('#traffic-view').screenshot({ path: `${SHOTS}traffic.png` });
  });

  it('conversations: a turn found by its session id, its hops across the three processes as a timeline', async () => {
    const { page } = c;
    await c.turn('console-conv');
    await page.fill('#conv-session', 'console-conv');
    // Each process's spans end (and enter its ring) as its part of the turn ends: search until all three are in.
    await page.waitForFunction(
      async () => {
        document.getElementById('conv-search').requestSubmit();
        await new Promise((r) => setTimeout(r, 300));
        const row = document.querySelector('#conversations tbody tr');
        return row && /router, workers, writer/.test(row.textContent);
      },
      undefined,
      { timeout: 15_000, polling: 500 },
    );
    assert.equal(await page.$$eval('#conversations tbody tr', (trs: any[]) => trs.length), 1, 'one turn, one trace');
    await page.click('#conversations tbody tr');
    await page.waitForSelector('#timeline .hop', { timeout: 10_000 });
    const hops = await page.$$eval('#timeline .hop', (rows: any[]) =>
      rows.map((r) => `${r.getAttribute('data-agent')} ${r.getAttribute('data-name')}`),
    );
    for (const hop of [
      'router invoke worker.keywords',
      'workers handle worker.keywords',
      'workers handle worker.sentiment',
      'workers handle worker.summarize',
      'router stream writer',
      'writer handle writer',
    ])
      assert.ok(hops.includes(hop), `${hop} in ${JSON.stringify(hops)}`);
    // In time order: the router's invoke starts before the worker handles it.
    assert.ok(hops.indexOf('router invoke worker.keywords') < hops.indexOf('workers handle worker.keywords'));
    await page.locator('#conversations-view').screenshot({ path: `${SHOTS}conversations.png` });
  });

  it('tasks: the board shows a running report task live and cancelling it from the board ends it', async () => {
    const { page } = c;
    const res = await fetch(`${c.base}/v1/agents/report.build/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-session-id': 'console-task' },
      body: JSON.stringify({ topic: 'console', step_ms: 1500 }),
    });
    assert.equal(res.status, 202);
    const { id } = (await res.json()) as { id: string };
    await page.selectOption('#task-state', 'working');
    const row = `#tasks tr[data-task="${id}"]`;
    await page.waitForSelector(`${row}[data-state="working"]`, { timeout: 15_000 });
    // Progress moves while it runs: more frames than when it was first seen working.
    const frames = async () => Number(((await page.textContent(`${row} .progress`)) ?? '').split(' ')[0]);
    const first = await frames();
    await page.waitForFunction((sel: string) => Number(document.querySelector(sel)?.textContent.split(' ')[0]) > 0, `${row} .progress`, {
      timeout: 10_000,
    });
    assert.ok((await frames()) >= first);
    assert.equal(await page.textContent(`${row} .attempts`), '1');
    await page.locator('#tasks-view').screenshot({ path: `${SHOTS}tasks.png` });
    await page.click(`${row} button.cancel`);
    await page.selectOption('#task-state', 'canceled');
    await page.waitForSelector(`${row}[data-state="canceled"]`, { timeout: 15_000 });
    const rec = (await (await fetch(`${c.base}/v1/tasks/${id}`)).json()) as { state: string };
    assert.equal(rec.state, 'canceled', 'the task store says so too');
    // The run is a step of the session's conversation: a task span from the workers process, ended by the cancel.
    await page.fill('#conv-session', 'console-task');
    await page.fill('#conv-trace', '');
    await page.waitForFunction(
      async () => {
        document.getElementById('conv-search').requestSubmit();
        await new Promise((r) => setTimeout(r, 300));
        return document.querySelectorAll('#conversations tbody tr').length > 0;
      },
      undefined,
      { timeout: 10_000, polling: 500 },
    );
    await page.click('#conversations tbody tr');
    const hop = await page.waitForSelector('#timeline .hop[data-name="task report.build"]', { timeout: 10_000 });
    assert.equal(await hop.getAttribute('data-agent'), 'workers');
    assert.match((await hop.textContent()) ?? '', /cancel/, 'ended by the cancel, shown as its error');
  });

  it('agent management: a drained instance takes no new calls and leaves discovery; resumed, it takes calls again', async () => {
    const { page } = c;
    const extra = await c.startExtraWorkers();
    try {
      const upRows = '#instances tr[data-health="up"]';
      const workerRows = () =>
        page.$$eval(upRows, (trs: any[]) =>
          trs.filter((tr) => tr.querySelector('.agent').textContent === 'workers').map((tr) => tr.getAttribute('data-instance') as string),
        );
      await page.waitForFunction(
        () =>
          [...document.querySelectorAll('#instances tr[data-health="up"] .agent')].filter((td: any) => td.textContent === 'workers')
            .length === 2,
        undefined,
        { timeout: 10_000 },
      );
      const [drained, other] = await workerRows();
      const requestsOf = async (id: string) => Number(await page.textContent(`#instances tr[data-instance="${id}"] .requests`));
      await page.click(`#instances tr[data-instance="${drained}"] button.drain`);
      await page.waitForSelector(`#instances tr[data-instance="${drained}"][data-health="drained"]`, { timeout: 10_000 });
      const atDrain = await requestsOf(drained);
      const otherBefore = await requestsOf(other);
      // Out of discovery: the gateway's directory, which asks discovery, lists one workers instance.
      const listed = (await (await fetch(`${c.base}/v1/agents`)).json()) as { agents: Array<{ agent_id: string; instances: string[] }> };
      assert.deepEqual(listed.agents.find((a) => a.agent_id === 'workers')?.instances, [other]);
      await page.locator('#topology-view').screenshot({ path: `${SHOTS}drained.png` });
      // Every call of these turns goes to the other instance: the drained one has no request subscription.
      for (let i = 0; i < 4; i++) await c.turn(`console-drain-${i}`);
      await page.waitForFunction(
        ([id, n]: [string, number]) => Number(document.querySelector(`#instances tr[data-instance="${id}"] .requests`)?.textContent) >= n,
        [other, otherBefore + 12] as [string, number],
        { timeout: 10_000 },
      );
      // Resumed: it answers STATS again, and its counters show it took none of those calls.
      await page.click(`#instances tr[data-instance="${drained}"] button.resume`);
      await page.waitForSelector(`#instances tr[data-instance="${drained}"][data-health="up"]`, { timeout: 10_000 });
      assert.equal(await requestsOf(drained), atDrain, 'no calls while drained');
      for (let i = 0; i < 6; i++) await c.turn(`console-resume-${i}`);
      await page.waitForFunction(
        ([id, n]: [string, number]) => Number(document.querySelector(`#instances tr[data-instance="${id}"] .requests`)?.textContent) > n,
        [drained, atDrain] as [string, number],
        { timeout: 10_000 },
      );
    } finally {
      // Gone either way, so the next test finds one workers instance.
      if (extra.exitCode === null && extra.signalCode === null) {
        const gone = new Promise((r) => extra.once('exit', r));
        extra.kill('SIGTERM');
        await gone;
      }
    }
    // One workers instance left up (the extra one said goodbye and is stale, then forgotten).
    await page.waitForFunction(() => document.querySelectorAll('#instances tr[data-health="up"]').length === 3, undefined, {
      timeout: 10_000,
    });
  });

  it('a killed worker process fades from the topology within a sweep or two, and a new one shows up', async () => {
    const { page } = c;
    const before = await page.$eval(`#topology [data-agent="workers"] [data-instance][data-health="up"]`, (e: any) =>
      e.getAttribute('data-instance'),
    );
    // (the extra process of the drain test said goodbye: it is stale already, or forgotten)
    const exited = new Promise((r) => c.workers.once('exit', r));
    c.workers.kill('SIGKILL');
    await exited;
    const killedAt = Date.now();
    await page.waitForSelector(`#topology [data-instance="${before}"][data-health="stale"]`, { timeout: 10_000 });
    const took = Date.now() - killedAt;
    assert.ok(took < REFRESH_MS * 4 + 3000, `faded after ${took} ms (a sweep every ${REFRESH_MS} ms)`);
    assert.ok(await page.$eval('#topology [data-agent="workers"]', (g: any) => g.classList.contains('stale')), 'the whole agent fades');
    await c.startWorkers();
    await page.waitForFunction(
      (old: string) =>
        [...document.querySelectorAll('#topology [data-agent="workers"] [data-health="up"]')].some(
          (e: any) => e.getAttribute('data-instance') !== old,
        ),
      before,
      { timeout: 15_000 },
    );
    await page.locator('#topology-view').screenshot({ path: `${SHOTS}topology-faded.png` });
  });
});
