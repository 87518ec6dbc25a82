import 'reflect-metadata';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { NestFactory } from '@nestjs/core';
import { BusClient } from '@openagentio/nestjs';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule } from '../../src/app.module.js';
import { configureDemoApp } from '../../src/configure-app.js';
import { REPORT_SECTIONS, reportSection, reportTitle } from '../../src/agents/report.agent.js';
import { openSse } from '../gateway/sse-client.js';

/** Boots the demo as src/main.ts does (configureDemoApp: HTTP app + bus microservice) and drives it over HTTP. */
describe('demo application (src/)', () => {
  let app: NestExpressApplication;
  let base: string;

  before(async () => {
    delete process.env.NATS_URL;
    app = await NestFactory.create<NestExpressApplication>(AppModule, { logger: false });
    await configureDemoApp(app);
    await app.listen(0, '127.0.0.1');
    const addr = app.getHttpServer().address() as { port: number };
    base = `http://127.0.0.1:${addr.port}`;
  });

  after(async () => {
    await app.close();
  });

  it("the README's sample answer is what the demo answers (times aside; text cut at … is a prefix)", async () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const block = readme.slice(readme.indexOf('Watch it work:'));
    const request = /-H 'x-session-id: ([^']+)' \\\n\s*-d '([^']+)'/.exec(block);
    assert.ok(request, 'the sample curl');
    const lines = block.split('\n');
    const start = lines.findIndex((l) => l.startsWith('# → '));
    const sampleLines = [lines[start].slice(4)];
    for (let i = start + 1; lines[i].startsWith('#    '); i++) sampleLines.push(lines[i].slice(1).trim());
    const sample = JSON.parse(sampleLines.join('')) as Record<string, unknown>;
    const res = await fetch(`${base}/demo/ask`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-session-id': request[1] },
      body: request[2],
    });
    const actual = (await res.json()) as Record<string, unknown>;
    // Durations vary; everything else must read the same.
    const stable = (v: unknown): unknown =>
      JSON.parse(JSON.stringify(v), (k, x) =>
        k.endsWith('_ms') ? typeof x : typeof x === 'string' && x.includes('…') ? x.slice(0, x.indexOf('…')) : x,
      );
    const cut = (v: unknown, like: unknown): unknown =>
      typeof like === 'string' && typeof v === 'string' && like.length < v.length && v.startsWith(like) ? like : v;
    const s = stable(sample) as Record<string, unknown>;
    const a = stable(actual) as Record<string, unknown>;
    assert.deepEqual(Object.keys(a), Object.keys(s));
    for (const key of Object.keys(s)) assert.deepEqual(cut(a[key], s[key]), s[key], key);
  });

  it('router fans out to three workers in parallel (bus.parallel), streams from the writer, all under one session', async () => {
    const res = await fetch(`${base}/demo/ask`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-session-id': 'sess-demo-1' },
      body: JSON.stringify({ text: 'NATS is fast and I love good tools. More text here.' }),
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as Record<string, unknown>;
    assert.equal(body.session_id, 'sess-demo-1');
    assert.deepEqual(body.sessions_seen_by_agents, ['sess-demo-1', 'sess-demo-1', 'sess-demo-1']);
    assert.equal(body.sentiment, 'positive');
    assert.equal(body.summary, 'NATS is fast and I love good tools.');
    assert.ok((body.keywords as string[]).includes('fast'));
    assert.ok((body.deltas as number) > 5);
    assert.match(body.answer as string, /in session sess-demo-1\.$/);
    const parallel = body.parallel as Array<{ agent: string; status: string; duration_ms: number }>;
    assert.deepEqual(
      parallel.map((b) => [b.agent, b.status]),
      [
        ['worker.summarize', 'ok'],
        ['worker.keywords', 'ok'],
        ['worker.sentiment', 'ok'],
      ],
    );
    // Side by side: the whole fan-out took about as long as its slowest branch (sentiment waits 20 ms), not the sum.
    assert.ok(parallel[2].duration_ms >= 15, `sentiment took ${parallel[2].duration_ms} ms`);
  });

  it('the subscriber saw every step of that session', async () => {
    const res = await fetch(`${base}/demo/events`);
    const events = (await res.json()) as Array<{ event_type: string; session_id?: string; payload: { step: string } }>;
    const mine = events.filter((e) => e.session_id === 'sess-demo-1');
    assert.deepEqual(
      mine.filter((e) => e.event_type === 'demo.step').map((e) => e.payload.step),
      ['received', 'analyzed', 'answered'],
    );
    assert.deepEqual(
      mine.filter((e) => e.event_type.startsWith('demo.writer.')).map((e) => e.event_type),
      ['demo.writer.started', 'demo.writer.finished'],
    );
  });

  it('bad JSON and an oversize body on /demo/* are ErrorPayloads too (400, 413), as on the gateway', async () => {
    const post = (body: string) => fetch(`${base}/demo/ask`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    const bad = await post('{"text": "unterminated');
    assert.equal(bad.status, 400);
    const badBody = (await bad.json()) as Record<string, unknown>;
    assert.equal(badBody.code, 'INVALID_REQUEST');
    assert.match(String(badBody.message), /not valid JSON/);
    assert.equal(badBody.retryable, false);
    assert.equal(badBody.statusCode, undefined, "not Nest's error shape");
    const big = await post(JSON.stringify({ text: 'x'.repeat(200 * 1024) }));
    assert.equal(big.status, 413);
    const bigBody = (await big.json()) as Record<string, unknown>;
    assert.equal(bigBody.code, 'INVALID_REQUEST');
    assert.equal(bigBody.retryable, false);
    // Which limit fired (the application's parser on /demo/*) and how to raise it.
    assert.match(
      String(bigBody.message),
      /of 204811 bytes exceeds the application body parser's limit of 102400 bytes; raise it with app\.useBodyParser/,
    );
    // Paths outside /demo/ and the gateway keep Nest's own handling.
    const other = await fetch(`${base}/no-such-route`);
    assert.equal(other.status, 404);
    assert.equal(((await other.json()) as { statusCode?: number }).statusCode, 404);
  });

  it('a bad request is a 400 with an ErrorPayload naming the field, and the demo keeps serving', async () => {
    const res = await fetch(`${base}/demo/ask`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"text":""}' });
    assert.equal(res.status, 400);
    const err = (await res.json()) as { code: string; message: string; retryable: boolean };
    assert.equal(err.code, 'INVALID_REQUEST');
    assert.match(err.message, /text/);
    const health = (await (await fetch(`${base}/demo/health`)).json()) as { bus: string; targets: string[] };
    assert.equal(health.bus, 'connected');
    const agents = health.targets.filter((t) => !t.startsWith('mcp.'));
    assert.deepEqual(agents.sort(), [
      'billing',
      'report.build', // the report task, also served as a plain invoke (docs/tasks.md)
      'router.ask',
      'triage',
      'worker.keywords',
      'worker.sentiment',
      'worker.summarize',
      'writer',
    ]);
    // The gateway serves its detached streams to other gateway replicas (docs/gateway.md, peerStreams) on
    // gateway.peer.* targets: internal, so the bus serves them but the health listing leaves them out.
    const bus = app.get(BusClient);
    assert.deepEqual(
      bus.targets
        .filter((t) => t.startsWith('gateway.peer.'))
        .map((t) => t.replace(/^gateway\.peer\.[^.]+\./, ''))
        .sort(),
      ['attach', 'cancel', 'found'],
    );
    assert.deepEqual(
      health.targets.filter((t) => t.startsWith('gateway.')),
      [],
    );
    assert.ok(health.targets.includes('mcp.everything.get-sum'), 'bridges.yaml: the MCP server tools are targets');
  });

  it('the report task (memory store): POST /v1/agents/report.build/tasks is 202, its events end completed with the whole report', async () => {
    const res = await fetch(`${base}/v1/agents/report.build/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ topic: 'tests', step_ms: 0 }),
    });
    assert.equal(res.status, 202);
    const task = (await res.json()) as { id: string; state: string };
    assert.equal(res.headers.get('location'), `/v1/tasks/${task.id}`);
    const events = await openSse(`${base}/v1/tasks/${task.id}/events`);
    await events.waitEnd(10_000);
    const frames = events.events.map((e) => ({ id: Number(e.id), ...(JSON.parse(e.data) as { event_type: string; payload: any }) }));
    assert.deepEqual(
      frames.map((f) => f.id),
      frames.map((_, i) => i),
      'every seq once, in order',
    );
    assert.equal(frames.at(-1)!.event_type, 'agent.task.completed');
    assert.equal(frames.at(-1)!.payload.state, 'completed');
    assert.equal(frames.filter((f) => f.event_type === 'agent.task.artifact').length, REPORT_SECTIONS.length + 1);
    const record = (await (await fetch(`${base}/v1/tasks/${task.id}`)).json()) as { state: string; artifacts: Array<{ data: string }> };
    assert.equal(record.state, 'completed');
    assert.equal(
      record.artifacts[0].data,
      reportTitle('tests', 'demo (pid ' + process.pid + '), attempt 1') + REPORT_SECTIONS.map(([t, x]) => reportSection(t, x)).join(''),
    );
  });

  it('a report task is cancelled from DELETE /v1/tasks/{id} while it runs', async () => {
    const res = await fetch(`${base}/v1/agents/report.build/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ step_ms: 2000 }),
    });
    const { id } = (await res.json()) as { id: string };
    const events = await openSse(`${base}/v1/tasks/${id}/events`);
    await events.waitEvents(4, 5000);
    const del = await fetch(`${base}/v1/tasks/${id}`, { method: 'DELETE' });
    assert.equal(del.status, 200);
    await events.waitEnd(5000);
    const last = JSON.parse(events.events.at(-1)!.data) as { event_type: string; payload: { state: string } };
    assert.equal(last.event_type, 'agent.task.completed');
    assert.equal(last.payload.state, 'canceled');
  });
});
