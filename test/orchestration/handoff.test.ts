import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type BusClient,
  BusError,
  type ChatMessage,
  type Envelope,
  handoffMarkerOf,
  handoffOf,
  type HandlerContext,
  type HandoffInfo,
  type HistoryPolicy,
  MemoryConversationStore,
  removeToolMessages,
  SessionRoutes,
  type StreamWriter,
} from '@openagentio/nestjs';
import { BusCluster, until } from '../support/bus-fixture.js';
import { transportFixtures } from '../support/transports.js';
import { abortable } from './helpers.js';

type StreamCtx = HandlerContext & { writer: StreamWriter };

/** A conversation with a tool call in it, so that each history policy has something to keep or leave out. */
const CONVERSATION: ChatMessage[] = [
  { role: 'system', content: 'You are the triage desk.' },
  { role: 'user', content: 'Hi, what is my plan?' },
  {
    role: 'assistant',
    content: null,
    tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup_plan', arguments: '{}' } }],
  },
  { role: 'tool', tool_call_id: 'call_1', content: '{"plan":"pro"}' },
  { role: 'user', content: 'Why was I charged twice?' },
];

const store = new MemoryConversationStore();
const POLICIES: Record<string, HistoryPolicy> = {
  all: 'all',
  none: 'none',
  nested: 'nested',
  'no-tools': { filter: removeToolMessages },
  'last-two': { filter: (m) => m.slice(-2) },
  reference: { reference: 'crm-conversation-77' },
  store: { store },
};

