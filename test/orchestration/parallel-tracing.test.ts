import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { type BusClient, BusError, type HandlerContext } from '@openagentio/nestjs';
import { BusCluster, until } from '../support/bus-fixture.js';
import { transportFixtures } from '../support/transports.js';
import { installTracing, renderTree } from '../observability/otel-test-sdk.js';
import { abortable } from './helpers.js';

// A tracing SDK in this process (its own file: the SDK is global, and other suites measure the untraced path).
const otel = installTracing();

for (const fixture of transportFixtures.filter((f) => f.name !== 'memory (object copies, direct calls)')) {
  describe(`parallel fan-out tracing [${fixture.name}]`, () => {
    let cluster: BusCluster;
    let caller: BusClient;
    let agent: BusClient;

    before(async () => {
      cluster = await BusCluster.start(fixture);
      caller = await cluster.bus('caller');
      agent = await cluster.bus('agent');
      await agent.handleInvoke('tr.work', async (p: { ms: number; fail?: boolean }, ctx: HandlerContext) => {
        await abortable(p.ms, ctx.signal);
        if (p.fail) throw new BusError('AGENT_UNAVAILABLE', 'no');
        return p.ms;
      }).ready;
      await agent.handleStream('tr.words', async function* () {
        yield 'a';
        yield 'b';
      }).ready;
      await agent.handleInvoke('tr.fan', () =>
        agent.parallel(
          [
            { name: 'fast', invoke: 'tr.work', payload: { ms: 1 } },
            { name: 'words', stream: 'tr.words' },
            { name: 'slow', invoke: 'tr.work', payload: { ms: 10_000 } },
          ],
          { mode: 'quorum', quorum: 2 },
        ),
      ).ready;
    });
    after(async () => {
      cluster.assertAllValid();
      await cluster.close();
    });

    it('each branch is its own span under the caller span, and the parent of its call', async () => {
      otel.reset();
      await caller.invoke('tr.fan', {}, { session_id: 'sess-tr' });
      // caller invoke, handle tr.fan, 3 branch spans, 3 calls, 3 handler spans
      await until(() => otel.finished().length >= 11, 5000, 'eleven spans');
      const spans = otel.finished();
      const tree = renderTree(spans, { attributes: ['acp.parallel.outcome'] });
      const byName = (n: string) => spans.filter((s) => s.name === n);
      const handle = byName('handle tr.fan')[0];
      const branches = ['fast', 'words', 'slow'].map((b) => byName(`parallel ${b}`)[0]);
      for (const b of branches) {
        assert.ok(b, tree);
        assert.equal(b.parentSpanContext?.spanId, handle.spanContext().spanId, `${b.name} is a child of the handler span\n${tree}`);
        assert.equal(b.spanContext().traceId, handle.spanContext().traceId);
      }
      const childOf = (parent: ReadableSpan, name: string) =>
        spans.find((s) => s.name === name && s.parentSpanContext?.spanId === parent.spanContext().spanId);
      assert.ok(childOf(branches[0], 'invoke tr.work'), tree);
      assert.ok(childOf(branches[1], 'stream tr.words'), tree);
      assert.ok(childOf(branches[2], 'invoke tr.work'), tree);
      assert.deepEqual(
        branches.map((b) => [b.attributes['acp.parallel.mode'], b.attributes['acp.parallel.branch'], b.attributes['acp.parallel.outcome']]),
        [
          ['quorum', 'fast', 'ok'],
          ['quorum', 'words', 'ok'],
          ['quorum', 'slow', 'cancelled'],
        ],
      );
    });
  });
}
