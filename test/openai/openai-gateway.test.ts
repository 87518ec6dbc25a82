import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { INestApplication } from '@nestjs/common';
import OpenAI from 'openai';
import { BusError, type HandlerContext, type StreamWriter } from '@openagentio/nestjs';
import { OpenClawChatSseBridge } from '@openagentio/nestjs-bridges';
import { BridgeSupervisor } from '@openagentio/nestjs-bridges/internal/supervision/bridge-supervisor.js';
import { memoryBuses, quietLogger, until } from '../bridge/helpers.js';
import { gatewayApp } from '../gateway/gateway-app.js';
import { OpenAiPeer } from '../support/openai-peer.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
type SCtx = HandlerContext & { writer: StreamWriter };

describe('bus stream targets as an OpenAI-compatible API (official openai client)', () => {
  let env: Awaited<ReturnType<typeof memoryBuses>>;
  let app: INestApplication;
  let client: OpenAI;
  let peer: OpenAiPeer;
  let supervisor: BridgeSupervisor;
  const aborted: string[] = [];
  const payloads: unknown[] = [];

  before(async () => {
    env = await memoryBuses('gateway', 'agent');
    const agent = env.buses[1];
    agent.handleStream('writer', async (p: unknown, ctx: SCtx) => {
      payloads.push(p);
      ctx.signal.addEventListener('abort', () => aborted.push('writer'));
      for (const w of ['Once ', 'upon ', 'a ', 'time.']) await ctx.writer.delta(w);
      return { text: 'Once upon a time.', finish_reason: 'stop', usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 } };
    });
    agent.handleStream('slow', async (_p: unknown, ctx: SCtx) => {
      ctx.signal.addEventListener('abort', () => aborted.push('slow'));
      for (let i = 0; i < 200 && !ctx.signal.aborted; i++) {
        await ctx.writer.delta(`s${i} `);
        await sleep(20);
      }
      return 'done';
    });
    agent.handleStream('midfail', async (_p: unknown, ctx: SCtx) => {
      await ctx.writer.delta('partial ');
      await sleep(10);
      throw new BusError('AGENT_UNAVAILABLE', 'model crashed');
    });
    agent.handleStream('earlyfail', async () => {
      throw new BusError('INVALID_REQUEST', 'prompt rejected');
    });
    agent.handleStream('tooly', async (_p: unknown, ctx: SCtx) => {
      await ctx.writer.data({
        tool_calls: [{ index: 0, id: 'call_9', type: 'function', function: { name: 'lookup', arguments: '{"q":' } }],
      });
      await ctx.writer.data({ tool_calls: [{ index: 0, function: { arguments: '"nats"}' } }] });
      return { finish_reason: 'tool_calls' };
    });
    peer = await new OpenAiPeer().start();
    supervisor = new BridgeSupervisor(new OpenClawChatSseBridge('llm', { base_url: peer.url, model: 'normal' }), agent, quietLogger);
    await supervisor.start();
    let url: string;
    ({ app, url } = await gatewayApp(env.buses[0], {
      openai: {
        models: {
          'bus-writer': 'writer',
          'bus-slow': 'slow',
          'bus-midfail': 'midfail',
          'bus-earlyfail': 'earlyfail',
          'bus-tools': 'tooly',
          'bus-llm': 'llm',
        },
      },
      auth: { bearerTokens: { 'sk-gw': { tenant_id: 't1', user_id: 'u1' } } },
    }));
    client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'sk-gw', maxRetries: 0 });
  });
  after(async () => {
    await supervisor.stop();
    await app.close();
    await env.close();
    await peer.stop();
  });

  it('GET /v1/models lists the exposed models', async () => {
    const ids: string[] = [];
    for await (const m of client.models.list()) ids.push(m.id);
    assert.deepEqual(ids.sort(), ['bus-earlyfail', 'bus-llm', 'bus-midfail', 'bus-slow', 'bus-tools', 'bus-writer']);
  });

  it('streaming: content chunks, finish_reason and usage', async () => {
    const stream = await client.chat.completions.create({
      model: 'bus-writer',
      messages: [
        { role: 'system', content: 's' },
        { role: 'user', content: 'tell a story' },
      ],
      stream: true,
      stream_options: { include_usage: true },
      temperature: 0.2,
      reasoning_effort: 'low',
    });
    let text = '';
    let finish: string | null = null;
    let usage: unknown;
    let chunks = 0;
    for await (const c of stream) {
      chunks++;
      text += c.choices[0]?.delta?.content ?? '';
      finish = c.choices[0]?.finish_reason ?? finish;
      if (c.usage) usage = c.usage;
    }
    assert.equal(text, 'Once upon a time.');
    assert.equal(finish, 'stop');
    assert.deepEqual(usage, { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 });
    assert.ok(chunks >= 6);
    const p = payloads.at(-1) as Record<string, unknown>;
    assert.equal(p.text, 'tell a story');
    assert.equal(p.temperature, 0.2);
    // The OpenAI-SSE bridge passes reasoning_effort upstream, so the gateway must not drop it on the way in.
    assert.equal(p.reasoning_effort, 'low');
    assert.equal((p.messages as unknown[]).length, 2);
  });

  it('non-streaming completion', async () => {
    const r = await client.chat.completions.create({ model: 'bus-writer', messages: [{ role: 'user', content: 'x' }] });
    assert.equal(r.object, 'chat.completion');
    assert.equal(r.choices[0].message.content, 'Once upon a time.');
    assert.equal(r.choices[0].finish_reason, 'stop');
    assert.equal(r.usage?.total_tokens, 7);
  });

  it('tool-call deltas stream as tool_calls chunks', async () => {
    const s = client.chat.completions.stream({ model: 'bus-tools', messages: [{ role: 'user', content: 'x' }] });
    const final = await s.finalChatCompletion();
    assert.equal(final.choices[0].finish_reason, 'tool_calls');
    const call = final.choices[0].message.tool_calls![0] as { id: string; function: { name: string; arguments: string } };
    assert.equal(call.function.name, 'lookup');
    assert.equal(call.function.arguments, '{"q":"nats"}');
  });

  it('an error after the first chunk is an explicit error chunk (the client throws), never a fake stop', async () => {
    const stream = await client.chat.completions.create({ model: 'bus-midfail', messages: [{ role: 'user', content: 'x' }], stream: true });
    let text = '';
    let finish: string | null = null;
    await assert.rejects(
      async () => {
        for await (const c of stream) {
          text += c.choices[0]?.delta?.content ?? '';
          finish = c.choices[0]?.finish_reason ?? finish;
        }
      },
      (e: unknown) => e instanceof OpenAI.APIError && /model crashed/.test((e as Error).message),
    );
    assert.equal(text, 'partial ');
    assert.equal(finish, null);
  });

  it('an error before the first chunk is an HTTP error in OpenAI shape', async () => {
    await assert.rejects(
      client.chat.completions.create({ model: 'bus-earlyfail', messages: [{ role: 'user', content: 'x' }], stream: true }),
      (e: unknown) => e instanceof OpenAI.BadRequestError && /prompt rejected/.test((e as Error).message),
    );
  });

  it('unknown model: 404 in OpenAI error shape', async () => {
    await assert.rejects(
      client.chat.completions.create({ model: 'gpt-nope', messages: [{ role: 'user', content: 'x' }] }),
      (e: unknown) => {
        assert.ok(e instanceof OpenAI.NotFoundError);
        assert.equal((e as InstanceType<typeof OpenAI.NotFoundError>).status, 404);
        assert.equal((e as InstanceType<typeof OpenAI.NotFoundError>).code, 'model_not_found');
        assert.equal((e as InstanceType<typeof OpenAI.NotFoundError>).param, 'model');
        return true;
      },
    );
  });

  it('a bad token is a 401 AuthenticationError', async () => {
    const bad = new OpenAI({ baseURL: client.baseURL, apiKey: 'wrong', maxRetries: 0 });
    await assert.rejects(
      bad.chat.completions.create({ model: 'bus-writer', messages: [] }),
      (e: unknown) => e instanceof OpenAI.AuthenticationError,
    );
  });

  it('aborting the request cancels the bus handler', async () => {
    const ac = new AbortController();
    const stream = await client.chat.completions.create(
      { model: 'bus-slow', messages: [{ role: 'user', content: 'x' }], stream: true },
      { signal: ac.signal },
    );
    let n = 0;
    for await (const c of stream) {
      if (c.choices[0]?.delta?.content && ++n === 3) ac.abort();
    }
    assert.equal(ac.signal.aborted, true);
    await until(() => aborted.includes('slow'), 3000, 'slow handler aborted');
  });

  it('round trip: openai client → gateway → bus → openclaw_chat_sse bridge → OpenAI-compatible peer', async () => {
    const stream = await client.chat.completions.create({
      model: 'bus-llm',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: { total_tokens?: number } | undefined;
    for await (const c of stream) {
      text += c.choices[0]?.delta?.content ?? '';
      if (c.usage) usage = c.usage;
    }
    assert.equal(text, 'Hello, bus!');
    assert.equal(usage?.total_tokens, 14);
    // The alias chose the target; the upstream got the bridge's configured model, not the alias.
    assert.equal(peer.requests.at(-1)?.body.model, 'normal');
  });
});
