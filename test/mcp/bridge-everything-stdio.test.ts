import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type BusClient, BusError, type Envelope, MemoryBroker } from '@openagentio/nestjs';
import { McpToolBridge, type McpToolResult } from '@openagentio/nestjs-bridges';
import { bridgeContext, EVERYTHING, newBus, pidAlive, waitFor, busError } from './helpers.js';

describe('mcp_tool bridge: server-everything over stdio', () => {
  const broker = new MemoryBroker();
  let serverBus: BusClient;
  let caller: BusClient;
  let ctx: ReturnType<typeof bridgeContext>;
  let bridge: McpToolBridge;

  before(async () => {
    serverBus = await newBus(broker, 'mcp-host');
    caller = await newBus(broker, 'caller');
    ctx = bridgeContext(serverBus);
    bridge = new McpToolBridge('everything', {
      command: process.execPath,
      args: [EVERYTHING, 'stdio'],
      env: { OPENAGENTIO_TEST_VAR: 'from-config' },
      target_prefix: 'mcp.ev',
    });
    await bridge.start(ctx);
  });

  after(async () => {
    await bridge?.stop();
    await caller?.close();
    await serverBus?.close();
  });

  it('lists the tools and registers one target per tool', () => {
    for (const tool of ['echo', 'get-sum', 'get-structured-content', 'trigger-long-running-operation', 'get-env']) {
      assert.ok(bridge.targets.includes(`mcp.ev.${tool}`), `missing target for ${tool}: ${bridge.targets.join(', ')}`);
      assert.ok(serverBus.targets.includes(`mcp.ev.${tool}`));
    }
    assert.equal(bridge.status, 'ready');
  });

  it('calls echo and get-sum', async () => {
    const echo = await caller.invoke<McpToolResult>('mcp.ev.echo', { message: 'hello bus' });
    assert.equal(echo.text, 'Echo: hello bus');
    assert.deepEqual(echo.content, [{ type: 'text', text: 'Echo: hello bus' }]);
    const sum = await caller.invoke<McpToolResult>('mcp.ev.get-sum', { a: 2, b: 40 });
    assert.match(sum.text ?? '', /42/);
  });

  it('passes structuredContent through', async () => {
    const r = await caller.invoke<McpToolResult>('mcp.ev.get-structured-content', { location: 'New York' });
    assert.deepEqual(r.structuredContent, { temperature: 33, conditions: 'Cloudy', humidity: 82 });
    assert.ok(r.content.length >= 1);
  });

  it('merges config env over the default environment of the child', async () => {
    const r = await caller.invoke<McpToolResult>('mcp.ev.get-env', null);
    const env = JSON.parse(r.text ?? '{}') as Record<string, string>;
    assert.equal(env.OPENAGENTIO_TEST_VAR, 'from-config');
    assert.ok(env.PATH, 'PATH from getDefaultEnvironment()');
  });

  it('turns progress notifications into delta frames on a stream call', async () => {
    const frames: Envelope[] = [];
    for await (const f of caller.stream('mcp.ev.trigger-long-running-operation', { duration: 0.6, steps: 4 })) frames.push(f);
    const deltas = frames.filter((f) => f.event_type === 'agent.response.delta');
    // The last progress notification may race the result (REFERENCE §1.7.1): at least 3 of 4 arrive.
    assert.ok(deltas.length >= 3, `expected progress deltas, got ${deltas.length}`);
    const first = (deltas[0].payload as { data: { progress: number; total: number } }).data;
    assert.equal(first.progress, 1);
    assert.equal(first.total, 4);
    const final = frames.at(-1)!;
    assert.equal(final.event_type, 'agent.response.final');
    assert.match((final.payload as { result: McpToolResult }).result.text ?? '', /completed/);
  });

  it('answers an invoke caller of a progress-reporting tool with the result only', async () => {
    const r = await caller.invoke<McpToolResult>('mcp.ev.trigger-long-running-operation', { duration: 0.2, steps: 2 });
    assert.match(r.text ?? '', /Long running operation completed/);
  });

  it('cancels: aborting the bus call ends it promptly and sends MCP cancellation', async () => {
    const before = bridge.stats.cancellationsSent;
    const ac = new AbortController();
    const started = Date.now();
    setTimeout(() => ac.abort('user cancelled'), 300);
    const frames: Envelope[] = [];
    const err = await busError(
      (async () => {
        for await (const f of caller.stream('mcp.ev.trigger-long-running-operation', { duration: 5, steps: 10 }, { signal: ac.signal }))
          frames.push(f);
      })(),
    );
    assert.ok(Date.now() - started < 1500, `stream ended after ${Date.now() - started} ms`);
    assert.equal(err.code, 'AGENT_UNAVAILABLE');
    await waitFor(() => bridge.stats.cancellationsSent > before, 3000, 'notifications/cancelled');

    // invoke too
    const ac2 = new AbortController();
    setTimeout(() => ac2.abort(), 200);
    const t0 = Date.now();
    await busError(caller.invoke('mcp.ev.trigger-long-running-operation', { duration: 5, steps: 5 }, { signal: ac2.signal }));
    assert.ok(Date.now() - t0 < 1500);
    await waitFor(() => bridge.stats.cancellationsSent > before + 1, 3000, 'second notifications/cancelled');
  });

  it('turns the bus deadline into the MCP request timeout (AGENT_TIMEOUT)', async () => {
    const t0 = Date.now();
    const err = await busError(caller.invoke('mcp.ev.trigger-long-running-operation', { duration: 5, steps: 5 }, { timeout: 400 }));
    assert.equal(err.code, 'AGENT_TIMEOUT');
    assert.ok(Date.now() - t0 < 2000);
  });

  it('validates arguments against the inputSchema (INVALID_REQUEST naming the fields)', async () => {
    const err = await busError(caller.invoke('mcp.ev.get-sum', { a: 'two' }));
    assert.equal(err.code, 'INVALID_REQUEST');
    const fields = (err.details?.fields ?? []) as string[];
    assert.ok(fields.includes('a'), `fields: ${fields}`);
    assert.ok(fields.includes('b'), `fields: ${fields}`);
    assert.match(err.message, /\ba\b/);
    assert.match(err.message, /\bb\b/);

    const enumErr = await busError(caller.invoke('mcp.ev.get-structured-content', { location: 'Paris' }));
    assert.equal(enumErr.code, 'INVALID_REQUEST');
    assert.deepEqual(enumErr.details?.fields, ['location']);
  });

  it('rejects payloads that are not an object; null means {}', async () => {
    for (const bad of [[1, 2], 'text', 42, true]) {
      const err = await busError(caller.invoke('mcp.ev.echo', bad));
      assert.equal(err.code, 'INVALID_REQUEST');
      assert.match(err.message, /JSON object/);
    }
    const missing = await busError(caller.invoke('mcp.ev.echo', null));
    assert.equal(missing.code, 'INVALID_REQUEST');
    assert.deepEqual(missing.details?.fields, ['message']);
  });

  it('answers AGENT_UNAVAILABLE at once when the stdio server dies, reports the failure, and works after start', async () => {
    const pid = bridge.pid!;
    assert.ok(pid && pidAlive(pid));
    process.kill(pid, 'SIGKILL');
    const failure = await Promise.race([
      ctx.failed,
      new Promise<Error>((_, rej) => setTimeout(() => rej(new Error('no failure reported')), 3000)),
    ]);
    assert.match(failure.message, /closed the connection/);
    assert.equal(bridge.status, 'failed');
    const t0 = Date.now();
    const err = await busError(caller.invoke('mcp.ev.echo', { message: 'anyone?' }, { timeout: 5000 }));
    assert.equal(err.code, 'AGENT_UNAVAILABLE');
    assert.equal(err.retryable, true);
    assert.ok(Date.now() - t0 < 500, `took ${Date.now() - t0} ms`);

    // What supervision does: stop at once, back off, start again. During the backoff the targets still answer
    // AGENT_UNAVAILABLE (retryable), not NO_HANDLER.
    await bridge.stop();
    const during = await busError(caller.invoke('mcp.ev.echo', { message: 'backoff' }, { timeout: 5000 }));
    assert.equal(during.code, 'AGENT_UNAVAILABLE');
    assert.equal(during.retryable, true);
    await bridge.start(ctx);
    assert.notEqual(bridge.pid, pid);
    const echo = await caller.invoke<McpToolResult>('mcp.ev.echo', { message: 'back' });
    assert.equal(echo.text, 'Echo: back');
  });

  it('fails calls in flight with retryable AGENT_UNAVAILABLE when the server dies mid-call', async () => {
    const call = caller.invoke('mcp.ev.trigger-long-running-operation', { duration: 5, steps: 5 }, { timeout: 10_000 });
    setTimeout(() => process.kill(bridge.pid!, 'SIGKILL'), 200);
    const t0 = Date.now();
    const err = await busError(call);
    assert.equal(err.code, 'AGENT_UNAVAILABLE');
    assert.equal(err.retryable, true);
    assert.ok(Date.now() - t0 < 2000);
    await bridge.stop();
    await bridge.start(ctx);
  });
});

