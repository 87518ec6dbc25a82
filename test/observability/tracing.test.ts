import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { writeFileSync } from 'node:fs';
import { connect, createInbox, type NatsConnection } from '@nats-io/transport-node';
import { context, createTraceState, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { type BusClient, BusError, type HandlerContext, NatsTransport } from '@openagentio/nestjs';
import { newEventId } from '@openagentio/nestjs/internal/protocol/ids.js';
import { BusCluster, deferred, RecordingLogger, until } from '../support/bus-fixture.js';
import { NatsServer } from '../support/nats-server.js';
import { installTracing, kindName, renderTree, THREE_AGENT_ERROR_TREE } from './otel-test-sdk.js';

const otel = installTracing();

/** A three-agent call over a real nats-server, traced by the in-memory SDK. */
describe('tracing over NATS', () => {
  let server: NatsServer;
  let cluster: BusCluster;
  let gateway: BusClient;
  let a: BusClient;
  let b: BusClient;
  let c: BusClient;

  before(async () => {
    server = await NatsServer.start();
    const made: NatsTransport[] = [];
    cluster = new BusCluster({
      newTransport: () => {
        const t = new NatsTransport({ servers: server.url, reconnectTimeWait: 100, timeout: 2000, logger: new RecordingLogger() });
        made.push(t);
        return t;
      },
      teardown: async () => {
        await Promise.all(made.map((t) => t.close().catch(() => undefined)));
        await server.stop();
      },
    });
    gateway = await cluster.bus('gateway');
    a = await cluster.bus('agent-a');
    b = await cluster.bus('agent-b');
    c = await cluster.bus('agent-c');
  });
  afterEach(() => otel.reset());
  after(async () => {
    cluster.assertAllValid();
    await cluster.close();
  });

  it('gateway → invoke A → stream B → invoke C (throws): one trace, exact tree, kinds, attributes, errors; no span per delta', async () => {
    await c.handleInvoke('obs.c', () => {
      throw new BusError('AGENT_UNAVAILABLE', 'C is out of tokens', { retryable: false });
    }).ready;
    await b.handleStream('obs.b', async function* (payload: { n: number }) {
      for (let i = 0; i < payload.n; i++) yield `chunk-${i}`;
      await b.invoke('obs.c', { from: 'b' });
      return 'unreachable';
    }).ready;
    await a.handleInvoke('obs.a', async () => {
      const parts: string[] = [];
      for await (const frame of a.stream('obs.b', { n: 4 })) {
        if (frame.event_type === 'agent.response.delta') parts.push((frame.payload as { delta: string }).delta);
      }
      return parts;
    }).ready;

    await assert.rejects(
      gateway.invoke('obs.a', { q: 1 }, { session_id: 'sess-obs-1' }),
      (e: BusError) => e.code === 'AGENT_UNAVAILABLE' && /out of tokens/.test(e.message),
    );
    await until(() => otel.finished().length >= 6, 5000, 'six spans');
    await new Promise((r) => setTimeout(r, 50)); // nothing more comes (a span per delta would show up here)
    const spans = otel.finished();
    const tree = renderTree(spans, { attributes: ['acp.error.code', 'acp.stream.frames'] });
    const full = renderTree(spans, {
      ids: true,
      attributes: ['messaging.system', 'messaging.destination.name', 'acp.target', 'acp.session_id', 'acp.error.code', 'acp.stream.frames'],
    });
    if (process.env.TRACE_DUMP) writeFileSync(process.env.TRACE_DUMP, full + '\n');

    // Exactly six spans: the four stream deltas (plus started and error frames) did not create any.
    assert.equal(spans.length, 6, tree);
    assert.equal(tree, THREE_AGENT_ERROR_TREE.join('\n'));

    const byName = (n: string): ReadableSpan => {
      const s = spans.find((x) => x.name === n);
      assert.ok(s, `span ${n}`);
      return s;
    };
    const chain = ['invoke obs.a', 'handle obs.a', 'stream obs.b', 'handle obs.b', 'invoke obs.c', 'handle obs.c'].map(byName);
    const kinds = [SpanKind.CLIENT, SpanKind.SERVER, SpanKind.CLIENT, SpanKind.SERVER, SpanKind.CLIENT, SpanKind.SERVER];
    const traceId = chain[0].spanContext().traceId;
    assert.equal(chain[0].parentSpanContext, undefined, 'the gateway call is the root');
    chain.forEach((s, i) => {
      assert.equal(kindName(s.kind), kindName(kinds[i]), s.name);
      assert.equal(s.spanContext().traceId, traceId, `${s.name}: one trace`);
      if (i > 0)
        assert.equal(s.parentSpanContext?.spanId, chain[i - 1].spanContext().spanId, `${s.name} is a child of ${chain[i - 1].name}`);
      const target = s.name.split(' ')[1];
      assert.equal(s.attributes['messaging.system'], 'nats', s.name);
      assert.equal(s.attributes['messaging.destination.name'], `acp.v1.invoke.${target}`, s.name);
      assert.equal(s.attributes['acp.target'], target, s.name);
      assert.equal(s.attributes['acp.session_id'], 'sess-obs-1', `${s.name}: the session travels`);
      assert.equal(s.status.code, SpanStatusCode.ERROR, s.name);
      assert.match(s.status.message ?? '', /out of tokens/, s.name);
      assert.equal(s.attributes['acp.error.code'], 'AGENT_UNAVAILABLE', s.name);
    });
    // Handler spans continue the remote parent carried in the envelope.
    for (const i of [1, 3, 5]) assert.equal(chain[i].parentSpanContext?.isRemote, true, chain[i].name);
    // started + 4 deltas + error frame, counted on the stream span; one first-delta event, no span per delta.
    const stream = chain[2];
    assert.equal(stream.attributes['acp.stream.frames'], 6);
    assert.deepEqual(
      stream.events.map((e) => e.name),
      ['acp.first_delta'],
    );
    assert.equal(spans.filter((s) => s.name.includes('delta')).length, 0);
  });

  it('a successful call ends its spans unset (not ERROR), without acp.error.code', async () => {
    await b.handleInvoke('obs.ok', (p: { x: number }) => p.x * 2).ready;
    assert.equal(await gateway.invoke('obs.ok', { x: 21 }), 42);
    await until(() => otel.finished().length >= 2);
    const [client, serverSpan] = ['invoke obs.ok', 'handle obs.ok'].map((n) => otel.finished().find((s) => s.name === n)!);
    assert.equal(serverSpan.parentSpanContext?.spanId, client.spanContext().spanId);
    for (const s of [client, serverSpan]) {
      assert.equal(s.status.code, SpanStatusCode.UNSET);
      assert.equal(s.attributes['acp.error.code'], undefined);
    }
  });

  it('an upstream peer that sends only traceparent (raw NATS) has its trace continued by the handler span', async () => {
    const raw: NatsConnection = await connect({ servers: server.url });
    try {
      const seen = deferred<{ traceparent?: string; active: string }>();
      await a.handleInvoke('obs.upstream', (_p, ctx: HandlerContext) => {
        const sc = trace.getSpan(context.active())?.spanContext();
        seen.resolve({ traceparent: ctx.trace.traceparent, active: `${sc?.traceId}/${sc?.spanId}` });
        return 'ok';
      }).ready;
      const upstreamTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
      const upstreamSpan = '00f067aa0ba902b7';
      const inbox = createInbox();
      const reply = deferred<Record<string, unknown>>();
      raw.subscribe(inbox, { callback: (_e, m) => reply.resolve(JSON.parse(m.string()) as Record<string, unknown>) });
      // Upstream (Go/Python) request shape: plain JSON, reply_to only, no acp.* metadata, traceparent only.
      const request = {
        spec_version: 'acp/1.0',
        schema_version: 1,
        event_id: newEventId(),
        event_type: 'agent.message.received',
        frame_type: 'request',
        occurred_at: new Date().toISOString(),
        session_id: 'sess-upstream',
        traceparent: `00-${upstreamTrace}-${upstreamSpan}-01`,
        from: 'py.client',
        to: 'obs.upstream',
        reply_to: inbox,
        payload: {},
      };
      raw.publish('acp.v1.invoke.obs.upstream', JSON.stringify(request));
      const final = await reply.promise;
      assert.equal(final.event_type, 'agent.response.final');
      await until(() => otel.finished().some((s) => s.name === 'handle obs.upstream'));
      const handle = otel.finished().find((s) => s.name === 'handle obs.upstream')!;
      assert.equal(handle.spanContext().traceId, upstreamTrace, 'same trace id as upstream');
      assert.equal(handle.parentSpanContext?.spanId, upstreamSpan, "parent = the upstream caller's span");
      assert.equal(handle.parentSpanContext?.isRemote, true);
      assert.equal(handle.kind, SpanKind.SERVER);
      assert.equal(handle.attributes['acp.session_id'], 'sess-upstream');
      const s = await seen.promise;
      assert.equal(s.active, `${upstreamTrace}/${handle.spanContext().spanId}`, 'the handler runs with its span active');
    } finally {
      await raw.close();
    }
  });

  it('tracestate and baggage travel across hops (envelope metadata), and the handler sees them in its OTel context', async () => {
    const hops: Array<{ agent: string; tracestate?: string; baggage?: string; otelState?: string; otelTier?: string }> = [];
    const record = (agent: string, ctx: HandlerContext) => {
      const active = context.active();
      hops.push({
        agent,
        tracestate: ctx.trace.tracestate,
        baggage: ctx.trace.baggage,
        otelState: trace.getSpan(active)?.spanContext().traceState?.serialize(),
        otelTier: propagation.getBaggage(active)?.getEntry('user.tier')?.value,
      });
    };
    await c.handleInvoke('obs.hop2', (_p, ctx: HandlerContext) => (record('c', ctx), 'done')).ready;
    await b.handleInvoke('obs.hop1', async (_p, ctx: HandlerContext) => (record('b', ctx), b.invoke('obs.hop2'))).ready;

    const parent = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      traceFlags: 1,
      isRemote: true,
      traceState: createTraceState('vendor=abc,other=x1'),
    });
    const withBaggage = propagation.setBaggage(
      parent,
      propagation.createBaggage({ 'user.tier': { value: 'gold' }, region: { value: 'eu west' } }),
    );
    assert.equal(await context.with(withBaggage, () => gateway.invoke('obs.hop1')), 'done');

    assert.equal(hops.length, 2);
    for (const h of hops) {
      assert.equal(h.tracestate, 'vendor=abc,other=x1', `${h.agent}: tracestate in metadata`);
      assert.equal(h.otelState, 'vendor=abc,other=x1', `${h.agent}: tracestate on the active span`);
      assert.match(h.baggage ?? '', /user\.tier=gold/, `${h.agent}: baggage in metadata`);
      assert.match(h.baggage ?? '', /region=eu%20west/, `${h.agent}: baggage values are encoded`);
      assert.equal(h.otelTier, 'gold', `${h.agent}: baggage in the OTel context`);
    }
    await until(() => otel.finished().length >= 4);
    const spans = otel.finished();
    assert.ok(
      spans.every((s) => s.spanContext().traceId === '0af7651916cd43dd8448eb211c80319c'),
      'one trace, continued from the caller context',
    );
  });
});
