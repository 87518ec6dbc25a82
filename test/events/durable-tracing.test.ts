// A durable handler is traced as a core subscriber is: its `handle <pattern>` span continues the publisher's trace,
// ended with the handler's error when it throws (memory transport, the in-memory OpenTelemetry SDK).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SpanStatusCode } from '@opentelemetry/api';
import { BusClient, MemoryBroker, MemoryTransport } from '@openagentio/nestjs';
import { RecordingLogger, until } from '../support/bus-fixture.js';
import { installTracing } from '../observability/otel-test-sdk.js';

const otel = installTracing();

describe('durable events: tracing', () => {
  const broker = new MemoryBroker();
  const pub = new BusClient(new MemoryTransport({ broker }), { agentId: 'pub', logger: new RecordingLogger() });
  const sub = new BusClient(new MemoryTransport({ broker }), { agentId: 'sub', logger: new RecordingLogger() });
  before(async () => {
    await pub.connect();
    await sub.connect();
  });
  after(async () => {
    await pub.close();
    await sub.close();
  });

  it("the handler's span is a child of the publish span, and carries a throw as its error", async () => {
    otel.reset();
    let runs = 0;
    await sub.subscribe(
      'dt.evt',
      () => {
        if (++runs === 1) throw new Error('first try fails');
      },
      { durable: 'dt', retry: { attempts: 2, initialDelay: 5 } },
    ).ready;
    await pub.publish('dt.evt', { x: 1 }, { durable: true });
    await until(() => otel.finished().filter((s) => s.name === 'handle dt.evt').length === 2);
    const publish = otel.finished().find((s) => s.name === 'publish dt.evt')!;
    assert.ok(publish, 'a publish span');
    const handles = otel.finished().filter((s) => s.name === 'handle dt.evt');
    for (const h of handles) {
      assert.equal(h.spanContext().traceId, publish.spanContext().traceId);
      assert.equal(h.parentSpanContext?.spanId, publish.spanContext().spanId);
    }
    assert.deepEqual(
      handles.map((h) => h.status.code),
      [SpanStatusCode.ERROR, SpanStatusCode.UNSET],
    );
  });
});