for (const fixture of transportFixtures) {
  describe(`handoff [${fixture.name}]`, () => {
    let cluster: BusCluster;
    let caller: BusClient;
    let agents: BusClient;
    /** What the billing agent received, per call. */
    const billing: Array<{ payload: Record<string, unknown>; session?: string; trace?: string; deadline?: number; env: Envelope }> = [];
    const billingAborted: number[] = [];

    before(async () => {
      cluster = await BusCluster.start(fixture);
      caller = await cluster.bus('caller', { livenessInterval: 200 });
      agents = await cluster.bus('agents', { livenessInterval: 200 });
      // The triage agent says something, then hands the conversation to billing with the history policy asked for.
      await agents.handleStream('ho.triage', async function* (p: { policy?: string; text: string; messages?: ChatMessage[] }) {
        yield 'Let me check. ';
        return yield* agents.handoff('ho.billing', {
          reason: 'billing question',
          state: { plan: 'pro', customer: 42 },
          history: POLICIES[p.policy ?? 'all'],
        });
      }).ready;
      await agents.handleStream('ho.billing', async (p: Record<string, unknown>, ctx: StreamCtx) => {
        billing.push({ payload: p, session: ctx.session.session_id, trace: ctx.trace.trace_id, deadline: ctx.deadline, env: ctx.envelope });
        ctx.signal.addEventListener('abort', () => billingAborted.push(Date.now()), { once: true });
        if (p.slow) await abortable(10_000, ctx.signal);
        if (p.fail) throw new BusError('AGENT_UNAVAILABLE', 'billing is down');
        await ctx.writer.delta('Billing ');
        await ctx.writer.delta('here.');
        return { answered_by: 'billing', turn: (handoffOf(p)?.depth ?? 0) > 0 ? 'handed' : 'direct' };
      }).ready;
      // Two agents that hand the turn to each other: the loop guard must stop them.
      for (const [me, other] of [
        ['ho.ping', 'ho.pong'],
        ['ho.pong', 'ho.ping'],
      ]) {
        await agents.handleStream(me, async function* (p: { allowRevisit?: boolean; maxDepth?: number }) {
          yield `${me} `;
          return yield* agents.handoff(other, { reason: 'your turn', allowRevisit: p.allowRevisit, maxDepth: p.maxDepth });
        }).ready;
      }
      // A writer handler hands off with pipeTo; an invoke handler with result().
      await agents.handleStream('ho.writer-desk', async (_p: unknown, ctx: StreamCtx) => {
        await ctx.writer.delta('One moment. ');
        return agents.handoff('ho.billing', { reason: 'from a writer handler' }).pipeTo(ctx.writer);
      }).ready;
      await agents.handleInvoke('ho.invoke-desk', (p: { text: string }) =>
        agents.handoff('ho.refunds', { kind: 'invoke', reason: 'refund', input: { amount: 12, text: p.text } }).result(),
      ).ready;
      await agents.handleInvoke('ho.refunds', (p: Record<string, unknown>) => ({ refunded: p.amount, handoff: handoffOf(p) }));
    });
    after(async () => {
      cluster.assertAllValid();
      await cluster.close();
    });

    const frames = async (target: string, payload: unknown, opts = {}) => {
      const out: Envelope[] = [];
      for await (const f of caller.stream(target, payload, { yieldErrors: true, ...opts })) out.push(f);
      return out;
    };

    it('the caller sees one stream: the first agent, the handoff marker, the second agent and its final', async () => {
      const got = await frames('ho.triage', { text: 'charged twice', messages: CONVERSATION }, { session_id: 'sess-ho-1' });
      assert.deepEqual(
        got.map((f) => f.event_type.replace('agent.response.', '')),
        ['started', 'delta', 'delta', 'delta', 'delta', 'final'],
      );
      got.forEach((f, i) => assert.equal(f.seq ?? 0, i, 'one stream: seq without gaps'));
      assert.ok(got.every((f) => f.correlation_id === got[0].correlation_id && f.session_id === 'sess-ho-1'));
      assert.deepEqual(got[1].payload, { delta: 'Let me check. ' });
      assert.deepEqual(got[2].payload, {
        data: {
          handoff: {
            from: 'ho.triage',
            to: 'ho.billing',
            depth: 1,
            chain: ['ho.triage', 'ho.billing'],
            history: { policy: 'all', count: 5 },
            reason: 'billing question',
          },
        },
      });
      const marker = handoffMarkerOf(got[2])!;
      assert.equal(marker.to, 'ho.billing');
      assert.equal('state' in marker, false, 'the state is for the next agent, not the caller');
      assert.equal(handoffMarkerOf(got[1]), undefined);
      assert.deepEqual(
        got.slice(3, 5).map((f) => f.payload),
        [{ delta: 'Billing ' }, { delta: 'here.' }],
      );
      assert.deepEqual(got[5].payload, { result: { answered_by: 'billing', turn: 'handed' } });
    });

    it('the second agent gets the same session and trace, at most the time left, the reason and the state', async () => {
      billing.length = 0;
      const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
      const before = Date.now();
      await frames('ho.triage', { text: 'x' }, { session_id: 'sess-ho-2', traceparent, timeout: 4000 });
      const b = billing[0];
      assert.equal(b.session, 'sess-ho-2');
      assert.equal(b.trace, '0af7651916cd43dd8448eb211c80319c');
      assert.ok(b.deadline !== undefined && b.deadline <= before + 4000 + 5, `deadline ${b.deadline! - before} ms after the call`);
      const h = handoffOf(b.payload)!;
      assert.equal(h.reason, 'billing question');
      assert.deepEqual(h.state, { plan: 'pro', customer: 42 });
      assert.deepEqual(h.chain, ['ho.triage', 'ho.billing']);
      assert.equal(h.from, 'ho.triage');
      assert.equal(b.payload.text, 'x', "the first agent's input is the second agent's payload");
    });

    it('each history policy delivers exactly the expected messages', async () => {
      const expected: Record<string, { messages: ChatMessage[] | undefined; history: HandoffInfo['history'] }> = {
        all: { messages: CONVERSATION, history: { policy: 'all', count: 5 } },
        none: { messages: undefined, history: { policy: 'none', count: 0 } },
        'no-tools': { messages: [CONVERSATION[0], CONVERSATION[1], CONVERSATION[4]], history: { policy: 'filtered', count: 3 } },
        'last-two': { messages: CONVERSATION.slice(-2), history: { policy: 'filtered', count: 2 } },
        reference: { messages: undefined, history: { policy: 'reference', ref: 'crm-conversation-77' } },
      };
      for (const [policy, want] of Object.entries(expected)) {
        billing.length = 0;
        await frames('ho.triage', { text: 'x', policy, messages: CONVERSATION }, { session_id: 'sess-ho-3' });
        assert.deepEqual(billing[0].payload.messages, want.messages, policy);
        assert.deepEqual(handoffOf(billing[0].payload)!.history, want.history, policy);
      }
      // nested: one assistant message with the transcript
      billing.length = 0;
      await frames('ho.triage', { text: 'x', policy: 'nested', messages: CONVERSATION }, { session_id: 'sess-ho-3' });
      assert.deepEqual(billing[0].payload.messages, [
        {
          role: 'assistant',
          content:
            'For context, here is the conversation so far:\n<CONVERSATION HISTORY>\n' +
            '1. system: You are the triage desk.\n2. user: Hi, what is my plan?\n3. assistant: [called lookup_plan({})]\n' +
            '4. tool: {"plan":"pro"}\n5. user: Why was I charged twice?\n</CONVERSATION HISTORY>',
        },
      ]);
      // store: the conversation is stored, the next agent gets its reference and reads exactly it back
      billing.length = 0;
      await frames('ho.triage', { text: 'x', policy: 'store', messages: CONVERSATION }, { session_id: 'sess-ho-3' });
      assert.equal(billing[0].payload.messages, undefined);
      const h = handoffOf(billing[0].payload)!.history;
      assert.equal(h.policy, 'reference');
      assert.equal(h.count, 5);
      assert.match(h.ref!, /^conv_sess-ho-3_/);
      assert.deepEqual(store.get(h.ref!), CONVERSATION);
    });

    it('A → B → A fails with a clear loop error; with revisits allowed, the depth limit stops it', async () => {
      const loop = await frames('ho.ping', {}, { session_id: 'sess-loop' });
      const err = loop.at(-1)!;
      assert.equal(err.event_type, 'agent.response.error');
      assert.deepEqual(
        loop
          .filter((f) => f.event_type === 'agent.response.delta')
          .map((f) => handoffMarkerOf(f)?.to ?? (f.payload as { delta: string }).delta),
        ['ho.ping ', 'ho.pong', 'ho.pong '],
      );
      assert.equal((err.payload as { code: string }).code, 'INVALID_REQUEST');
      assert.equal(
        (err.payload as { message: string }).message,
        'handoff loop: ho.ping → ho.pong → ho.ping ("ho.ping" already had this conversation in this turn; pass allowRevisit to allow it, bounded by maxDepth)',
      );
      assert.deepEqual((err.payload as { cause: unknown }).cause, { reason: 'handoff_loop', chain: ['ho.ping', 'ho.pong', 'ho.ping'] });

      const deep = await frames('ho.ping', { allowRevisit: true, maxDepth: 3 });
      const last = deep.at(-1)!;
      assert.equal(last.event_type, 'agent.response.error');
      assert.equal(
        (last.payload as { message: string }).message,
        'handoff depth limit: ho.ping → ho.pong → ho.ping → ho.pong → ho.ping would be handoff 4, maxDepth is 3',
      );
      assert.equal(deep.filter((f) => handoffMarkerOf(f)).length, 3, 'three handoffs happened, the fourth was refused');
      await assert.rejects(
        caller.stream('ho.ping', {}).text(),
        (e: BusError) => e.code === 'INVALID_REQUEST' && /handoff loop/.test(e.message),
      );
    });

    it('the session remembers its active agent: the next turn addressed to triage resolves to billing', async () => {
      const routes = SessionRoutes.of(caller);
      await routes.start();
      await frames('ho.triage', { text: 'x' }, { session_id: 'sess-route', tenant_id: 'acme' });
      await until(() => routes.store.get('acme\u0000sess-route') !== undefined, 3000, 'the handoff event');
      assert.equal(await routes.resolve('ho.triage', { session_id: 'sess-route', tenant_id: 'acme' }), 'ho.billing');
      assert.equal(await routes.resolve('ho.triage', { session_id: 'sess-route' }), 'ho.triage', 'another tenant');
      assert.equal(await routes.resolve('ho.triage', { session_id: 'sess-other', tenant_id: 'acme' }), 'ho.triage', 'another session');
      assert.equal(await routes.resolve('ho.writer', { session_id: 'sess-route', tenant_id: 'acme' }), 'ho.writer', 'not in the chain');
      const active = await routes.active({ session_id: 'sess-route', tenant_id: 'acme' });
      assert.deepEqual(
        { ...active, at: 0 },
        { agent: 'ho.billing', from: 'ho.triage', chain: ['ho.triage', 'ho.billing'], reason: 'billing question', at: 0 },
      );
      await routes.release({ session_id: 'sess-route', tenant_id: 'acme' });
      assert.equal(await routes.resolve('ho.triage', { session_id: 'sess-route', tenant_id: 'acme' }), 'ho.triage');
    });

    it('a caller that cancels during the second agent cancels it', async () => {
      billingAborted.length = 0;
      billing.length = 0;
      const call = caller.stream('ho.triage', { text: 'x', slow: true });
      let sawMarker = false;
      for await (const f of call) {
        if (handoffMarkerOf(f)) {
          sawMarker = true;
          // Cancelled once billing runs (before, the handoff would simply never call it).
          await until(() => billing.length === 1, 3000, 'billing running');
          break;
        }
      }
      assert.ok(sawMarker);
      const cancelledAt = Date.now();
      await until(() => billingAborted.length === 1, 3000, 'billing aborted');
      assert.ok(billingAborted[0] - cancelledAt < 500, `billing aborted ${billingAborted[0] - cancelledAt} ms after the cancel`);
    });

    it("the second agent's error ends the one stream, after the marker", async () => {
      const got = await frames('ho.triage', { text: 'x', fail: true });
      assert.equal(got.filter((f) => handoffMarkerOf(f)).length, 1);
      assert.equal(got.at(-1)!.event_type, 'agent.response.error');
      assert.deepEqual(got.at(-1)!.payload, { code: 'AGENT_UNAVAILABLE', message: 'billing is down', retryable: true });
    });

    it('from a writer handler (pipeTo) and from an invoke handler (result)', async () => {
      const text = await caller.stream('ho.writer-desk', {}).text();
      assert.equal(text, 'One moment. Billing here.');
      const r = (await caller.invoke('ho.invoke-desk', { text: 'refund me' }, { session_id: 'sess-inv' })) as {
        refunded: number;
        handoff: HandoffInfo;
      };
      assert.equal(r.refunded, 12);
      assert.deepEqual(r.handoff.chain, ['ho.invoke-desk', 'ho.refunds']);
      assert.equal(r.handoff.reason, 'refund');
    });
  });
}
