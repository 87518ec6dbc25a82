import assert from 'node:assert/strict';
import { request, type IncomingMessage } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { INestApplication } from '@nestjs/common';
import type { BusClient, HandlerContext, StreamWriter } from '@openagentio/nestjs';
import { memoryBuses } from '../bridge/helpers.js';
import { deferred } from '../support/bus-fixture.js';
import { gatewayApp } from './gateway-app.js';
import { heapAfterGc } from '../support/heap.js';

// Issue 13 point 4: an SSE client that stops reading must slow the producing agent down (the gateway stops pulling
// frames, so the bus stops granting credit), not make the gateway buffer the whole stream.

const heap = heapAfterGc;

const DELTAS = 200_000;
const DELTA = 'x'.repeat(1024);

describe('gateway backpressure: a client that never reads', () => {
  let env: Awaited<ReturnType<typeof memoryBuses>>;
  let agent: BusClient;
  let app: INestApplication;
  let url: string;
  let produced = 0;
  let lastProgress = 0;
  let aborted = deferred<void>();

  before(async () => {
    env = await memoryBuses('gateway', 'agent');
    agent = env.buses[1];
    agent.handleStream('firehose', async (_p: unknown, ctx: HandlerContext & { writer: StreamWriter }) => {
      ctx.signal.addEventListener('abort', () => aborted.resolve());
      for (let i = 0; i < DELTAS; i++) {
        await ctx.writer.delta(DELTA);
        produced++;
        lastProgress = Date.now();
      }
      return 'all sent';
    });
    ({ app, url } = await gatewayApp(env.buses[0], {
      streamTargets: ['firehose'],
      invokeTargets: [],
      heartbeatMs: 60_000,
      openai: { models: ['firehose'] },
    }));
  });
  after(async () => {
    await app?.close();
    await env?.close();
  });

  /** Opens the SSE stream and never reads its body. */
  function stalledClient(path: string, body: unknown): Promise<{ res: IncomingMessage; destroy: () => void }> {
    return new Promise((resolve, reject) => {
      const req = request(
        `${url}${path}`,
        { method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/event-stream' } },
        (res) => {
          res.pause();
          resolve({ res, destroy: () => req.destroy() });
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify(body));
    });
  }

  /**
   * Resolves once the producer has made no progress for `quietMs`: it is blocked on flow-control credit. (Stalling is
   * the absence of an event, so it can only be observed over time; the bound below is what the test asserts.)
   */
  async function producerStalled(quietMs: number, limitMs: number): Promise<void> {
    const end = Date.now() + limitMs;
    while (Date.now() < end) {
      if (produced > 0 && Date.now() - lastProgress > quietMs) return;
      if (produced >= DELTAS) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  for (const [name, path, body] of [
    ['the gateway SSE stream', '/v1/agents/firehose/stream', {}],
    [
      'the OpenAI-compatible endpoint',
      '/v1/chat/completions',
      { model: 'firehose', stream: true, messages: [{ role: 'user', content: 'go' }] },
    ],
  ] as const) {
    it(`${name}: the agent is held at the client's pace and the gateway's heap stays bounded`, { timeout: 60_000 }, async () => {
      produced = 0;
      lastProgress = 0;
      aborted = deferred<void>();
      const before = heap();
      const client = await stalledClient(path, body);
      assert.equal(client.res.statusCode, 200);
      await producerStalled(500, 30_000);
      const grown = heap() - before;
      assert.ok(produced < DELTAS / 4, `the agent produced ${produced} of ${DELTAS} deltas for a client that reads nothing`);
      assert.ok(grown < 64 * 1024 * 1024, `heap grew by ${(grown / 1e6).toFixed(1)} MB`);
      client.destroy();
      await aborted.promise;
    });
  }
});
