// What only the memory transport's durable log has: its bound, and a closing bus giving its events back at once.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BusClient, MemoryBroker, MemoryTransport } from '@openagentio/nestjs';
import { deferred, RecordingLogger, until } from '../support/bus-fixture.js';

async function busOn(broker: MemoryBroker, agentId: string, memoryMaxMessages?: number): Promise<BusClient> {
  const bus = new BusClient(new MemoryTransport({ broker }), {
    agentId,
    logger: new RecordingLogger(),
    durableEvents: memoryMaxMessages ? { memoryMaxMessages } : undefined,
  });
  await bus.connect();
  return bus;
}

describe('durable events: the memory log', () => {
  it('keeps the newest memoryMaxMessages events: a consumer from the beginning gets those', async () => {
    const broker = new MemoryBroker();
    const bus = await busOn(broker, 'm1', 5);
    try {
      for (let i = 1; i <= 8; i++) await bus.publish('dm1.evt', i, { durable: true });
      const got: number[] = [];
      await bus.subscribe('dm1.evt', (n: number) => void got.push(n), { durable: 'dm1', deliverFrom: 'beginning' }).ready;
      await until(() => got.length === 5);
      assert.deepEqual(got, [4, 5, 6, 7, 8]);
      const replayed: number[] = [];
      assert.equal(await bus.replay('dm1.evt', { from: new Date(0) }, (n: number) => void replayed.push(n)), 5);
    } finally {
      await bus.close();
    }
  });

  it('a bus that closes mid-handler gives its event back to a replica at once', async () => {
    const broker = new MemoryBroker();
    const doomed = await busOn(broker, 'doomed');
    const replica = await busOn(broker, 'replica');
    const pub = await busOn(broker, 'pub');
    try {
      const started = deferred();
      await doomed.subscribe(
        'dm2.evt',
        async () => {
          started.resolve();
          await new Promise(() => undefined);
        },
        { durable: 'dm2', ackWaitMs: 60_000 },
      ).ready;
      const sent = await pub.publish('dm2.evt', 1, { durable: true });
      await started.promise;
      const handled = deferred<string>();
      await replica.subscribe('dm2.evt', (_p, e) => handled.resolve(e.event_id), { durable: 'dm2', ackWaitMs: 60_000 }).ready;
      const closedAt = Date.now();
      await doomed.close();
      assert.equal(await handled.promise, sent.event_id);
      assert.ok(Date.now() - closedAt < 1000, 'not after the 60 s ack wait');
    } finally {
      await replica.close();
      await pub.close();
    }
  });
});
