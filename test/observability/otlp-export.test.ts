import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { BusClient, BusError, MemoryBroker, MemoryTransport } from '@openagentio/nestjs';
import { RecordingLogger, until } from '../support/bus-fixture.js';
import { installTracing } from './otel-test-sdk.js';
import { attr, OtlpReceiver } from './otlp-receiver.js';

/** Spans leave the process over OTLP/HTTP (JSON) to any collector: here a local node:http receiver. */
describe('OTLP/HTTP export', () => {
  let receiver: OtlpReceiver;
  let exporter: OTLPTraceExporter;
  let otel: ReturnType<typeof installTracing>;
  let caller: BusClient;
  let agent: BusClient;

  before(async () => {
    receiver = await OtlpReceiver.start();
    exporter = new OTLPTraceExporter({ url: `${receiver.url}/v1/traces` });
    otel = installTracing([exporter]);
    const broker = new MemoryBroker();
    caller = new BusClient(new MemoryTransport({ broker }), { agentId: 'caller', logger: new RecordingLogger() });
    agent = new BusClient(new MemoryTransport({ broker }), { agentId: 'agent', logger: new RecordingLogger() });
    await caller.connect();
    await agent.connect();
  });
  after(async () => {
    await caller.close();
    await agent.close();
    await otel.provider.shutdown();
    await receiver.close();
  });

  it('invoke, stream and publish spans arrive at the OTLP endpoint with their names, kinds, parents and attributes', async () => {
    await agent.handleInvoke('otlp.echo', (p: unknown) => p).ready;
    await agent.handleStream('otlp.words', async function* () {
      yield 'a';
      yield 'b';
    }).ready;
    await agent.handleInvoke('otlp.fail', () => {
      throw new BusError('INVALID_REQUEST', 'bad input');
    }).ready;
    const seen: unknown[] = [];
    await agent.subscribe('otlp.happened', (p) => void seen.push(p)).ready;

    assert.deepEqual(await caller.invoke('otlp.echo', { x: 1 }, { session_id: 'sess-otlp' }), { x: 1 });
    assert.equal(await caller.stream('otlp.words').text(), 'ab');
    await assert.rejects(caller.invoke('otlp.fail'), /bad input/);
    await caller.publish('otlp.happened', { n: 1 });
    await until(() => seen.length === 1);
    await otel.provider.forceFlush();
    await until(() => receiver.spans().length >= 8, 5000, 'eight spans at the receiver');

    const spans = receiver.spans();
    assert.ok(
      receiver.bodies.every((b) => b.contentType.includes('application/json')),
      'OTLP/HTTP JSON',
    );
    assert.deepEqual(spans.map((s) => s.name).sort(), [
      'handle otlp.echo',
      'handle otlp.fail',
      'handle otlp.happened',
      'handle otlp.words',
      'invoke otlp.echo',
      'invoke otlp.fail',
      'publish otlp.happened',
      'stream otlp.words',
    ]);
    const byName = (n: string) => spans.find((s) => s.name === n)!;
    // OTLP span kinds: 2 SERVER, 3 CLIENT, 4 PRODUCER, 5 CONSUMER
    assert.equal(byName('invoke otlp.echo').kind, 3);
    assert.equal(byName('handle otlp.echo').kind, 2);
    assert.equal(byName('publish otlp.happened').kind, 4);
    assert.equal(byName('handle otlp.happened').kind, 5);
    assert.equal(byName('handle otlp.echo').parentSpanId, byName('invoke otlp.echo').spanId);
    assert.equal(byName('handle otlp.echo').traceId, byName('invoke otlp.echo').traceId);
    assert.equal(byName('handle otlp.happened').parentSpanId, byName('publish otlp.happened').spanId);
    assert.equal(attr(byName('invoke otlp.echo'), 'acp.session_id'), 'sess-otlp');
    assert.equal(attr(byName('invoke otlp.echo'), 'messaging.system'), 'memory');
    assert.equal(Number(attr(byName('stream otlp.words'), 'acp.stream.frames')), 4);
    assert.equal(attr(byName('handle otlp.fail'), 'acp.error.code'), 'INVALID_REQUEST');
    assert.equal(byName('handle otlp.fail').status?.code, 2, 'STATUS_CODE_ERROR');
  });
});
