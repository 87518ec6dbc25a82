import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type BusClient, BusError, type Envelope } from '@openagentio/nestjs';
import { BusCluster, deferred, until } from '../support/bus-fixture.js';
import { durableFixtures } from '../support/transports.js';

// The durable cases of the bus suite, on every transport that has a durable log (memory, both forms; JetStream).
for (const fixture of durableFixtures) {
  describe(`durable events [${fixture.name}]`, () => {
    let cluster: BusCluster;
    let pub: BusClient;
    let a: BusClient;
    let b: BusClient;

    before(async () => {
      cluster = await BusCluster.start(fixture);
      pub = await cluster.bus('publisher');
      a = await cluster.bus('replica-a');
      b = await cluster.bus('replica-b');
    });
    after(async () => {
      cluster.assertAllValid();
      await cluster.close();
    });

    it('a durable publish is stored once per event_id; core and durable subscribers both see it', async () => {
      const core: string[] = [];
      const durable: string[] = [];
      await a.subscribe('du1.evt', (_p, e) => core.push(e.event_id)).ready;
      await b.subscribe('du1.evt', (_p, e) => void durable.push(e.event_id), { durable: 'du1' }).ready;
      const first = await pub.publish('du1.evt', { n: 1 }, { durable: true });
      const again = await pub.publish('du1.evt', { n: 1 }, { durable: true, event_id: first.event_id });
      assert.equal(again.event_id, first.event_id);
      const other = await pub.publish('du1.evt', { n: 2 }, { durable: true });
      await until(() => durable.length >= 2 && core.length >= 2);
      // Give a wrongly stored duplicate time to arrive behind the second event.
      await pub.publish('du1.evt', { n: 3 }, { durable: true });
      await until(() => durable.length >= 3);
      assert.deepEqual(durable.slice(0, 2), [first.event_id, other.event_id]);
      assert.equal(durable.filter((id) => id === first.event_id).length, 1, 'the repeated event_id was stored once');
      assert.ok(core.includes(first.event_id) && core.includes(other.event_id), 'core subscribers see durable publishes');
    });

    it('core publishes on the stream subjects are captured for durable subscribers', async () => {
      const got: number[] = [];
      await a.subscribe('du2.evt', (p: number) => void got.push(p), { durable: 'du2' }).ready;
      for (let i = 0; i < 5; i++) await pub.publish('du2.evt', i);
      await until(() => got.length === 5, 5000, 'captured core events');
      assert.deepEqual(got, [0, 1, 2, 3, 4]);
    });

    it('one durable name shares the events between replicas; two names each get every event', async () => {
      const shared = { a: 0, b: 0 };
      const other: number[] = [];
      await a.subscribe('du3.evt', () => void shared.a++, { durable: 'du3-billing' }).ready;
      await b.subscribe('du3.evt', () => void shared.b++, { durable: 'du3-billing' }).ready;
      await a.subscribe('du3.evt', (p: number) => void other.push(p), { durable: 'du3-audit' }).ready;
      for (let i = 0; i < 40; i++) await pub.publish('du3.evt', i, { durable: true });
      await until(() => shared.a + shared.b === 40 && other.length === 40, 10_000, 'every event on both names');
      assert.ok(shared.a > 0 && shared.b > 0, `both replicas worked: ${JSON.stringify(shared)}`);
      assert.equal(new Set(other).size, 40);
    });

    it('a throw is redelivered after backoff; after the last attempt the event is dead-lettered and the next ones go on', async () => {
      const tries = new Map<number, number>();
      const done: number[] = [];
      const dead = deferred<Envelope>();
      const dlq = a.transport.subscribe(a.subjects.deadLetter('du4.evt'), (m) => m.envelope && dead.resolve(m.envelope));
      await a.transport.flush();
      await a.subscribe(
        'du4.evt',
        (p: number) => {
          tries.set(p, (tries.get(p) ?? 0) + 1);
          if (p === 0) throw new Error('poison');
          if (p === 1 && tries.get(p) === 1) throw new BusError('AGENT_UNAVAILABLE', 'flaky once');
          done.push(p);
        },
        { durable: 'du4', retry: { attempts: 3, initialDelay: 20, maxDelay: 40 } },
      ).ready;
      const poison = await pub.publish('du4.evt', 0, { durable: true });
      for (let i = 1; i <= 3; i++) await pub.publish('du4.evt', i, { durable: true });
      const d = await dead.promise;
      dlq.unsubscribe();
      await until(() => done.length === 3);
      assert.deepEqual([...done].sort(), [1, 2, 3]);
      assert.equal(tries.get(0), 3, 'the poison event had its 3 attempts');
      assert.equal(tries.get(1), 2, 'the flaky one was redelivered once');
      assert.equal(d.event_id, poison.event_id);
      assert.equal(d.metadata?.dlq_attempts, 3);
      assert.equal(d.metadata?.dlq_consumer, 'du4');
      assert.equal(d.metadata?.dlq_error_message, 'poison');
    });

    it('retryOn: a failure with another code is dead-lettered at its first delivery', async () => {
      let tries = 0;
      const dead = deferred<Envelope>();
      const dlq = a.transport.subscribe(a.subjects.deadLetter('du12.evt'), (m) => m.envelope && dead.resolve(m.envelope));
      await a.transport.flush();
      await a.subscribe(
        'du12.evt',
        () => {
          tries++;
          throw new BusError('INVALID_REQUEST', 'bad order');
        },
        { durable: 'du12', retry: { attempts: 5, retryOn: ['AGENT_TIMEOUT'], initialDelay: 10 } },
      ).ready;
      await pub.publish('du12.evt', 1, { durable: true });
      const d = await dead.promise;
      dlq.unsubscribe();
      assert.equal(tries, 1);
      assert.equal(d.metadata?.dlq_attempts, 1);
      assert.equal(d.metadata?.dlq_error_code, 'INVALID_REQUEST');
    });

    it('deliverFrom: the beginning, a sequence, a time', async () => {
      const sent: string[] = [];
      for (let i = 0; i < 3; i++) sent.push((await pub.publish('du5.evt', i, { durable: true })).event_id);
      await new Promise((r) => setTimeout(r, 20));
      const mark = new Date();
      await new Promise((r) => setTimeout(r, 20));
      for (let i = 3; i < 5; i++) sent.push((await pub.publish('du5.evt', i, { durable: true })).event_id);
      const all: number[] = [];
      const since: number[] = [];
      await a.subscribe('du5.evt', (p: number) => void all.push(p), { durable: 'du5-all', deliverFrom: 'beginning' }).ready;
      await a.subscribe('du5.evt', (p: number) => void since.push(p), { durable: 'du5-time', deliverFrom: mark }).ready;
      await until(() => all.length === 5 && since.length === 2);
      assert.deepEqual(all, [0, 1, 2, 3, 4]);
      assert.deepEqual(since, [3, 4]);
      const replayed: number[] = [];
      await b.replay('du5.evt', { from: mark }, (p: number) => void replayed.push(p));
      assert.deepEqual(replayed, [3, 4]);
    });

    it('a replay of a time window reaches the handler without disturbing live consumers', async () => {
      const live: number[] = [];
      await a.subscribe('du6.evt', (p: number) => void live.push(p), { durable: 'du6' }).ready;
      await pub.publish('du6.evt', 0, { durable: true });
      await new Promise((r) => setTimeout(r, 20));
      const from = new Date();
      await new Promise((r) => setTimeout(r, 20));
      for (let i = 1; i <= 3; i++) await pub.publish('du6.evt', i, { durable: true });
      await new Promise((r) => setTimeout(r, 20));
      const to = new Date();
      await new Promise((r) => setTimeout(r, 20));
      await pub.publish('du6.evt', 4, { durable: true });
      await until(() => live.length === 5);
      const replayed: number[] = [];
      const n = await b.replay('du6.evt', { from, to }, (p: number) => void replayed.push(p));
      assert.equal(n, 3);
      assert.deepEqual(replayed, [1, 2, 3]);
      await pub.publish('du6.evt', 5, { durable: true });
      await until(() => live.length === 6);
      assert.deepEqual(live, [0, 1, 2, 3, 4, 5], 'the live consumer got each event once, before and after the replay');
    });

    it('an event handled past the ack wait is kept alive, not handed to another replica meanwhile', async () => {
      const seen: string[] = [];
      const release = deferred();
      const started = deferred();
      const slow = async (_p: unknown, e: Envelope) => {
        seen.push(e.event_id);
        started.resolve();
        await release.promise;
      };
      await a.subscribe('du7.evt', slow, { durable: 'du7', ackWaitMs: 300 }).ready;
      await b.subscribe('du7.evt', slow, { durable: 'du7', ackWaitMs: 300 }).ready;
      await pub.publish('du7.evt', 1, { durable: true });
      await started.promise;
      // Three ack waits pass while the handler runs.
      await new Promise((r) => setTimeout(r, 1000));
      release.resolve();
      assert.equal(seen.length, 1, `delivered once while it ran: ${seen.length}`);
    });

    it('events waiting for a slow replica are not handed to the other meanwhile: each is handled once', async () => {
      const seen = new Map<number, number>();
      const slow = async (p: number) => {
        seen.set(p, (seen.get(p) ?? 0) + 1);
        // Three and a half ack waits per event, one at a time per replica.
        await new Promise((r) => setTimeout(r, 700));
      };
      await a.subscribe('du11.evt', slow, { durable: 'du11', ackWaitMs: 200 }).ready;
      await b.subscribe('du11.evt', slow, { durable: 'du11', ackWaitMs: 200 }).ready;
      for (let i = 0; i < 4; i++) await pub.publish('du11.evt', i, { durable: true });
      await until(() => seen.size === 4, 10_000, 'every event started');
      await new Promise((r) => setTimeout(r, 800));
      assert.deepEqual(
        [...seen.entries()].sort(([x], [y]) => x - y),
        [
          [0, 1],
          [1, 1],
          [2, 1],
          [3, 1],
        ],
      );
    });

    it('concurrency bounds the handler runs in flight per consumer', async () => {
      let inFlight = 0;
      let peak = 0;
      let handled = 0;
      await a.subscribe(
        'du8.evt',
        async () => {
          peak = Math.max(peak, ++inFlight);
          await new Promise((r) => setTimeout(r, 20));
          inFlight--;
          handled++;
        },
        { durable: 'du8', concurrency: 4 },
      ).ready;
      for (let i = 0; i < 24; i++) await pub.publish('du8.evt', i, { durable: true });
      await until(() => handled === 24, 10_000);
      assert.equal(peak, 4, `peak ${peak}`);
    });

    it('deliverFrom a sequence starts there (a fresh log: the n-th event stored has sequence n)', async () => {
      const fresh = await BusCluster.start(fixture);
      try {
        const p = await fresh.bus('p');
        const s = await fresh.bus('s');
        for (let i = 1; i <= 5; i++) await p.publish('du10.evt', i, { durable: true });
        const got: number[] = [];
        await s.subscribe('du10.evt', (n: number) => void got.push(n), { durable: 'du10', deliverFrom: { seq: 3 } }).ready;
        await until(() => got.length === 3);
        assert.deepEqual(got, [3, 4, 5]);
      } finally {
        await fresh.close();
      }
    });

    it('the log captures only its subjects: a durable publish elsewhere is INVALID_REQUEST, nothing stored', async () => {
      const fresh = await BusCluster.start(fixture);
      try {
        const p = await fresh.bus('p', { durableEvents: { stream: 'NARROW', subjects: ['acp.v1.events.narrow.>'] } });
        const got: number[] = [];
        await p.subscribe('narrow.evt', (n: number) => void got.push(n), { durable: 'narrow', deliverFrom: 'beginning' }).ready;
        await assert.rejects(
          p.publish('wide.evt', 1, { durable: true }),
          (e: BusError) => e.code === 'INVALID_REQUEST' && /capture/.test(e.message),
        );
        await p.publish('narrow.evt', 2, { durable: true });
        await until(() => got.length === 1);
        assert.deepEqual(got, [2]);
      } finally {
        await fresh.close();
      }
    });

    it('a durable name subscribed with another pattern follows it', async () => {
      const got: string[] = [];
      const first = a.subscribe('du13.a', () => undefined, { durable: 'du13' });
      await first.ready;
      first.unsubscribe();
      await b.subscribe('du13.b', (_p, e) => void got.push(e.event_type), { durable: 'du13' }).ready;
      await pub.publish('du13.a', 1, { durable: true });
      await pub.publish('du13.b', 2, { durable: true });
      await until(() => got.length === 1);
      await pub.publish('du13.b', 3, { durable: true });
      await until(() => got.length === 2);
      assert.deepEqual(got, ['du13.b', 'du13.b']);
    });

    it('bad names are refused with INVALID_REQUEST', () => {
      assert.throws(() => a.subscribe('du9.evt', () => undefined, { durable: 'has.dot' }), { code: 'INVALID_REQUEST' });
      assert.throws(() => a.subscribe('du9.evt', () => undefined, { durable: 'x', queue: 'q' }), { code: 'INVALID_REQUEST' });
    });
  });
}
