import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type BusClient, type Envelope, MemoryBroker } from '@openagentio/nestjs';
import { McpToolBridge, type McpToolResult } from '@openagentio/nestjs-bridges';
import { bridgeContext, newBus, spawnEverythingHttp, waitFor, type SpawnedServer, busError } from './helpers.js';

describe('mcp_tool bridge: server-everything over Streamable HTTP', () => {
  const broker = new MemoryBroker();
  let bus: BusClient;
  let caller: BusClient;
  let server: SpawnedServer;
  let bridge: McpToolBridge;
  let ctx: ReturnType<typeof bridgeContext>;

  before(async () => {
    server = await spawnEverythingHttp('streamableHttp');
    bus = await newBus(broker, 'host');
    caller = await newBus(broker, 'caller');
    ctx = bridgeContext(bus);
    bridge = new McpToolBridge('web', {
      transport: 'streamable_http',
      url: `http://127.0.0.1:${server.port}/mcp`,
      headers: { 'X-Api-Key': 'header-secret-value' },
    });
    await bridge.start(ctx);
  });

  after(async () => {
    await bridge?.stop();
    await caller?.close();
    await bus?.close();
    await server?.kill();
  });

  it('lists tools, calls echo, get-sum and get-structured-content', async () => {
    assert.ok(bridge.targets.includes('web.echo'));
    assert.ok(bridge.targets.includes('web.get-sum'));
    const echo = await caller.invoke<McpToolResult>('web.echo', { message: 'over http' });
    assert.equal(echo.text, 'Echo: over http');
    const sum = await caller.invoke<McpToolResult>('web.get-sum', { a: 20, b: 22 });
    assert.match(sum.text ?? '', /42/);
    const sc = await caller.invoke<McpToolResult>('web.get-structured-content', { location: 'Chicago' });
    assert.equal(sc.structuredContent?.temperature, 36);
  });

  it('streams progress as deltas', async () => {
    const frames: Envelope[] = [];
    for await (const f of caller.stream('web.trigger-long-running-operation', { duration: 0.4, steps: 4 })) frames.push(f);
    const deltas = frames.filter((f) => f.event_type === 'agent.response.delta');
    assert.ok(deltas.length >= 3, `deltas: ${deltas.length}`);
    assert.deepEqual((deltas[0].payload as { data: unknown }).data, { progress: 1, total: 4 });
  });

  it('cancels over HTTP', async () => {
    const before = bridge.stats.cancellationsSent;
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 250);
    const t0 = Date.now();
    await busError(caller.invoke('web.trigger-long-running-operation', { duration: 5, steps: 5 }, { signal: ac.signal }));
    assert.ok(Date.now() - t0 < 1500);
    await waitFor(() => bridge.stats.cancellationsSent > before, 3000, 'notifications/cancelled');
  });

  it('answers AGENT_UNAVAILABLE when the HTTP session is dropped (server restarted), reports it, and recovers after start', async () => {
    const port = server.port;
    await server.kill();
    server = await spawnEverythingHttp('streamableHttp', port);
    const t0 = Date.now();
    const err = await busError(caller.invoke('web.echo', { message: 'still there?' }, { timeout: 10_000 }));
    assert.equal(err.code, 'AGENT_UNAVAILABLE');
    assert.equal(err.retryable, true);
    assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
    assert.doesNotMatch(err.message, /header-secret-value/);
    await waitFor(() => ctx.failures.length > 0, 3000, 'reportFailure');
    // Meanwhile: immediate AGENT_UNAVAILABLE, no hang.
    const t1 = Date.now();
    const again = await busError(caller.invoke('web.echo', { message: 'x' }, { timeout: 10_000 }));
    assert.equal(again.code, 'AGENT_UNAVAILABLE');
    assert.ok(Date.now() - t1 < 300);
    await bridge.stop();
    await bridge.start(ctx);
    const echo = await caller.invoke<McpToolResult>('web.echo', { message: 'new session' });
    assert.equal(echo.text, 'Echo: new session');
  });

  it('answers AGENT_UNAVAILABLE when the server is gone (connection refused)', async () => {
    await server.kill();
    const failuresBefore = ctx.failures.length;
    const err = await busError(caller.invoke('web.echo', { message: 'x' }, { timeout: 10_000 }));
    assert.equal(err.code, 'AGENT_UNAVAILABLE');
    assert.equal(err.retryable, true);
    await waitFor(() => ctx.failures.length > failuresBefore, 3000, 'reportFailure');
    await bridge.stop();
    // start against a dead server fails with a retryable (non-permanent) error
    await assert.rejects(bridge.start(ctx), (e: Error) => e.name !== 'PermanentBridgeError');
  });
});

describe('mcp_tool bridge: server-everything over legacy SSE', () => {
  const broker = new MemoryBroker();
  let bus: BusClient;
  let server: SpawnedServer;
  let bridge: McpToolBridge;

  before(async () => {
    server = await spawnEverythingHttp('sse');
    bus = await newBus(broker, 'host');
    bridge = new McpToolBridge('legacy', { transport: 'sse', url: `http://127.0.0.1:${server.port}/sse` });
    await bridge.start(bridgeContext(bus));
  });

  after(async () => {
    await bridge?.stop();
    await bus?.close();
    await server?.kill();
  });

  it('lists and calls tools', async () => {
    assert.ok(bridge.targets.includes('legacy.echo'));
    const echo = await bus.invoke<McpToolResult>('legacy.echo', { message: 'sse' });
    assert.equal(echo.text, 'Echo: sse');
    const sum = await bus.invoke<McpToolResult>('legacy.get-sum', { a: 1, b: 1 });
    assert.match(sum.text ?? '', /2/);
  });

  it('an answer past max_message_bytes on the SSE stream (which carries every answer) drops the connection, reported; a restart recovers', async () => {
    const ctx = bridgeContext(bus);
    const small = new McpToolBridge('legacy-small', {
      transport: 'sse',
      url: `http://127.0.0.1:${server.port}/sse`,
      max_message_bytes: 64 * 1024,
    });
    try {
      await small.start(ctx);
      const t0 = Date.now();
      const err = await busError(bus.invoke('legacy-small.echo', { message: 'x'.repeat(100_000) }, { timeout: 10_000 }));
      assert.equal(err.code, 'AGENT_UNAVAILABLE');
      assert.equal(err.retryable, true);
      assert.ok(Date.now() - t0 < 5_000, `took ${Date.now() - t0} ms`);
      await waitFor(() => ctx.failures.length > 0, 5000, 'reportFailure');
      assert.match(ctx.failures[0].message, /exceeds max_message_bytes \(65536\).*connection was dropped/);
      assert.equal(small.stats.oversizeAnswers, 1);
      await small.stop();
      await small.start(bridgeContext(bus));
      assert.equal((await bus.invoke<McpToolResult>('legacy-small.echo', { message: 'again' })).text, 'Echo: again');
    } finally {
      await small.stop();
    }
  });

  it('a dead SSE server: AGENT_UNAVAILABLE (retryable) and a reported failure', async () => {
    const ctx = bridgeContext(bus);
    await bridge.stop();
    await bridge.start(ctx);
    await server.kill();
    const err = await busError(bus.invoke('legacy.echo', { message: 'x' }, { timeout: 10_000 }));
    assert.equal(err.code, 'AGENT_UNAVAILABLE');
    assert.equal(err.retryable, true);
    await waitFor(() => ctx.failures.length > 0, 5000, 'reportFailure');
  });
});
