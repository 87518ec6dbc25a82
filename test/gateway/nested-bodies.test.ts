import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { INestApplication } from '@nestjs/common';
import type { HandlerContext, StreamWriter } from '@openagentio/nestjs';
import { memoryBuses } from '../bridge/helpers.js';
import { gatewayApp } from './gateway-app.js';

// Issue 13 point 6: a body nested deeper than the bus can send is the client's error, 400, on every gateway
// endpoint and through either body reader (the app's parser, or the gateway's own for other content types).

describe('gateway: deeply nested bodies', () => {
  let env: Awaited<ReturnType<typeof memoryBuses>>;
  let app: INestApplication;
  let url: string;
  let served = 0;

  before(async () => {
    env = await memoryBuses('gateway', 'agent');
    env.buses[1].handleInvoke('echo', (p: unknown) => (served++, p));
    env.buses[1].handleStream('chat', async (_p: unknown, ctx: HandlerContext & { writer: StreamWriter }) => {
      served++;
      await ctx.writer.delta('hi');
    });
    ({ app, url } = await gatewayApp(env.buses[0], {
      invokeTargets: ['echo'],
      streamTargets: ['chat'],
      publishEvents: ['deep.*'],
      openai: { models: { chat: 'chat' } },
      bodyLimit: 4 * 1024 * 1024,
    }));
  });
  after(async () => {
    await app?.close();
    await env?.close();
  });

  const nested = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);
  const post = (path: string, body: string, type = 'application/json') =>
    fetch(url + path, { method: 'POST', headers: { 'content-type': type }, body });

  it('600 levels are a 400 INVALID_REQUEST naming the limit on invoke, stream, streams and publish; nothing reaches an agent', async () => {
    for (const path of ['/v1/agents/echo/invoke', '/v1/agents/chat/stream', '/v1/agents/chat/streams', '/v1/events/deep.one']) {
      for (const type of ['application/json', 'text/plain']) {
        const res = await post(path, `{"a":${nested(600)}}`, type);
        assert.equal(res.status, 400, `${path} (${type})`);
        const body = (await res.json()) as { code: string; message: string; retryable: boolean };
        assert.equal(body.code, 'INVALID_REQUEST');
        assert.match(body.message, /nests deeper than 512 levels/);
        assert.equal(body.retryable, false);
      }
    }
    assert.equal(served, 0);
  });

  it('the OpenAI endpoint answers 400 in its own error shape', async () => {
    const res = await post(
      '/v1/chat/completions',
      JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: JSON.parse(nested(600)) }] }),
    );
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: { type: string; message: string } };
    assert.equal(body.error.type, 'invalid_request_error');
    assert.match(body.error.message, /nests deeper than 512 levels/);
  });

  it('100,000 levels (parses in V8, cannot be sent) are a 400 too, and 500 levels still work', async () => {
    const res = await post('/v1/agents/echo/invoke', nested(100_000), 'text/plain');
    assert.equal(res.status, 400);
    const ok = await post('/v1/agents/echo/invoke', nested(500));
    assert.equal(ok.status, 200);
    assert.equal(served, 1);
  });
});
