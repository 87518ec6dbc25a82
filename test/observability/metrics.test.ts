import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DataPointType, MetricReader, type CollectionResult, type Histogram } from '@opentelemetry/sdk-metrics';
import { BusClient, BusError, MemoryBroker, MemoryTransport, MetricNames } from '@openagentio/nestjs';
import { createEvent } from '@openagentio/nestjs/internal/protocol/envelope-factory.js';
import { AppModule } from '../../src/app.module.js';
import { configureDemoApp } from '../../src/configure-app.js';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { startTelemetry } from '../../src/observability/telemetry.js';
import { deferred, RecordingLogger, until } from '../support/bus-fixture.js';

/** A pull reader for tests: `collect()` on demand. */
class TestReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

// The demo bootstrap, started once for the whole file before any BusClient exists (the metrics API has no proxy):
// no OTEL_* variables, so no traces and no push exporters, only the Prometheus reader and this test reader.
for (const k of Object.keys(process.env)) if (k.startsWith('OTEL_')) delete process.env[k];
const reader = new TestReader();
// Without the console's span ring (CONSOLE_SPANS=0): a live tracer would keep in-process invokes off the direct path.
process.env.CONSOLE_SPANS = '0';
const telemetry = await startTelemetry({ metricReaders: [reader] });

type Attrs = Record<string, string>;

function points(result: CollectionResult, name: string): Array<{ attributes: Attrs; value: unknown; type: DataPointType }> {
  const out: Array<{ attributes: Attrs; value: unknown; type: DataPointType }> = [];
  for (const sm of result.resourceMetrics.scopeMetrics) {
    for (const m of sm.metrics) {
      if (m.descriptor.name !== name) continue;
      for (const dp of m.dataPoints) out.push({ attributes: dp.attributes as Attrs, value: dp.value, type: m.dataPointType });
    }
  }
  return out;
}

function value(result: CollectionResult, name: string, match: Attrs): number | undefined {
  const hit = points(result, name).filter((p) => Object.entries(match).every(([k, v]) => p.attributes[k] === v));
  if (hit.length === 0) return undefined;
  return hit.reduce((n, p) => n + (typeof p.value === 'number' ? p.value : (p.value as Histogram).count), 0);
}

function histogram(result: CollectionResult, name: string, match: Attrs): Histogram | undefined {
  const hit = points(result, name).find((p) => Object.entries(match).every(([k, v]) => p.attributes[k] === v));
  return hit?.value as Histogram | undefined;
}

