import 'reflect-metadata';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BusClient, createReply, EventTypes, MemoryBroker, MemoryTransport, type BusError } from '@openagentio/nestjs';
import { deferred } from '../support/bus-fixture.js';
import { startNestBusApp } from '../support/nest-bus-app.js';

describe('BusModule options', () => {
  it('every BusClient option passes through BusModule (maxBufferedFrames and reorder included)', async () => {
    const broker = new MemoryBroker();
    const app = await startNestBusApp({
      agentId: 'opts',
      transport: { memory: { broker } },
      bus: { maxBufferedFrames: 5, reorder: { maxPending: 7 }, streamWindow: 16, livenessInterval: 1234 },
    });
    const bus = app.get(BusClient);
    assert.equal(bus.options.maxBufferedFrames, 5);
    assert.equal(bus.options.reorder.maxPending, 7);
    assert.equal(bus.options.streamWindow, 16);
    assert.equal(bus.options.livenessInterval, 1234);

    // The buffer limit is the one set through the module: a peer that streams without flow control (as the
    // upstream runtimes do) and a consumer that does not read overflow it at 5 frames, not at the default 4096.
    const peer = new MemoryTransport({ broker });
    await peer.connect();
    const sent = deferred<void>();
    peer.subscribe(bus.subjects.invoke('legacy.firehose'), (msg) => {
      const request = msg.envelope!;
      const reply = request.reply_to!;
      peer.publish(reply, createReply(request, EventTypes.STARTED, { meta: {} }, { seq: 0 }));
      for (let i = 1; i <= 20; i++) peer.publish(reply, createReply(request, EventTypes.DELTA, { delta: `d${i}` }, { seq: i }));
      sent.resolve();
    });
    const stream = bus.stream('legacy.firehose', {});
    const it = stream[Symbol.asyncIterator]();
    const first = it.next();
    await sent.promise;
    await first;
    await assert.rejects(
      (async () => {
        for (;;) if ((await it.next()).done) break;
      })(),
      (err: BusError) => err.code === 'BACKPRESSURE_DROP' && /5 frames/.test(err.message),
    );
    await peer.close();
    await app.close();
  });
});