describe('mcp_tool bridge: allow/deny lists and tools/list_changed', () => {
  const broker = new MemoryBroker();
  let bus: BusClient;
  const bridges: McpToolBridge[] = [];

  before(async () => {
    bus = await newBus(broker, 'host');
  });
  after(async () => {
    for (const b of bridges) await b.stop();
    await bus?.close();
  });

  it('serves only allowed tools that are not denied', async () => {
    const b = new McpToolBridge('ev', {
      command: process.execPath,
      args: [EVERYTHING, 'stdio'],
      allow_tools: ['echo', 'get-*'],
      deny_tools: ['get-env', 'get-tiny-image'],
    });
    bridges.push(b);
    await b.start(bridgeContext(bus));
    assert.ok(b.targets.includes('ev.echo'));
    assert.ok(b.targets.includes('ev.get-sum'));
    assert.ok(!b.targets.includes('ev.get-env'));
    assert.ok(!b.targets.includes('ev.get-tiny-image'));
    assert.ok(!b.targets.includes('ev.trigger-long-running-operation'));
    assert.ok(b.targets.every((t) => t === 'ev.echo' || t.startsWith('ev.get-')));
    const err = await bus.invoke('ev.get-env', {}).catch((e: BusError) => e);
    assert.equal((err as BusError).code, 'NO_HANDLER');
    await b.stop();
    assert.ok(!bus.targets.some((t) => t.startsWith('ev.')), 'stop unregisters the targets');
  });

  it('adds targets live on tools/list_changed (roots capability makes the server register get-roots-list)', async () => {
    const b = new McpToolBridge('roots', {
      command: process.execPath,
      args: [EVERYTHING, 'stdio'],
      roots: [{ uri: 'file:///tmp/openagentio', name: 'scratch' }],
    });
    bridges.push(b);
    await b.start(bridgeContext(bus));
    await waitFor(() => b.targets.includes('roots.get-roots-list'), 5000, 'get-roots-list target');
    await waitFor(() => b.stats.toolListRefreshes >= 2, 5000, 'a refresh triggered by list_changed');
    // The server asks for our roots (roots/list) and reports them.
    await waitFor(() => true, 500);
    const r = await bus.invoke<McpToolResult>('roots.get-roots-list', {});
    assert.match(JSON.stringify(r.content), /file:\/\/\/tmp\/openagentio|scratch/);
  });
});
