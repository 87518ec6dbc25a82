import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { INestApplication } from '@nestjs/common';
import type { HandlerContext } from '@openagentio/nestjs';
// The replay buffer under unit test, through the package's internal/ entry (not public API).
import { ReplayBuffer } from '@openagentio/nestjs-gateway/internal/replay-buffer.js';
import { createEvent } from '@openagentio/nestjs/internal/protocol/envelope-factory.js';
import { memoryBuses } from '../bridge/helpers.js';
import { gatewayApp } from './gateway-app.js';

// Issue 13 point 8: detached streams have a per-identity quota, and replay buffers a memory bound.

describe('gateway quotas', () => {
  let env: Awaited<ReturnType<typeof memoryBuses>>;
  let app: INestApplication;
  let url: string;

  before(async () => {
    env = await memoryBuses('gateway', 'agent');
    env.buses[1].handleStream('idle', async (_p: unknown, ctx: HandlerContext) => {
      await new Promise((r) => ctx.signal.addEventListener('abort', r));
    });
    ({ app, url } = await gatewayApp(env.buses[0], {
      streamTargets: ['idle'],
      maxDetachedStreams: 2,
      detachGraceMs: 60_000,
      auth: { bearerTokens: { 'token-ann': { tenant_id: 'acme', user_id: 'ann' }, 'token-bob': { tenant_id: 'acme', user_id: 'bob' } } },
    }));
  });
  after(async () => {
    await app?.close();
    await env?.close();
  });

  const start = (token: string) =>
    fetch(`${url}/v1/agents/idle/streams`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: '{}',
    });

  it('an identity may run maxDetachedStreams detached streams; the next is 429 BACKPRESSURE_DROP until one ends; others are not affected', async () => {
    const first = (await (await start('token-ann')).json()) as { stream_id: string };
    assert.equal((await start('token-ann')).status, 201);
    const refused = await start('token-ann');
    assert.equal(refused.status, 429);
    const body = (await refused.json()) as { code: string; message: string };
    assert.equal(body.code, 'BACKPRESSURE_DROP');
    assert.match(body.message, /limit 2/);
    assert.equal((await start('token-bob')).status, 201, 'another identity has its own quota');
    const del = await fetch(`${url}/v1/streams/${first.stream_id}`, { method: 'DELETE', headers: { authorization: 'Bearer token-ann' } });
    assert.ok(del.status < 300);
    assert.equal((await start('token-ann')).status, 201, 'ending one frees a slot');
  });

  it('a replay buffer keeps at most its byte bound (the newest frame always)', () => {
    const buf = new ReplayBuffer(1_000_000, 100_000);
    for (let i = 0; i < 1_000; i++) buf.push(createEvent('agent.response.delta', { delta: 'x'.repeat(10_000) }, { from: 't' }));
    assert.ok(buf.bytes <= 100_000, `holds ${buf.bytes} bytes`);
    assert.ok(buf.size >= 1 && buf.size <= 10);
    assert.equal(buf.dropped + buf.size, 1_000);
    const big = new ReplayBuffer(10, 100);
    big.push(createEvent('agent.response.delta', { delta: 'y'.repeat(10_000) }, { from: 't' }));
    assert.equal(big.size, 1, 'a single frame larger than the bound is still kept for resumption');
  });
});