describe('bus metrics (OpenTelemetry metrics API)', () => {
  let caller: BusClient;
  let server: BusClient;

  before(async () => {
    const broker = new MemoryBroker();
    caller = new BusClient(new MemoryTransport({ broker, validate: true }), { agentId: 'm-caller', logger: new RecordingLogger() });
    server = new BusClient(new MemoryTransport({ broker, validate: true }), { agentId: 'm-server', logger: new RecordingLogger() });
    await caller.connect();
    await server.connect();
  });
  after(async () => {
    await caller.close();
    await server.close();
  });

  it('calls by target and outcome, durations, in-flight, frames sent, invalid messages, retries and dead letters after a scripted run', async () => {
    const FAST = { initialDelay: 2, maxDelay: 5 };
    await server.handleInvoke('m.ok', (p: { n: number }) => p.n + 1).ready;
    await server.handleInvoke('m.fail', () => {
      throw new BusError('INVALID_REQUEST', 'no');
    }).ready;
    let flaky = 0;
    await server.handleInvoke('m.flaky', () => {
      if (++flaky < 3) throw new BusError('AGENT_UNAVAILABLE', 'warming up', { retryable: true });
      return 'ok';
    }).ready;
    await server.handleStream('m.words', async function* () {
      yield 'a';
      yield 'b';
      yield 'c';
    }).ready;
    const gate = deferred<void>();
    const entered = deferred<void>();
    await server.handleInvoke('m.slow', async () => {
      entered.resolve();
      await gate.promise;
      return 'late';
    }).ready;
    let subscriberRuns = 0;
    await server.subscribe(
      'm.orders.*',
      () => {
        subscriberRuns++;
        throw new BusError('AGENT_UNAVAILABLE', 'inventory down', { retryable: true });
      },
      { retry: { attempts: 2, ...FAST } },
    ).ready;

    for (let i = 0; i < 3; i++) assert.equal(await caller.invoke('m.ok', { n: i }), i + 1);
    await assert.rejects(caller.invoke('m.fail'), (e: BusError) => e.code === 'INVALID_REQUEST');
    assert.equal(await caller.invoke('m.flaky', {}, { retry: { attempts: 3, ...FAST } }), 'ok'); // 2 caller retries
    assert.equal(await caller.stream('m.words').text(), 'abc');
    // An invalid message on a request subject: an event where a request belongs.
    caller.transport.publish(server.subjects.invoke('m.ok'), createEvent('m.bogus', {}, { from: 'm-caller' }), {
      reply: `${caller.transport.newInbox()}.x`,
    });
    await until(() => server.stats.invalidMessages === 1);
    // A subscriber that fails for good (1 retry) and dead-letters the event.
    await caller.publish('m.orders.created', { id: 1 });
    await until(() => server.stats.deadLetters === 1 && subscriberRuns === 2);
    // One call and one handler in flight while we collect.
    const slow = caller.invoke('m.slow');
    await entered.promise;

    const during = await reader.collect();
    assert.deepEqual(during.errors, []);
    assert.equal(value(during, MetricNames.inflight, { 'acp.agent': 'm-caller', 'acp.kind': 'invoke' }), 1);
    assert.equal(value(during, MetricNames.inflight, { 'acp.agent': 'm-server', 'acp.kind': 'handle' }), 1);
    gate.resolve();
    assert.equal(await slow, 'late');
    await until(() => (server as unknown as { responder: { inflightCount: number } }).responder.inflightCount === 0);

    const r = await reader.collect();
    assert.deepEqual(r.errors, []);
    // Calls, by kind, target and outcome (the error code when it failed).
    assert.equal(value(r, MetricNames.calls, { 'acp.kind': 'invoke', 'acp.target': 'm.ok', 'acp.outcome': 'ok' }), 3);
    assert.equal(value(r, MetricNames.calls, { 'acp.kind': 'invoke', 'acp.target': 'm.fail', 'acp.outcome': 'INVALID_REQUEST' }), 1);
    assert.equal(
      value(r, MetricNames.calls, { 'acp.kind': 'invoke', 'acp.target': 'm.flaky', 'acp.outcome': 'ok' }),
      1,
      'retries are one call',
    );
    assert.equal(value(r, MetricNames.calls, { 'acp.kind': 'stream', 'acp.target': 'm.words', 'acp.outcome': 'ok' }), 1);
    assert.equal(value(r, MetricNames.calls, { 'acp.target': 'm.slow', 'acp.outcome': 'ok' }), 1);
    // Handler executions: the flaky handler ran three times, two of them failed.
    assert.equal(value(r, MetricNames.handled, { 'acp.target': 'm.flaky', 'acp.outcome': 'AGENT_UNAVAILABLE' }), 2);
    assert.equal(value(r, MetricNames.handled, { 'acp.target': 'm.flaky', 'acp.outcome': 'ok' }), 1);
    assert.equal(value(r, MetricNames.handled, { 'acp.kind': 'event', 'acp.target': 'm.orders.*', 'acp.outcome': 'AGENT_UNAVAILABLE' }), 1);
    // Latency histograms (ms).
    const okDur = histogram(r, MetricNames.callDuration, { 'acp.target': 'm.ok', 'acp.outcome': 'ok' });
    assert.ok(okDur, 'call duration histogram');
    assert.equal(okDur.count, 3);
    assert.ok(okDur.sum! >= 0 && okDur.buckets.counts.reduce((a, b) => a + b, 0) === 3);
    const slowDur = histogram(r, MetricNames.callDuration, { 'acp.target': 'm.slow' });
    assert.equal(slowDur?.count, 1);
    assert.equal(histogram(r, MetricNames.handleDuration, { 'acp.target': 'm.ok' })?.count, 3);
    // In flight back to zero.
    assert.equal(value(r, MetricNames.inflight, { 'acp.agent': 'm-caller', 'acp.kind': 'invoke' }), 0);
    assert.equal(value(r, MetricNames.inflight, { 'acp.agent': 'm-server', 'acp.kind': 'handle' }), 0);
    // Observed counters: frames (3 ok + 1 fail + 3 flaky tries + started/3 deltas/final + slow = 13), invalid, retries, dead letters.
    assert.equal(value(r, MetricNames.framesSent, { 'acp.agent': 'm-server' }), 13);
    assert.equal(value(r, MetricNames.framesSent, { 'acp.agent': 'm-server' }), server.stats.framesSent);
    assert.equal(value(r, MetricNames.invalid, { 'acp.agent': 'm-server' }), 1);
    assert.equal(value(r, MetricNames.retries, { 'acp.agent': 'm-caller' }), 2);
    assert.equal(value(r, MetricNames.retries, { 'acp.agent': 'm-server' }), 1, 'the subscriber retry');
    assert.equal(value(r, MetricNames.deadLetters, { 'acp.agent': 'm-server' }), 1);
    assert.equal(value(r, MetricNames.eventsPublished, { 'acp.agent': 'm-caller' }), 1);
    assert.equal(value(r, MetricNames.eventsDelivered, { 'acp.agent': 'm-server' }), 1);
  });

  it('in-process direct calls record the same calls, handler executions and in-flight gauges', async () => {
    const broker = new MemoryBroker();
    const dCaller = new BusClient(new MemoryTransport({ broker, validate: false }), { agentId: 'd-caller', logger: new RecordingLogger() });
    const dServer = new BusClient(new MemoryTransport({ broker, validate: false }), { agentId: 'd-server', logger: new RecordingLogger() });
    await dCaller.connect();
    await dServer.connect();
    try {
      await dServer.handleInvoke('d.ok', (n: number) => n + 1).ready;
      await dServer.handleInvoke('d.fail', () => {
        throw new BusError('INVALID_REQUEST', 'no');
      }).ready;
      const gate = deferred<void>();
      const entered = deferred<void>();
      await dServer.handleInvoke('d.slow', async () => {
        entered.resolve();
        await gate.promise;
        return 'late';
      }).ready;
      assert.equal(await dCaller.invoke('d.ok', 1), 2);
      assert.equal(await dCaller.invoke('d.ok', 2), 3);
      await assert.rejects(dCaller.invoke('d.fail'), (e: BusError) => e.code === 'INVALID_REQUEST');
      const slow = dCaller.invoke('d.slow');
      await entered.promise;
      const during = await reader.collect();
      assert.equal(value(during, MetricNames.inflight, { 'acp.agent': 'd-caller', 'acp.kind': 'invoke' }), 1);
      assert.equal(value(during, MetricNames.inflight, { 'acp.agent': 'd-server', 'acp.kind': 'handle' }), 1);
      gate.resolve();
      assert.equal(await slow, 'late');
      assert.equal(dCaller.stats.directCalls, 4, 'all four were direct calls');

      const r = await reader.collect();
      assert.equal(value(r, MetricNames.calls, { 'acp.agent': 'd-caller', 'acp.target': 'd.ok', 'acp.outcome': 'ok' }), 2);
      assert.equal(value(r, MetricNames.calls, { 'acp.agent': 'd-caller', 'acp.target': 'd.fail', 'acp.outcome': 'INVALID_REQUEST' }), 1);
      assert.equal(value(r, MetricNames.handled, { 'acp.agent': 'd-server', 'acp.target': 'd.ok', 'acp.outcome': 'ok' }), 2);
      assert.equal(value(r, MetricNames.handled, { 'acp.agent': 'd-server', 'acp.target': 'd.fail', 'acp.outcome': 'INVALID_REQUEST' }), 1);
      assert.equal(histogram(r, MetricNames.handleDuration, { 'acp.agent': 'd-server', 'acp.target': 'd.slow' })?.count, 1);
      assert.equal(value(r, MetricNames.inflight, { 'acp.agent': 'd-caller', 'acp.kind': 'invoke' }), 0);
      assert.equal(value(r, MetricNames.inflight, { 'acp.agent': 'd-server', 'acp.kind': 'handle' }), 0);
    } finally {
      await dCaller.close();
      await dServer.close();
    }
  });

  it('BusMetrics.close() stops observing a bus (the meter no longer calls into a closed client)', async () => {
    const temp = new BusClient(new MemoryTransport({ broker: new MemoryBroker() }), { agentId: 'm-temp', logger: new RecordingLogger() });
    await temp.connect();
    temp.stats.framesSent = 5;
    assert.equal(value(await reader.collect(), MetricNames.framesSent, { 'acp.agent': 'm-temp' }), 5);
    temp.metrics!.close();
    temp.stats.framesSent = 99; // no longer read
    assert.equal(value(await reader.collect(), MetricNames.framesSent, { 'acp.agent': 'm-temp' }), 5);
    await temp.close();
  });

  it('telemetry: false records nothing', async () => {
    const broker = new MemoryBroker();
    const quiet = new BusClient(new MemoryTransport({ broker }), { agentId: 'm-quiet', telemetry: false, logger: new RecordingLogger() });
    await quiet.connect();
    await quiet.handleInvoke('m.quiet', () => 1).ready;
    await quiet.invoke('m.quiet');
    const r = await reader.collect();
    assert.equal(value(r, MetricNames.calls, { 'acp.target': 'm.quiet' }), undefined);
    assert.equal(value(r, MetricNames.framesSent, { 'acp.agent': 'm-quiet' }), undefined);
    await quiet.close();
  });
});

