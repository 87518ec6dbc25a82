import assert from 'node:assert/strict';
import { Test } from '@nestjs/testing';
import { after, before, describe, it } from 'node:test';
import { BusClient, MemoryBroker, MemoryTransport, SpanRing } from '@openagentio/nestjs';
import { ConsoleModule } from '@openagentio/nestjs-gateway';
import { testBusModule } from '../bridge/helpers.js';
import { quietLogger } from '../mcp/helpers.js';
import { gatewayApp } from '../gateway/gateway-app.js';

describe('console behind the gateway authentication', () => {
  let bus: BusClient;
  let app: { close(): Promise<void> };
  let url = '';

  before(async () => {
    bus = new BusClient(new MemoryTransport({ broker: new MemoryBroker() }), {
      agentId: 'ops',
      logger: quietLogger,
      discovery: { control: true },
    });
    await bus.connect();
    await bus.handleInvoke('ops.ping', () => 'pong').ready;
    const made = await gatewayApp(
      bus,
      { auth: { bearerTokens: { 'ops-token': { subject: 'ops' }, 'acme-token': { subject: 'ann', tenant_id: 'acme' } } } },
      { imports: [ConsoleModule.forRoot({ path: 'ops/console', refreshMs: 250, traceUrl: 'http://traces.example/trace/{traceId}' })] },
    );
    app = made.app;
    url = made.url;
  });
  after(async () => {
    await app?.close();
    await bus?.close();
  });

  it('the page is public, every API route needs a token (header, or ?access_token= on the event stream)', async () => {
    const page = await fetch(`${url}/ops/console`);
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.match(html, /<script src="\/ops\/console\/console\.js">/);
    assert.doesNotMatch(html, /ops\.ping/, 'no data in the page');
    for (const [method, path] of [
      ['GET', 'state'],
      ['GET', 'events'],
      ['GET', 'tasks'],
      ['GET', 'conversations'],
      ['POST', 'instances/x/drain'],
      ['POST', 'tasks/x/cancel'],
    ]) {
      const res = await fetch(`${url}/ops/console/api/${path}`, { method });
      assert.equal(res.status, 401, `${method} ${path}`);
      const body = (await res.json()) as { code: string };
      assert.equal(body.code, 'AUTH_FAILURE');
    }
    const wrong = await fetch(`${url}/ops/console/api/state`, { headers: { authorization: 'Bearer nope' } });
    assert.equal(wrong.status, 401);
    const state = await fetch(`${url}/ops/console/api/state`, { headers: { authorization: 'Bearer ops-token' } });
    assert.equal(state.status, 200);
    const s = (await state.json()) as { agents: Array<{ agent_id: string; targets: Array<{ target: string }> }> };
    assert.deepEqual(
      s.agents.map((a) => [a.agent_id, a.targets.map((t) => t.target)]),
      [['ops', ['ops.ping']]],
    );
    const ac = new AbortController();
    const events = await fetch(`${url}/ops/console/api/events?access_token=ops-token`, { signal: ac.signal });
    assert.equal(events.status, 200);
    assert.match(events.headers.get('content-type') ?? '', /text\/event-stream/);
    const reader = events.body!.getReader();
    let text = '';
    while (!text.includes('event: snapshot')) {
      const { value, done } = await reader.read();
      assert.ok(!done, `the stream ended before a snapshot: ${text}`);
      text += new TextDecoder().decode(value);
    }
    ac.abort();
    // Tasks are not enabled in this app: a clear 404, not an internal error.
    const tasks = await fetch(`${url}/ops/console/api/tasks`, { headers: { authorization: 'Bearer ops-token' } });
    assert.equal(tasks.status, 404);
    assert.match(((await tasks.json()) as { message: string }).message, /TasksModule/);
    // A tenant's identity may look, but not drain; an operator may.
    const id = (s as unknown as { agents: Array<{ instances: Array<{ id: string }> }> }).agents[0].instances[0].id;
    const asTenant = await fetch(`${url}/ops/console/api/instances/${id}/drain`, {
      method: 'POST',
      headers: { authorization: 'Bearer acme-token' },
    });
    assert.equal(asTenant.status, 403);
    const convAsTenant = await fetch(`${url}/ops/console/api/conversations`, { headers: { authorization: 'Bearer acme-token' } });
    assert.equal(convAsTenant.status, 403);
    assert.equal(bus.drained, false);
    const asOps = await fetch(`${url}/ops/console/api/instances/${id}/drain`, {
      method: 'POST',
      headers: { authorization: 'Bearer ops-token' },
    });
    assert.equal(asOps.status, 200);
    assert.equal(bus.drained, true);
    bus.resume();
    // Bad input: a clear 400.
    const bad = await fetch(`${url}/ops/console/api/conversations?trace_id=xyz`, { headers: { authorization: 'Bearer ops-token' } });
    assert.equal(bad.status, 400);
  });

  it('conversations come from the process span ring (memory: read directly) and link to the trace backend', async () => {
    const ring = new SpanRing(10);
    SpanRing.install(ring);
    try {
      const trace = 'ab'.repeat(16);
      const now = Date.now();
      ring.onEnd({
        name: 'handle ops.ping',
        kind: 1,
        spanContext: () => ({ traceId: trace, spanId: '12'.repeat(8) }),
        startTime: [Math.floor(now / 1000), 0],
        duration: [0, 3e6],
        status: { code: 2, message: 'boom' },
        attributes: { 'acp.session_id': 's-ring', 'acp.target': 'ops.ping' },
      });
      const auth = { authorization: 'Bearer ops-token' };
      const list = (await (await fetch(`${url}/ops/console/api/conversations?session_id=s-ring`, { headers: auth })).json()) as {
        conversations: Array<{ trace_id: string; agents: string[]; errors: number; trace_url: string }>;
      };
      assert.deepEqual(list.conversations, [
        {
          trace_id: trace,
          session_id: 's-ring',
          start: Math.floor(now / 1000) * 1000,
          duration_ms: 3,
          spans: 1,
          agents: ['ops'],
          errors: 1,
          trace_url: `http://traces.example/trace/${trace}`,
        },
      ]);
      const one = (await (await fetch(`${url}/ops/console/api/conversations/${trace}`, { headers: auth })).json()) as {
        spans: Array<{ name: string; error: string; agent: string }>;
      };
      assert.deepEqual(
        one.spans.map((s) => [s.agent, s.name, s.error]),
        [['ops', 'handle ops.ping', 'boom']],
      );
      const none = await fetch(`${url}/ops/console/api/conversations/${'cd'.repeat(16)}`, { headers: auth });
      assert.equal(none.status, 404);
    } finally {
      SpanRing.install(undefined);
    }
  });

  it('without GatewayModule the console refuses to start, naming it', async () => {
    const other = new BusClient(new MemoryTransport({ broker: new MemoryBroker() }), { agentId: 'x', logger: quietLogger });
    const mod = await Test.createTestingModule({ imports: [testBusModule(other), ConsoleModule.forRoot()] }).compile();
    const nest = mod.createNestApplication({ logger: false });
    await assert.rejects(nest.init(), /ConsoleModule needs GatewayModule/);
    await nest.close().catch(() => undefined);
  });
});
