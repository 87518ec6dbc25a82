import 'reflect-metadata';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BusClient, createReply, EventTypes, MemoryBroker, MemoryTransport, type BusError } from '@openagentio/nestjs';
import { deferred } from '../support/bus-fixture.js';
import { startNestBusApp } from '../support/nest-bus-app.js';

describe('BusModule options', () => {
  it('every BusClient option passes through BusModule (maxBufferedFrames, maxBufferedBytes and reorder included)', async () => {
    const broker = new MemoryBroker();
    const app = await startNestBusApp({
      agentId: 'opts',
      transport: { memory: { broker } },
      bus: { maxBufferedFrames: 5, maxBufferedBytes: 2000, reorder: { maxPending: 7 }, streamWindow: 16, livenessInterval: 1234 },
    });
    const bus = app.get(BusClient);
    assert.equal(bus.options.maxBufferedFrames, 5);
    assert.equal(bus.options.maxBufferedBytes, 2000);
    assert.equal(bus.options.reorder.maxPending, 7);
    assert.equal(bus.options.streamWindow, 16);
    assert.equal(bus.options.livenessInterval, 1234);

    // The buffer limits are the ones set through the module. A peer that streams without flow control (as the
    // upstream runtimes do) to a consumer that does not read overflows the byte budget (2,000 bytes, not the default
    // 32 MiB); one that announces flow control and ignores the window overflows at 5 frames, not at the default 4096.
    const peer = new MemoryTransport({ broker });
    await peer.connect();
    const firehose = (target: string, startedMeta?: Record<string, unknown>) => {
      const sent = deferred<void>();
      peer.subscribe(bus.subjects.invoke(target), (msg) => {
        const request = msg.envelope!;
        const reply = request.reply_to!;
        peer.publish(reply, createReply(request, EventTypes.STARTED, { meta: {} }, { seq: 0, metadata: startedMeta }));
        for (let i = 1; i <= 20; i++) peer.publish(reply, createReply(request, EventTypes.DELTA, { delta: `d${i}` }, { seq: i }));
        sent.resolve();
      });
      return sent.promise;
    };
    const overflow = async (target: string, sent: Promise<void>, window: number, message: RegExp) => {
      const stream = bus.stream(target, {}, { window });
      const it = stream[Symbol.asyncIterator]();
      const first = it.next();
      await sent;
      await first;
      await assert.rejects(
        (async () => {
          for (;;) if ((await it.next()).done) break;
        })(),
        (err: BusError) => err.code === 'BACKPRESSURE_DROP' && message.test(err.message),
      );
    };
    await overflow('legacy.firehose', firehose('legacy.firehose'), 16, /2000 bytes behind a responder without flow control/);
    await overflow(
      'flow.firehose',
      firehose('flow.firehose', { 'acp.ext': 'flow', 'acp.ctl': '_INBOX.flow-firehose.ctl' }),
      2,
      /more than 5 frames the consumer had not asked for/,
    );
    await peer.close();
    await app.close();
  });
});
