import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type BusClient, BusError, currentCallContext, type Envelope } from '@openagentio/nestjs';
import { BusCluster, RecordingLogger, until } from '../support/bus-fixture.js';
import { transportFixtures } from '../support/transports.js';

for (const fixture of transportFixtures) {
  describe(`publish/subscribe [${fixture.name}]`, () => {
    let cluster: BusCluster;
    let pub: BusClient;
    let subA: BusClient;
    let subB: BusClient;

    before(async () => {
      cluster = await BusCluster.start(fixture);
      pub = await cluster.bus('publisher');
      subA = await cluster.bus('sub-a');
      subB = await cluster.bus('sub-b');
    });
    after(async () => {
      cluster.assertAllValid();
      await cluster.close();
    });

    it('wildcards: * matches one token, > the rest; exact matches too', async () => {
      const got: Record<string, string[]> = { star: [], gt: [], exact: [] };
      await subA.subscribe('ps1.orders.*', (_p, e) => got.star.push(e.event_type)).ready;
      await subA.subscribe('ps1.>', (_p, e) => got.gt.push(e.event_type)).ready;
      await subA.subscribe('ps1.orders.created', (_p, e) => got.exact.push(e.event_type)).ready;
      for (const t of ['ps1.orders.created', 'ps1.orders.eu.created', 'ps1.users.created', 'ps2.orders.created'])
        await pub.publish(t, { t });
      await pub.publish('ps1.end', null);
      await until(() => got.gt.includes('ps1.end'));
      assert.deepEqual(got.star, ['ps1.orders.created']);
      assert.deepEqual(got.gt, ['ps1.orders.created', 'ps1.orders.eu.created', 'ps1.users.created', 'ps1.end']);
      assert.deepEqual(got.exact, ['ps1.orders.created']);
    });

    it('plain subscribers fan out; a queue group gets each event once, balanced', async () => {
      const fan = { a: 0, b: 0 };
      const queue = { a: 0, b: 0 };
      await subA.subscribe('ps3.evt', () => fan.a++).ready;
      await subB.subscribe('ps3.evt', () => fan.b++).ready;
      await subA.subscribe('ps3.evt', () => queue.a++, { queue: 'workers' }).ready;
      await subB.subscribe('ps3.evt', () => queue.b++, { queue: 'workers' }).ready;
      for (let i = 0; i < 40; i++) await pub.publish('ps3.evt', i);
      await until(() => fan.a === 40 && fan.b === 40 && queue.a + queue.b === 40);
      assert.ok(queue.a >= 5 && queue.b >= 5, `balanced: ${JSON.stringify(queue)}`);
    });

    it('delivery is asynchronous and the envelope carries the publisher session and from', async () => {
      let inside = false;
      let ranInside: boolean | undefined;
      let received: Envelope | undefined;
      await subA.subscribe('ps4.hello', (_p, e) => {
        ranInside = inside;
        received = e;
      }).ready;
      inside = true;
      const publishing = pub.publish('ps4.hello', { x: 1 }, { session_id: 's9', user_id: 'u1', metadata: { k: 'v' } });
      inside = false;
      const sent = await publishing;
      await until(() => received !== undefined);
      assert.equal(ranInside, false);
      assert.equal(received!.event_id, sent.event_id);
      assert.equal(received!.session_id, 's9');
      assert.equal(received!.user_id, 'u1');
      assert.equal(received!.from, 'publisher');
      assert.deepEqual(received!.metadata, { k: 'v' });
      assert.deepEqual(received!.payload, { x: 1 });
    });

    it('a subscriber runs in the event context: its nested calls carry the event session', async () => {
      let nestedSession: string | undefined;
      await subB.handleInvoke('ps5.whoami', () => currentCallContext()?.session.session_id).ready;
      await subA.subscribe('ps5.trigger', async () => {
        nestedSession = await subA.invoke<string>('ps5.whoami');
      }).ready;
      await pub.publish('ps5.trigger', {}, { session_id: 'event-session' });
      await until(() => nestedSession !== undefined);
      assert.equal(nestedSession, 'event-session');
    });

    it('a failing subscriber is logged and does not stop delivery', async () => {
      let after = 0;
      await subA.subscribe('ps6.boom', () => {
        throw new Error('subscriber exploded');
      }).ready;
      await subA.subscribe('ps6.boom', () => after++).ready;
      await pub.publish('ps6.boom', 1);
      await pub.publish('ps6.boom', 2);
      await until(() => after === 2);
      await until(() => subA.stats.handlerErrors >= 2);
      assert.ok((subA.logger as RecordingLogger).lines.some((l) => l.includes('subscriber exploded')));
    });

    it('bad event types and patterns are clear errors', async () => {
      await assert.rejects(pub.publish('a..b', 1), (e: BusError) => e.code === 'INVALID_REQUEST');
      await assert.rejects(pub.publish('a.*', 1), /wildcard/);
      assert.throws(() => subA.subscribe('a.>.b', () => undefined), /last token/);
      assert.throws(() => subA.subscribe('a.b', () => undefined, { queue: 'q q' }), /white space/);
    });

    it('unsubscribe stops delivery', async () => {
      let n = 0;
      const s = subA.subscribe('ps7.x', () => n++);
      await s.ready;
      await pub.publish('ps7.x', 1);
      await until(() => n === 1);
      s.unsubscribe();
      await subA.transport.flush();
      let control = 0;
      await subB.subscribe('ps7.x', () => control++).ready;
      await pub.publish('ps7.x', 2);
      await until(() => control === 1);
      assert.equal(n, 1);
    });
  });
}
