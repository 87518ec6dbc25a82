import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type BusClient, currentCallContext, type HandlerContext } from '@openagentio/nestjs';
import { BusCluster, until } from '../support/bus-fixture.js';
import { transportFixtures } from '../support/transports.js';

const TP = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

for (const fixture of transportFixtures) {
  describe(`session propagation [${fixture.name}]`, () => {
    let cluster: BusCluster;
    let gateway: BusClient;
    let a: BusClient;
    let b: BusClient;
    let c: BusClient;

    before(async () => {
      cluster = await BusCluster.start(fixture);
      gateway = await cluster.bus('gateway');
      a = await cluster.bus('agent-a');
      b = await cluster.bus('agent-b');
      c = await cluster.bus('agent-c');
    });
    after(async () => {
      cluster.assertAllValid();
      await cluster.close();
    });

    it('session, tenant, user, channel and trace reach the third nested agent; events carry them too', async () => {
      const seenEvents: Array<Record<string, unknown>> = [];
      await gateway.subscribe('sp.audit', (_p, e) =>
        seenEvents.push({ session_id: e.session_id, user_id: e.user_id, traceparent: e.traceparent }),
      ).ready;
      await c.handleInvoke('sp.c', async (_p, ctx: HandlerContext) => {
        await c.publish('sp.audit', { at: 'c' });
        return { ...ctx.session, traceparent: ctx.trace.traceparent, tracestate: ctx.trace.tracestate, from: ctx.envelope.from };
      }).ready;
      await b.handleStream('sp.b', async function* () {
        yield 'b-working';
        return await b.invoke('sp.c', {});
      }).ready;
      await a.handleInvoke('sp.a', async () => {
        const s = b.stream('sp.b', {});
        return await s.result();
      }).ready;
      const result = await gateway.invoke(
        'sp.a',
        {},
        {
          session_id: 'sess-1',
          conversation_id: 'conv-1',
          tenant_id: 'acme',
          user_id: 'u-7',
          channel: 'web',
          traceparent: TP,
          tracestate: 'vendor=1',
        },
      );
      assert.deepEqual(result, {
        session_id: 'sess-1',
        conversation_id: 'conv-1',
        tenant_id: 'acme',
        user_id: 'u-7',
        channel: 'web',
        traceparent: TP,
        tracestate: 'vendor=1',
        from: 'agent-b',
      });
      await until(() => seenEvents.length === 1);
      assert.deepEqual(seenEvents[0], { session_id: 'sess-1', user_id: 'u-7', traceparent: TP });
    });

    it('explicit options override the inherited session', async () => {
      await b.handleInvoke('sp.echo', (_p, ctx: HandlerContext) => ctx.session).ready;
      await a.handleInvoke('sp.override', () => a.invoke('sp.echo', {}, { user_id: 'someone-else' })).ready;
      const r = await gateway.invoke<Record<string, unknown>>('sp.override', {}, { session_id: 'keep', user_id: 'original' });
      assert.equal(r.session_id, 'keep');
      assert.equal(r.user_id, 'someone-else');
    });

    it('concurrent, interleaved handlers never see each other context', async () => {
      await c.handleInvoke('sp.slow-echo', async (p: { wait: number }) => {
        await new Promise((r) => setTimeout(r, p.wait));
        return currentCallContext()?.session.session_id;
      }).ready;
      await a.handleInvoke('sp.interleave', async (p: { wait: number }) => {
        const before = currentCallContext()?.session.session_id;
        await new Promise((r) => setTimeout(r, p.wait));
        const nested = await a.invoke<string>('sp.slow-echo', { wait: 20 - p.wait });
        const afterwards = currentCallContext()?.session.session_id;
        return [before, nested, afterwards];
      }).ready;
      const n = 30;
      const results = await Promise.all(
        Array.from({ length: n }, (_, i) => gateway.invoke<string[]>('sp.interleave', { wait: (i * 7) % 20 }, { session_id: `s-${i}` })),
      );
      results.forEach((r, i) => assert.deepEqual(r, [`s-${i}`, `s-${i}`, `s-${i}`], `call ${i}`));
      assert.equal(currentCallContext(), undefined, 'no context leaks out of handlers');
    });
  });
}
