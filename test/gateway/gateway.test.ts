import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { INestApplication } from '@nestjs/common';
import { type BusClient, BusError, type HandlerContext, type StreamWriter } from '@openagentio/nestjs';
import { GatewayService } from '@openagentio/nestjs-gateway';
import { patternCovers } from '@openagentio/nestjs-gateway/internal/event-hub.js';
import { memoryBuses, until } from '../bridge/helpers.js';
import { gatewayApp } from './gateway-app.js';
import { openSse } from './sse-client.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('HTTP + SSE gateway (docs/protocol.md §5)', () => {
  let env: Awaited<ReturnType<typeof memoryBuses>>;
  let agent: BusClient;
  let app: INestApplication;
  let url: string;
  const aborted: Record<string, number> = {};
  let writerStarts = 0;
  const seen: Record<string, HandlerContext> = {};

  const onAbort = (name: string, ctx: { signal: AbortSignal }) =>
    ctx.signal.addEventListener('abort', () => {
      aborted[name] = (aborted[name] ?? 0) + 1;
    });

  before(async () => {
    env = await memoryBuses('gateway', 'agent');
    agent = env.buses[1];
    agent.handleInvoke('math.add', ({ a, b }: { a: number; b: number }) => a + b);
    agent.handleInvoke('void', () => undefined);
    agent.handleInvoke('whoami', (_p: unknown, ctx: HandlerContext) => {
      seen.whoami = ctx;
      return { ...ctx.session, traceparent: ctx.trace.traceparent, trace_id: ctx.trace.trace_id };
    });
    agent.handleInvoke('reject', () => {
      throw new BusError('INVALID_REQUEST', 'city is required');
    });
    agent.handleInvoke('leaky', () => {
      throw new Error('connect ECONNREFUSED 10.0.0.5:5432 user=admin password=hunter2');
    });
    agent.handleInvoke('slow.invoke', async (_p: unknown, ctx: HandlerContext) => {
      onAbort('slow.invoke', ctx);
      await sleep(5000);
      return 'late';
    });
    agent.handleStream('writer', async (p: { n?: number; delay?: number }, ctx: HandlerContext & { writer: StreamWriter }) => {
      onAbort('writer', ctx);
      writerStarts++;
      const n = p?.n ?? 5;
      for (let i = 0; i < n; i++) {
        if (ctx.signal.aborted) break;
        await ctx.writer.delta(`w${i} `);
        await sleep(p?.delay ?? 5);
      }
      return { words: n };
    });
    agent.handleStream('boom', async (_p: unknown, ctx: HandlerContext & { writer: StreamWriter }) => {
      await ctx.writer.delta('partial');
      await sleep(20);
      throw new BusError('AGENT_TIMEOUT', 'model too slow');
    });
    agent.handleStream('idle', async (_p: unknown, ctx: HandlerContext & { writer: StreamWriter }) => {
      onAbort('idle', ctx);
      await new Promise((r) => ctx.signal.addEventListener('abort', r));
    });
    ({ app, url } = await gatewayApp(env.buses[0], {
      invokeTargets: ['math.add', 'void', 'whoami', 'reject', 'leaky', 'slow.invoke', 'missing.>'],
      streamTargets: ['writer', 'boom', 'idle', 'nostream'],
      publishEvents: ['demo.*'],
      subscribeEvents: ['demo.>'],
      bodyLimit: 1024,
      heartbeatMs: 100,
      retryMs: 50,
      detachGraceMs: 1500,
      cors: { origins: ['http://app.example'] },
    }));
  });
  after(async () => {
    await app.close();
    await env.close();
  });

  const post = (path: string, body?: unknown, headers: Record<string, string> = {}) =>
    fetch(url + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });

  it('invoke: 200 with the reply payload, 204 without one', async () => {
    const r = await post('/v1/agents/math.add/invoke', { a: 2, b: 3 });
    assert.equal(r.status, 200);
    assert.deepEqual(await r.json(), { result: 5 });
    assert.ok(r.headers.get('x-correlation-id'));
    const v = await post('/v1/agents/void/invoke', {});
    assert.equal(v.status, 204);
  });

  it('maps X-Session-Id, X-Conversation-Id, X-Tenant-Id, X-User-Id, X-Channel, traceparent headers', async () => {
    const tp = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const r = await post(
      '/v1/agents/whoami/invoke',
      {},
      {
        'x-session-id': 's1',
        'x-conversation-id': 'c1',
        'x-tenant-id': 'acme',
        'x-user-id': 'ann',
        'x-channel': 'web',
        traceparent: tp,
      },
    );
    const body = (await r.json()) as { result: Record<string, string> };
    assert.deepEqual(body.result, {
      session_id: 's1',
      conversation_id: 'c1',
      tenant_id: 'acme',
      user_id: 'ann',
      channel: 'web',
      traceparent: tp,
      trace_id: '0af7651916cd43dd8448eb211c80319c',
    });
    const r2 = await post('/v1/agents/whoami/invoke', {}, { 'x-traceparent': tp });
    assert.equal(((await r2.json()) as any).result.traceparent, tp);
    const r3 = await post('/v1/agents/whoami/invoke', {}, { 'x-trace-id': '4bf92f3577b34da6a3ce929d0e0e4736' });
    assert.equal(((await r3.json()) as any).result.trace_id, '4bf92f3577b34da6a3ce929d0e0e4736');
  });

  it('errors are ErrorPayload bodies with the §1 status', async () => {
    const check = async (r: Response, status: number, code: string) => {
      assert.equal(r.status, status);
      const b = (await r.json()) as Record<string, unknown>;
      assert.equal(b.code, code);
      assert.equal(typeof b.message, 'string');
      assert.equal(typeof b.retryable, 'boolean');
      return b;
    };
    await check(await post('/v1/agents/secret/invoke', {}), 404, 'NO_HANDLER'); // not exposed
    await check(await post('/v1/agents/missing.thing/invoke', {}), 404, 'NO_HANDLER'); // exposed, no handler
    await check(await post('/v1/agents/reject/invoke', {}), 400, 'INVALID_REQUEST');
    // An unexpected error's text (here a connection string) never reaches the anonymous client; the id is in the log.
    const leaky = await check(await post('/v1/agents/leaky/invoke', {}), 502, 'AGENT_UNAVAILABLE');
    assert.match(String(leaky.message), /^internal error \(error id [0-9a-f-]{36}\)$/);
    assert.doesNotMatch(JSON.stringify(leaky), /hunter2|10\.0\.0\.5|ECONNREFUSED/);
    await check(await post('/v1/agents/math.add/invoke', '{"a":'), 400, 'INVALID_REQUEST'); // bad JSON through the app's body parser
    await check(await post('/v1/agents/math.add/invoke', '{"a":', { 'content-type': 'text/plain' }), 400, 'INVALID_REQUEST'); // read by the gateway
    await check(await post('/v1/agents/math.add/invoke', { pad: 'x'.repeat(2000) }), 413, 'INVALID_REQUEST');
    await check(
      await post('/v1/agents/math.add/invoke', JSON.stringify({ pad: 'x'.repeat(2000) }), { 'content-type': 'text/plain' }),
      413,
      'INVALID_REQUEST',
    );
    await check(await post('/v1/agents/math.add/invoke', { pad: 'x'.repeat(200_000) }), 413, 'INVALID_REQUEST'); // over the app parser's own limit
    await check(await post('/v1/agents/bad..name/invoke', {}), 400, 'INVALID_REQUEST');
    // other paths keep Nest's default error handling
    const other = await post('/elsewhere', '{"a":');
    assert.equal(other.status, 400);
    assert.equal(((await other.json()) as { statusCode: number }).statusCode, 400);
    await check(await post('/v1/agents/writer/stream/x', {}), 404, 'NO_HANDLER').catch(() => undefined); // unknown route: Nest 404
  });

  it('stream: every SSE block carries data (comments aside), as strict parsers need; retry rides on the first frame', async () => {
    const res = await fetch(url + '/v1/agents/writer/stream', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"n":2}',
    });
    assert.equal(res.status, 200);
    const blocks = (await res.text()).split('\n\n').filter((b) => b.length > 0);
    const frames = blocks.filter((b) => !b.split('\n').every((line) => line.startsWith(':')));
    assert.ok(frames.length >= 3, `${frames.length} frames`);
    for (const block of frames) {
      const fields = block.split('\n').map((line) => line.slice(0, line.indexOf(':')));
      assert.ok(fields.includes('data'), `a block without data: ${JSON.stringify(block)}`);
    }
    // Upstream's order: event, id, retry (when set), data.
    assert.deepEqual(
      frames[0].split('\n').map((line) => line.slice(0, line.indexOf(':'))),
      ['event', 'id', 'retry', 'data'],
    );
    assert.match(frames[0], /^retry: 50$/m);
    assert.ok(frames.slice(1).every((b) => !/^retry:/m.test(b)));
  });

  it('stream: one SSE event per frame (event, id, data envelope), no-cache headers and X-Stream-Id', async () => {
    const s = await openSse(url + '/v1/agents/writer/stream', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-session-id': 'sx' },
      body: JSON.stringify({ n: 3 }),
    });
    assert.equal(s.status, 200);
    assert.match(s.headers.get('content-type')!, /^text\/event-stream/);
    assert.equal(s.headers.get('cache-control'), 'no-cache');
    assert.equal(s.headers.get('x-accel-buffering'), 'no');
    assert.ok(s.headers.get('x-stream-id'));
    await s.waitEnd();
    const types = s.events.map((e) => e.event);
    assert.deepEqual(types, [
      'agent.response.started',
      'agent.response.delta',
      'agent.response.delta',
      'agent.response.delta',
      'agent.response.final',
    ]);
    for (const e of s.events) {
      const env = JSON.parse(e.data);
      assert.equal(env.event_id, e.id);
      assert.equal(env.event_type, e.event);
      assert.equal(env.session_id, 'sx');
    }
    assert.deepEqual(JSON.parse(s.events.at(-1)!.data).payload, { result: { words: 3 } });
  });

  it('stream: failure before the first frame is a JSON error; after the headers a final error frame', async () => {
    const none = await openSse(url + '/v1/agents/nostream/stream', { method: 'POST', body: '{}' });
    assert.equal(none.status, 404);
    assert.equal((none.json as any).code, 'NO_HANDLER');
    const s = await openSse(url + '/v1/agents/boom/stream', { method: 'POST', body: '{}' });
    assert.equal(s.status, 200);
    await s.waitEnd();
    const last = s.events.at(-1)!;
    assert.equal(last.event, 'agent.response.error');
    const env = JSON.parse(last.data);
    assert.equal(env.is_final, true);
    assert.equal(env.payload.code, 'AGENT_TIMEOUT');
    assert.ok(s.events.some((e) => JSON.parse(e.data).payload?.delta === 'partial'));
  });

  it('heartbeat comments keep an idle stream open; client disconnect cancels the handler', async () => {
    const before = aborted.idle ?? 0;
    const s = await openSse(url + '/v1/agents/idle/stream', { method: 'POST', body: '{}' });
    await s.waitEvents(1);
    await sleep(350);
    assert.ok(s.comments.filter((c) => c.includes('heartbeat')).length >= 2, `heartbeats: ${s.comments}`);
    s.close();
    await until(() => (aborted.idle ?? 0) > before, 2000, 'idle handler aborted');
  });

  it('disconnect cancels the bus call at any phase: before the first frame and during an invoke', async () => {
    const b1 = aborted.writer ?? 0;
    const ac = new AbortController();
    const p = fetch(url + '/v1/agents/writer/stream', {
      method: 'POST',
      body: JSON.stringify({ n: 100, delay: 20 }),
      signal: ac.signal,
    }).catch(() => undefined);
    await sleep(5); // request sent, before any byte is read
    ac.abort();
    await p;
    await until(() => (aborted.writer ?? 0) > b1, 3000, 'writer aborted');

    const b2 = aborted['slow.invoke'] ?? 0;
    const ac2 = new AbortController();
    const p2 = fetch(url + '/v1/agents/slow.invoke/invoke', { method: 'POST', body: '{}', signal: ac2.signal }).catch(() => undefined);
    await sleep(50);
    ac2.abort();
    await p2;
    await until(() => (aborted['slow.invoke'] ?? 0) > b2, 3000, 'slow.invoke aborted');
  });

  it('detached stream: attach by id, resume with Last-Event-ID without losing frames, DELETE cancels', async () => {
    const r = await post('/v1/agents/writer/streams', { n: 8, delay: 30 });
    assert.equal(r.status, 201);
    const { stream_id, events_url } = (await r.json()) as { stream_id: string; events_url: string };
    assert.equal(events_url, `/v1/streams/${stream_id}`);
    const a = await openSse(url + events_url);
    assert.equal(a.status, 200);
    await a.waitEvents(3);
    a.close();
    const lastId = a.events[2].id!;
    await sleep(100); // frames keep arriving while nobody is attached
    const b = await openSse(url + events_url, { headers: { 'last-event-id': lastId } });
    await b.waitEnd();
    const all = [...a.events.slice(0, 3), ...b.events].map((e) => JSON.parse(e.data));
    assert.deepEqual(
      all.map((e) => e.seq ?? 0),
      Array.from({ length: 10 }, (_, i) => i),
    ); // started + 8 deltas + final
    assert.equal(all.at(-1).event_type, 'agent.response.final');
    // finished and fully seen: 204 tells EventSource to stop reconnecting
    const c = await fetch(url + events_url, { headers: { 'last-event-id': all.at(-1).event_id } });
    assert.equal(c.status, 204);
    // a fresh attach replays everything still buffered
    const d = await openSse(url + events_url);
    await d.waitEnd();
    assert.equal(d.events.length, 10);

    const b3 = aborted.writer ?? 0;
    const r2 = await post('/v1/agents/writer/streams', { n: 100, delay: 20 });
    const id2 = ((await r2.json()) as { stream_id: string }).stream_id;
    const del = await fetch(`${url}/v1/streams/${id2}`, { method: 'DELETE' });
    assert.equal(del.status, 204);
    await until(() => (aborted.writer ?? 0) > b3, 2000, 'writer aborted by DELETE');
    const e = await openSse(`${url}/v1/streams/${id2}`);
    await e.waitEnd();
    assert.equal(e.events.at(-1)!.event, 'agent.response.error');
    assert.equal((await fetch(`${url}/v1/streams/nope`)).status, 404);
  });

  it('GET start (EventSource): announces the stream id and resumes the same stream on reconnect with Last-Event-ID', async () => {
    const starts = writerStarts;
    const q = `/v1/agents/writer/stream?payload=${encodeURIComponent(JSON.stringify({ n: 8, delay: 30 }))}&session_id=g1`;
    const a = await openSse(url + q);
    assert.equal(a.status, 200);
    const id = a.headers.get('x-stream-id');
    assert.ok(id);
    await a.waitEvents(3);
    assert.ok(a.comments.includes(`stream_id ${id}`));
    assert.equal(JSON.parse(a.events[0].data).session_id, 'g1');
    a.close();
    const b = await openSse(url + q, { headers: { 'last-event-id': a.events.at(-1)!.id! } });
    assert.equal(b.headers.get('x-stream-id'), id);
    await b.waitEnd();
    const seqs = [...a.events, ...b.events].map((e) => JSON.parse(e.data).seq ?? 0);
    assert.deepEqual(
      seqs,
      Array.from({ length: 10 }, (_, i) => i),
    );
    assert.equal(writerStarts, starts + 1, 'the reconnect resumed the stream instead of starting another');
    const done = await fetch(url + q, { headers: { 'last-event-id': b.events.at(-1)!.id! } });
    assert.equal(done.status, 204);
    assert.equal((await fetch(url + '/v1/agents/writer/stream?payload=%7Bbad')).status, 400);
    assert.equal(
      (await fetch(url + '/v1/agents/writer/stream', { headers: { 'last-event-id': '00000000-0000-7000-8000-000000000000' } })).status,
      404,
    );
  });

  it('a detached stream nobody attaches to is cancelled after the grace period', async () => {
    const b = aborted.writer ?? 0;
    const r = await post('/v1/agents/writer/streams', { n: 200, delay: 20 });
    assert.equal(r.status, 201);
    await until(() => (aborted.writer ?? 0) > b, 3000, 'grace cancel');
  });

  it('a dropped EventSource-style connection resumes from the replay buffer (server drop)', async () => {
    const r = await post('/v1/agents/writer/streams', { n: 10, delay: 25 });
    const { events_url } = (await r.json()) as { events_url: string };
    const a = await openSse(url + events_url);
    await a.waitEvents(4);
    const gw = app.get(GatewayService);
    assert.ok(gw.dropConnections() >= 1);
    await a.waitEnd();
    const b = await openSse(url + events_url, { headers: { 'last-event-id': a.events.at(-1)!.id! } });
    await b.waitEnd();
    const seqs = [...a.events, ...b.events].map((e) => JSON.parse(e.data).seq ?? 0);
    assert.deepEqual(
      seqs,
      Array.from({ length: 12 }, (_, i) => i),
    );
  });

  it('events: publish → 202; subscribe by pattern and session over SSE; resume after Last-Event-ID', async () => {
    const sub = await openSse(url + '/v1/events?pattern=' + encodeURIComponent('demo.>') + '&session_id=s9');
    assert.equal(sub.status, 200);
    await sleep(20);
    const p1 = await post('/v1/events/demo.note', { n: 1 }, { 'x-session-id': 's9' });
    assert.equal(p1.status, 202);
    assert.ok(((await p1.json()) as { event_id: string }).event_id);
    await post('/v1/events/demo.note', { n: 2 }, { 'x-session-id': 'other' });
    await agent.publish('demo.progress', { n: 3 }, { session_id: 's9' });
    await sub.waitEvents(2);
    assert.deepEqual(
      sub.events.map((e) => [e.event, JSON.parse(e.data).payload.n]),
      [
        ['demo.note', 1],
        ['demo.progress', 3],
      ],
    );
    sub.close();
    await sleep(20);
    await agent.publish('demo.progress', { n: 4 }, { session_id: 's9' });
    await agent.publish('demo.progress', { n: 5 }, { session_id: 's9' });
    const again = await openSse(url + '/v1/events?pattern=demo.%3E&session_id=s9', {
      headers: { 'last-event-id': sub.events.at(-1)!.id! },
    });
    await again.waitEvents(2);
    assert.deepEqual(
      again.events.map((e) => JSON.parse(e.data).payload.n),
      [4, 5],
    );
    again.close();

    assert.equal((await post('/v1/events/orders.created', {})).status, 404);
    assert.equal((await fetch(url + '/v1/events?pattern=orders.>')).status, 404);
    assert.equal((await fetch(url + '/v1/events?pattern=>')).status, 404);
    assert.equal((await fetch(url + '/v1/events')).status, 400);
  });

  it('CORS: preflight and exposed headers for configured origins only', async () => {
    const pre = await fetch(url + '/v1/agents/writer/stream', {
      method: 'OPTIONS',
      headers: {
        origin: 'http://app.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,x-session-id',
      },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), 'http://app.example');
    assert.match(pre.headers.get('access-control-allow-methods')!, /POST/);
    assert.equal(pre.headers.get('access-control-allow-headers'), 'content-type,x-session-id');
    const r = await post('/v1/agents/math.add/invoke', { a: 1, b: 1 }, { origin: 'http://app.example' });
    assert.equal(r.headers.get('access-control-allow-origin'), 'http://app.example');
    assert.match(r.headers.get('access-control-expose-headers')!, /X-Stream-Id/);
    const other = await post('/v1/agents/math.add/invoke', { a: 1, b: 1 }, { origin: 'http://evil.example' });
    assert.equal(other.headers.get('access-control-allow-origin'), null);
  });

  it('patternCovers', () => {
    assert.equal(patternCovers('demo.>', 'demo.>'), true);
    assert.equal(patternCovers('demo.>', 'demo.a.*'), true);
    assert.equal(patternCovers('demo.>', 'demo'), false);
    assert.equal(patternCovers('demo.*', 'demo.x'), true);
    assert.equal(patternCovers('demo.*', 'demo.>'), false);
    assert.equal(patternCovers('demo.*', 'demo.x.y'), false);
    assert.equal(patternCovers('a.b', 'a.*'), false);
  });
});
