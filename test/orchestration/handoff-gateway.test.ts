import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { INestApplication } from '@nestjs/common';
import OpenAI from 'openai';
import type { Envelope, HandlerContext, StreamWriter } from '@openagentio/nestjs';
import { memoryBuses, until } from '../bridge/helpers.js';
import { gatewayApp } from '../gateway/gateway-app.js';
import { openSse } from '../gateway/sse-client.js';

type SCtx = HandlerContext & { writer: StreamWriter };

/**
 * After a handoff the session remembers its active agent: the gateway (`followHandoffs`) sends the session's next
 * turn, addressed to the agent it always talks to, to the agent the session was handed to; from the SSE endpoints,
 * the detached streams, invoke and the OpenAI-compatible API.
 */
describe('the gateway follows handoffs (followHandoffs)', () => {
  let env: Awaited<ReturnType<typeof memoryBuses>>;
  let app: INestApplication;
  let url: string;
  const calls: Array<{ target: string; session?: string }> = [];

  before(async () => {
    env = await memoryBuses('gateway', 'agents');
    const agents = env.buses[1];
    agents.handleStream('triage', async function* (p: { text: string }, ctx: SCtx) {
      calls.push({ target: 'triage', session: ctx.session.session_id });
      yield 'Let me check. ';
      if (/bill|charge/.test(p.text)) return yield* agents.handoff('billing', { reason: 'billing question' });
      if (/audit/.test(p.text)) return yield* agents.handoff('internal.audit', { reason: 'audit' });
      return { answered_by: 'triage' };
    });
    for (const target of ['billing', 'internal.audit']) {
      agents.handleStream(target, async (_p: unknown, ctx: SCtx) => {
        calls.push({ target, session: ctx.session.session_id });
        await ctx.writer.delta(`${target} here.`);
        return { text: `${target} here.`, answered_by: target, finish_reason: 'stop' };
      });
    }
    agents.handleInvoke('triage.ask', (_p: unknown, ctx: HandlerContext) => {
      calls.push({ target: 'triage.ask', session: ctx.session.session_id });
      return { by: 'triage.ask' };
    });
    ({ app, url } = await gatewayApp(env.buses[0], {
      streamTargets: ['triage', 'billing'],
      invokeTargets: ['triage.ask'],
      openai: { models: { triage: 'triage' } },
      followHandoffs: true,
    }));
  });
  after(async () => {
    await app?.close();
    await env?.close();
  });

  const turn = async (target: string, session: string, text: string) => {
    const sse = await openSse(`${url}/v1/agents/${target}/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-session-id': session },
      body: JSON.stringify({ text }),
    });
    await sse.waitEnd();
    return sse.events.map((e) => JSON.parse(e.data) as Envelope);
  };
  const targetsOf = (session: string) => calls.filter((c) => c.session === session).map((c) => c.target);

  it('turn 1 is handed to billing in one stream; turn 2 of that session, addressed to triage, goes to billing', async () => {
    const first = await turn('triage', 's-gw-1', 'why the double charge?');
    assert.deepEqual(
      first.map((f) => f.event_type.replace('agent.response.', '')),
      ['started', 'delta', 'delta', 'delta', 'final'],
    );
    assert.equal((first[2].payload as { data: { handoff: { to: string } } }).data.handoff.to, 'billing');
    assert.deepEqual(targetsOf('s-gw-1'), ['triage', 'billing']);

    const second = await turn('triage', 's-gw-1', 'and my invoice?');
    assert.equal((second[0].payload as { meta: { target: string } }).meta.target, 'billing', 'started by billing');
    assert.deepEqual(targetsOf('s-gw-1'), ['triage', 'billing', 'billing'], 'triage was not called again');

    // Another session still starts at triage.
    await turn('triage', 's-gw-2', 'hello');
    assert.deepEqual(targetsOf('s-gw-2'), ['triage']);
  });

  it('the detached streams endpoint says where the turn went', async () => {
    await turn('triage', 's-gw-3', 'a charge I do not know');
    const res = await fetch(`${url}/v1/agents/triage/streams`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-session-id': 's-gw-3' },
      body: JSON.stringify({ text: 'again' }),
    });
    assert.equal(res.status, 201);
    assert.equal(((await res.json()) as { target: string }).target, 'billing');
    await until(() => targetsOf('s-gw-3').length === 3, 3000, 'billing called');
    assert.deepEqual(targetsOf('s-gw-3'), ['triage', 'billing', 'billing']);
  });

  it('never to a target the gateway does not expose: the turn stays where it was addressed', async () => {
    await turn('triage', 's-gw-4', 'audit please');
    assert.deepEqual(targetsOf('s-gw-4'), ['triage', 'internal.audit']);
    await turn('triage', 's-gw-4', 'hello again');
    assert.deepEqual(targetsOf('s-gw-4'), ['triage', 'internal.audit', 'triage']);
    // and invokes of targets outside the handoff chain are left alone
    const r = await fetch(`${url}/v1/agents/triage.ask/invoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-session-id': 's-gw-1' },
      body: '{}',
    });
    assert.deepEqual(await r.json(), { result: { by: 'triage.ask' } });
  });

  it('the OpenAI-compatible endpoint (official openai client): the next turn of the session goes to billing', async () => {
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0, defaultHeaders: { 'x-session-id': 's-oa-1' } });
    const ask = async (content: string) => {
      let text = '';
      const stream = await client.chat.completions.create({ model: 'triage', stream: true, messages: [{ role: 'user', content }] });
      for await (const c of stream) text += c.choices[0]?.delta?.content ?? '';
      return text;
    };
    assert.equal(await ask('a charge?'), 'Let me check. billing here.');
    assert.equal(await ask('still there?'), 'billing here.');
    assert.deepEqual(targetsOf('s-oa-1'), ['triage', 'billing', 'billing']);
  });
});
