import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import type { AddressInfo } from 'node:net';
import { BusModule, MemoryBroker } from '@openagentio/nestjs';
import { BridgeHealthService, BridgeModule } from '@openagentio/nestjs-bridges';
import { GatewayModule } from '@openagentio/nestjs-gateway';
import { OpenAiPeer } from '../support/openai-peer.js';
import { openSse } from './sse-client.js';

// The whole stack as an application wires it: BusModule + BridgeModule (bridges.yaml) + GatewayModule.forRootAsync,
// with the app's own body parser switched off (the gateway reads bodies itself).
describe('BusModule + BridgeModule + GatewayModule in one application', () => {
  let peer: OpenAiPeer;
  let app: INestApplication;
  let url: string;

  before(async () => {
    peer = await new OpenAiPeer().start();
    process.env.TEST_LLM_URL = peer.url;
    const mod = await Test.createTestingModule({
      imports: [
        BusModule.forRoot({ agentId: 'demo', transport: { memory: { broker: new MemoryBroker() } } }),
        BridgeModule.forRoot({
          config: `version: openagentio.bridge/v1
bridges:
  - name: llm
    type: openclaw_chat_sse
    config:
      base_url: \${TEST_LLM_URL}
      model: \${TEST_LLM_MODEL:-normal}
      token: \${TEST_LLM_TOKEN:-sk-local}
`,
        }),
        GatewayModule.forRootAsync({ useFactory: async () => ({ streamTargets: ['llm'], openai: { models: ['llm'] }, bodyLimit: 256 }) }),
      ],
    }).compile();
    app = mod.createNestApplication({ logger: false, bodyParser: false });
    await app.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
  });
  after(async () => {
    await app.close();
    await peer.stop();
  });

  it('streams the bridged endpoint through the gateway; health is reported', async () => {
    assert.equal(app.get(BridgeHealthService).check().status, 'healthy');
    const s = await openSse(`${url}/v1/agents/llm/stream`, { method: 'POST', body: JSON.stringify({ text: 'hi' }) });
    await s.waitEnd();
    const envs = s.events.map((e) => JSON.parse(e.data));
    assert.equal(envs.map((e) => e.payload?.delta ?? '').join(''), 'Hello, bus!');
    assert.equal(envs.at(-1).payload.result.finish_reason, 'stop');
    assert.equal(peer.requests.at(-1)!.headers.authorization, 'Bearer sk-local');
  });

  it('without the app body parser the gateway still answers 400 / 413 ErrorPayloads', async () => {
    const bad = await fetch(`${url}/v1/agents/llm/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{nope',
    });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as { code: string }).code, 'INVALID_REQUEST');
    const big = await fetch(`${url}/v1/agents/llm/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'x'.repeat(500) }),
    });
    assert.equal(big.status, 413);
  });

  it('shutdown stops the bridges before the bus closes', async () => {
    const health = app.get(BridgeHealthService);
    await app.close();
    assert.equal(health.check().status, 'stopped');
  });
});