/** The demo application plus ObservabilityModule: GET /metrics (Prometheus text) and GET /health. */
describe('demo /metrics and /health (ObservabilityModule)', () => {
  let app: INestApplication;
  let base: string;

  before(async () => {
    delete process.env.NATS_URL;
    // The demo app as main.ts boots it (its AppModule imports ObservabilityModule).
    const demo = await NestFactory.create<NestExpressApplication>(AppModule, { logger: false });
    await configureDemoApp(demo);
    app = demo;
    await app.listen(0, '127.0.0.1');
    const addr = app.getHttpServer().address() as { port: number };
    base = `http://127.0.0.1:${addr.port}`;
  });
  after(async () => {
    await app?.close();
    await telemetry.shutdown();
  });

  it('GET /metrics answers Prometheus text with the acp_bus_* series of the demo traffic', async () => {
    const ask = await fetch(`${base}/demo/ask`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-session-id': 'sess-metrics' },
      body: JSON.stringify({ text: 'NATS is fast and I love good tools.' }),
    });
    assert.equal(ask.status, 200);
    const res = await fetch(`${base}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await res.text();
    if (process.env.METRICS_DUMP) (await import('node:fs')).writeFileSync(process.env.METRICS_DUMP, text);
    assert.match(text, /^# HELP acp_bus_calls_total /m);
    assert.match(text, /^# TYPE acp_bus_calls_total counter/m);
    assert.match(text, /^acp_bus_calls_total\{[^}]*acp_target="router\.ask"[^}]*acp_outcome="ok"[^}]*\} 1/m);
    assert.match(text, /^acp_bus_calls_total\{[^}]*acp_kind="stream"[^}]*acp_target="writer"[^}]*\} \d+/m);
    assert.match(text, /^acp_bus_call_duration\w*_bucket\{/m);
    assert.match(text, /^acp_bus_frames_sent_total\{[^}]*acp_agent="demo"[^}]*\} \d+/m);
    assert.match(text, /^acp_bus_inflight\{/m);
  });

  it('GET /health is up with the bus connected, and includes bridge health', async () => {
    const res = await fetch(`${base}/health`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { status: string; details: { bus: Record<string, any> } };
    assert.equal(body.status, 'ok');
    assert.equal(body.details.bus.status, 'up');
    assert.equal(body.details.bus.connected, true);
    assert.equal(body.details.bus.transport, 'memory');
    assert.ok(body.details.bus.bridges, 'bridge health from the BridgeModule');
    assert.ok(['healthy', 'starting', 'degraded'].includes(body.details.bus.bridges.status), body.details.bus.bridges.status);
  });
});
