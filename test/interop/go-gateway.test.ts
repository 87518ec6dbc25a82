import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request, type IncomingMessage } from 'node:http';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { BusClient, NatsTransport } from '@openagentio/nestjs';
import { until } from '../support/bus-fixture.js';
import { GoPeer } from '../support/go-peer.js';
import { NatsServer } from '../support/nats-server.js';
import { gatewayApp } from '../gateway/gateway-app.js';

/**
 * The gateway's SSE path in front of an upstream Go agent, which has no flow control: a client that stops reading
 * cannot slow the Go producer down, so the gateway's stream holds at most `streamUnreadBytes` of unread frames and
 * then ends with BACKPRESSURE_DROP (the bus's own budget, 32 MiB, would hold the whole 20 MB answer).
 */
describe('gateway SSE stream from a Go agent without flow control', () => {
  it('a client that stops reading: the stream ends with BACKPRESSURE_DROP at streamUnreadBytes, the frames before it still delivered in order', async (t) => {
    const nats = await NatsServer.start();
    t.after(() => nats.stop());
    const bus = new BusClient(new NatsTransport({ servers: nats.url }), { agentId: 'gateway', tenant: 'acme' });
    await bus.connect();
    t.after(() => bus.close());
    const server = await GoPeer.start('responder', nats.url, ['--agent', 'go-server', '--tenant', 'acme']);
    t.after(() => server.stop());
    const { app, url } = await gatewayApp(bus, {
      streamTargets: ['go.stream'],
      invokeTargets: [],
      heartbeatMs: 60_000,
      streamUnreadBytes: 512 * 1024,
    });
    t.after(() => app.close());

    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request(
        `${url}/v1/agents/go.stream/stream`,
        { method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/event-stream' } },
        (r) => {
          r.pause();
          resolve(r);
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify({ n: 20_000, size: 1000 }));
    });
    assert.equal(res.statusCode, 200);
    await server.waitFor((l) => l.type === 'stream-done', 20_000, 'the Go producer to finish writing');
    // Frames arriving after the call has ended are counted as late: the stream ended before the answer was through.
    await until(() => bus.stats.lateReplies > 0, 10_000, 'the gateway stream to end over its budget');

    const events: EventSourceMessage[] = [];
    const parser = createParser({ onEvent: (e) => events.push(e) });
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => parser.feed(chunk));
    res.resume();
    await new Promise<void>((resolve) => res.once('end', resolve));
    const frames = events.map(
      (e) => JSON.parse(e.data) as { event_type: string; seq?: number; payload: { code?: string; message?: string } },
    );
    const last = frames.at(-1)!;
    assert.equal(last.event_type, 'agent.response.error');
    assert.equal(last.payload.code, 'BACKPRESSURE_DROP');
    assert.match(last.payload.message ?? '', /more than 524288 bytes behind a responder without flow control/);
    const deltas = frames.filter((f) => f.event_type === 'agent.response.delta');
    assert.ok(deltas.length > 0 && deltas.length < 20_000, `${deltas.length} deltas delivered before the end`);
    assert.deepEqual(
      frames.slice(0, -1).map((f) => f.seq ?? 0),
      [...Array(frames.length - 1).keys()],
      'in order, none lost before the error',
    );
  });
});
