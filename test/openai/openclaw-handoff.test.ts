import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { INestApplication } from '@nestjs/common';
import OpenAI from 'openai';
import { type Envelope, handoffMarkerOf, handoffOf, type HandlerContext, type StreamWriter } from '@openagentio/nestjs';
import { BridgeConfigError, OpenClawChatSseBridge } from '@openagentio/nestjs-bridges';
import { BridgeSupervisor } from '@openagentio/nestjs-bridges/internal/supervision/bridge-supervisor.js';
import { memoryBuses, quietLogger } from '../bridge/helpers.js';
import { gatewayApp } from '../gateway/gateway-app.js';
import { OpenAiPeer } from '../support/openai-peer.js';

type SCtx = HandlerContext & { writer: StreamWriter };

/**
 * A model behind the openclaw_chat_sse bridge hands the conversation to a bus agent the way the OpenAI Agents SDK
 * models handoffs: it is offered a `transfer_to_<agent>` tool and calls it; the bridge's stream then ends in a handoff
 * to that agent (marker, the agent's frames, its final), and the session's next turn goes to the agent.
 */
describe('openclaw_chat_sse: a transfer_to_<agent> tool call is a handoff', () => {
  let peer: OpenAiPeer;
  let env: Awaited<ReturnType<typeof memoryBuses>>;
  const supervisors: BridgeSupervisor[] = [];
  const billing: Array<Record<string, unknown>> = [];
  let app: INestApplication;
  let url: string;

  const bridge = async (name: string, extra: Record<string, unknown> = {}) => {
    const b = new OpenClawChatSseBridge(name, {
      base_url: peer.url,
      model: 'handoff',
      handoffs: [{ target: 'billing', description: 'Questions about invoices, charges and refunds.' }],
      retry_initial_ms: 10,
      ...extra,
    });
    const s = new BridgeSupervisor(b, env.buses[0], quietLogger);
    supervisors.push(s);
    await s.start();
    return b;
  };

  before(async () => {
    peer = await new OpenAiPeer().start();
    env = await memoryBuses('bridge-host', 'agents', 'gateway');
    env.buses[1].handleStream('billing', async (p: Record<string, unknown>, ctx: SCtx) => {
      billing.push(p);
      await ctx.writer.delta('Billing here.');
      return { text: 'Billing here.', finish_reason: 'stop', usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } };
    });
    await bridge('llm');
    await bridge('llm-all', { handoff_history: 'all' });
    ({ app, url } = await gatewayApp(env.buses[2], {
      streamTargets: ['billing'],
      openai: { models: { assistant: 'llm' } },
      followHandoffs: true,
    }));
  });
  after(async () => {
    await app?.close();
    for (const s of supervisors) await s.stop();
    await env.close();
    await peer.stop();
  });

  const QUESTION = [
    { role: 'system', content: 'You are the front desk.' },
    { role: 'user', content: 'Why was I charged twice?' },
  ];

  it('offers the tool, hides the call, and ends in one stream: its text, the marker, the agent, its final', async () => {
    billing.length = 0;
    const frames: Envelope[] = [];
    for await (const f of env.buses[1].stream('llm', { messages: QUESTION }, { session_id: 'sess-oc-1' })) frames.push(f);
    const tools = peer.requests.at(-1)!.body.tools as Array<{
      type: string;
      function: { name: string; description: string; parameters: unknown };
    }>;
    assert.deepEqual(tools, [
      {
        type: 'function',
        function: {
          name: 'transfer_to_billing',
          description: 'Questions about invoices, charges and refunds.',
          parameters: {
            type: 'object',
            properties: { reason: { type: 'string', description: 'Why the conversation goes to this agent.' } },
            additionalProperties: true,
          },
        },
      },
    ]);
    assert.deepEqual(
      frames.map((f) =>
        f.event_type === 'agent.response.delta' ? (handoffMarkerOf(f) ? 'marker' : (f.payload as { delta?: string }).delta) : f.event_type,
      ),
      ['agent.response.started', 'Let me ', 'transfer you. ', 'marker', 'Billing here.', 'agent.response.final'],
      'no tool_calls delta: the handoff call is not for the caller to run',
    );
    assert.deepEqual(handoffMarkerOf(frames[3]), {
      from: 'llm',
      to: 'billing',
      depth: 1,
      chain: ['llm', 'billing'],
      history: { policy: 'filtered', count: 3 },
      reason: 'billing question',
    });
    assert.deepEqual((frames.at(-1)!.payload as { result: unknown }).result, {
      text: 'Billing here.',
      finish_reason: 'stop',
      usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 },
    });
    // remove_tools (the default): the conversation and the model's text, without the tool call and its result
    assert.deepEqual(billing[0].messages, [...QUESTION, { role: 'assistant', content: 'Let me transfer you. ' }]);
    const h = handoffOf(billing[0])!;
    assert.equal(h.reason, 'billing question');
    assert.deepEqual(h.state, { reason: 'billing question' });
  });

  it('handoff_history: all passes the handoff call and its transfer result as the SDK records them', async () => {
    billing.length = 0;
    await env.buses[1].stream('llm-all', { messages: QUESTION }).text();
    assert.deepEqual(billing[0].messages, [
      ...QUESTION,
      {
        role: 'assistant',
        content: 'Let me transfer you. ',
        tool_calls: [
          { id: 'call_h1', type: 'function', function: { name: 'transfer_to_billing', arguments: '{"reason":"billing question"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_h1', content: '{"assistant":"billing"}' },
    ]);
  });

  it('through the OpenAI-compatible endpoint (official openai client): one answer; the next turn goes to billing', async () => {
    billing.length = 0;
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0, defaultHeaders: { 'x-session-id': 'sess-oc-2' } });
    const ask = async (content: string) => {
      let text = '';
      let toolCalls = 0;
      let finish: string | null = null;
      const stream = await client.chat.completions.create({ model: 'assistant', stream: true, messages: [{ role: 'user', content }] });
      for await (const c of stream) {
        text += c.choices[0]?.delta?.content ?? '';
        toolCalls += c.choices[0]?.delta?.tool_calls?.length ?? 0;
        finish = c.choices[0]?.finish_reason ?? finish;
      }
      return { text, toolCalls, finish };
    };
    const upstreamBefore = peer.requests.length;
    assert.deepEqual(await ask('Why was I charged twice?'), { text: 'Let me transfer you. Billing here.', toolCalls: 0, finish: 'stop' });
    assert.equal(peer.requests.length, upstreamBefore + 1);
    assert.deepEqual(await ask('And the refund?'), { text: 'Billing here.', toolCalls: 0, finish: 'stop' });
    assert.equal(peer.requests.length, upstreamBefore + 1, 'the second turn did not go to the model');
    assert.equal(billing.length, 2);
    assert.equal(handoffOf(billing[1]), undefined, 'the second turn is a plain call to billing');
  });

  it('a model that was offered no handoff answers itself; bad handoff configuration is a start-up error', async () => {
    const plain = new OpenClawChatSseBridge('llm-plain', { base_url: peer.url, model: 'handoff' });
    const s = new BridgeSupervisor(plain, env.buses[0], quietLogger);
    supervisors.push(s);
    await s.start();
    assert.equal(await env.buses[1].stream('llm-plain', 'hi').text(), 'Let me answer myself.');
    assert.throws(
      () => new OpenClawChatSseBridge('x', { base_url: peer.url, handoffs: 'billing' }),
      (e: Error) => e instanceof BridgeConfigError && /config\.handoffs must be a list of targets/.test(e.message),
    );
    assert.throws(
      () => new OpenClawChatSseBridge('x', { base_url: peer.url, handoffs: ['billing'], handoff_history: 'some' }),
      /config\.handoff_history must be one of remove_tools, all, nested, none/,
    );
    assert.throws(
      () => new OpenClawChatSseBridge('x', { base_url: peer.url, handoffs: [{ target: 'a', tool: 'bad name' }] }),
      /is not a function name/,
    );
  });
});
