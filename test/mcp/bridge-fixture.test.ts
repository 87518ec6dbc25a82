import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BusClient, type Envelope, MemoryBroker } from '@openagentio/nestjs';
import { McpToolBridge, mcpToolBridgeFactory, type McpToolResult } from '@openagentio/nestjs-bridges';
import { bridgeContext, newBus, ROOT, waitFor, busError } from './helpers.js';

const FIXTURE = join(ROOT, 'dist/test/mcp/fixtures/fixture-server.js');

describe('mcp_tool bridge: protocol details (fixture server, stdio)', () => {
  const broker = new MemoryBroker();
  let bus: BusClient;
  let caller: BusClient;
  let bridge: McpToolBridge;

  before(async () => {
    bus = await newBus(broker, 'host');
    caller = await newBus(broker, 'caller');
    bridge = mcpToolBridgeFactory({
      name: 'fx',
      type: 'mcp_tool',
      config: { command: process.execPath, args: [FIXTURE], env: { FIXTURE_TOKEN: 'fixture-token-9876' }, list_changed_debounce_ms: 20 },
    }) as McpToolBridge;
    await bridge.start(bridgeContext(bus));
  });

  after(async () => {
    await bridge?.stop();
    await caller?.close();
    await bus?.close();
  });

  it('follows nextCursor across pages', () => {
    const names = [...bridge.toolsByTarget.values()].map((t) => t.name).sort();
    assert.deepEqual(names, [
      'cancellations',
      'dotted.name/tool',
      'echo-meta',
      'secret-error',
      'slow',
      'strict-args',
      'throws-invalid',
      'toggle',
    ]);
  });

  it('maps tool names that are not a bus token deterministically', async () => {
    const target = bridge.targetOf('dotted.name/tool');
    assert.match(target, /^fx\.dotted_name_tool~[0-9a-f]{8}$/);
    assert.equal(target, bridge.targetOf('dotted.name/tool'));
    assert.notEqual(bridge.targetOf('dotted.name/tool'), bridge.targetOf('dotted_name/tool'));
    const r = await caller.invoke<McpToolResult>(target, {});
    assert.equal(r.text, 'dotted ok');
  });

  it('sends session and trace context in the request _meta', async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const r = await caller.invoke<McpToolResult>(
      'fx.echo-meta',
      { x: 1 },
      { session_id: 'sess-42', conversation_id: 'conv-7', user_id: 'u-1', traceparent, baggage: 'k=v' },
    );
    const sc = r.structuredContent as { meta: Record<string, unknown>; args: unknown };
    assert.deepEqual(sc.args, { x: 1 });
    assert.equal(sc.meta['openagentio/session_id'], 'sess-42');
    assert.equal(sc.meta['openagentio/conversation_id'], 'conv-7');
    assert.equal(sc.meta['openagentio/user_id'], 'u-1');
    assert.equal(sc.meta['openagentio/caller'], 'caller');
    assert.equal(sc.meta.traceparent, traceparent);
    assert.equal(sc.meta.baggage, 'k=v');
    assert.equal(typeof sc.meta['openagentio/request_id'], 'string');
    // A stream caller also gets a progressToken set by the SDK.
    let final: Envelope | undefined;
    for await (const f of caller.stream('fx.echo-meta', {}, { session_id: 'sess-43' })) final = f;
    const meta = ((final!.payload as { result: McpToolResult }).result.structuredContent as { meta: Record<string, unknown> }).meta;
    assert.equal(meta['openagentio/session_id'], 'sess-43');
    assert.ok(meta.progressToken !== undefined);
  });

  it('maps a JSON-RPC -32602 error to INVALID_REQUEST', async () => {
    const err = await busError(caller.invoke('fx.throws-invalid', {}));
    assert.equal(err.code, 'INVALID_REQUEST');
    assert.match(err.message, /parameter "x"/);
  });

  it('turns isError results into BusErrors with secrets redacted', async () => {
    const err = await busError(caller.invoke('fx.secret-error', {}));
    assert.equal(err.code, 'AGENT_UNAVAILABLE');
    assert.equal(err.retryable, false);
    assert.match(err.message, /upstream said/);
    for (const secret of ['sk-live-abcdef123456', 'XYZ123456789', 'fixture-token-9876']) {
      assert.ok(!err.message.includes(secret), `leaked ${secret}: ${err.message}`);
    }
    assert.match(err.message, /\[REDACTED\]/);
  });

  it('validates against a draft 2020-12 inputSchema', async () => {
    const err = await busError(caller.invoke('fx.strict-args', { n: 0, extra: true }));
    assert.equal(err.code, 'INVALID_REQUEST');
    assert.deepEqual([...(err.details?.fields as string[])].sort(), ['extra', 'n']);
    const ok = await caller.invoke<McpToolResult>('fx.strict-args', { n: 3, tags: ['a'] });
    assert.equal(ok.text, 'n=3');
  });

  it('adds and removes targets live on tools/list_changed', async () => {
    assert.ok(!bridge.targets.includes('fx.extra-live'));
    await caller.invoke('fx.toggle', { name: 'live' });
    await waitFor(() => bridge.targets.includes('fx.extra-live'), 3000, 'fx.extra-live to appear');
    const r = await caller.invoke<McpToolResult>('fx.extra-live', {});
    assert.equal(r.text, 'extra-live');
    await caller.invoke('fx.toggle', { name: 'live' });
    await waitFor(() => !bridge.targets.includes('fx.extra-live'), 3000, 'fx.extra-live to go');
    const gone = await busError(caller.invoke('fx.extra-live', {}));
    assert.equal(gone.code, 'NO_HANDLER');
  });

  it('cancellation reaches the MCP server (its handler signal aborts)', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 150);
    const t0 = Date.now();
    await busError(caller.invoke('fx.slow', {}, { signal: ac.signal }));
    assert.ok(Date.now() - t0 < 1000);
    await waitFor(() => bridge.stats.cancellationsSent >= 1, 2000, 'cancellation sent');
    let count = 0;
    for (let i = 0; i < 40 && count < 1; i++) {
      const r = await caller.invoke<McpToolResult>('fx.cancellations', {});
      count = (r.structuredContent as { cancelled: number }).cancelled;
      if (count < 1) await new Promise((res) => setTimeout(res, 50));
    }
    assert.ok(count >= 1, 'the server saw notifications/cancelled');
  });

  it('a deadline shorter than timeout_ms becomes the MCP timeout', async () => {
    const t0 = Date.now();
    const err = await busError(caller.invoke('fx.slow', { ms: 5000 }, { timeout: 300 }));
    assert.equal(err.code, 'AGENT_TIMEOUT');
    assert.ok(Date.now() - t0 < 1500);
  });
});

describe('mcp_tool bridge: targets while supervision restarts it', () => {
  it('keeps answering AGENT_UNAVAILABLE through stop and failed restarts; unavailable_grace_ms 0 releases at stop', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'oaio-fx-'));
    const marker = join(dir, 'fail');
    const bus = await newBus(new MemoryBroker(), 'host');
    const cfg = { command: process.execPath, args: [FIXTURE], env: { FIXTURE_FAIL_IF_EXISTS: marker }, allow_tools: ['echo-meta'] };
    const held = new McpToolBridge('held', cfg);
    const released = new McpToolBridge('released', { ...cfg, unavailable_grace_ms: 0 });
    try {
      const c1 = bridgeContext(bus);
      const c2 = bridgeContext(bus);
      await held.start(c1);
      await released.start(c2);
      process.kill(held.pid!, 'SIGKILL');
      process.kill(released.pid!, 'SIGKILL');
      await c1.failed;
      await c2.failed;
      // Supervision: stop at once, then back off.
      await held.stop();
      await released.stop();
      assert.equal((await busError(bus.invoke('held.echo-meta', {}))).retryable, true);
      assert.equal((await busError(bus.invoke('held.echo-meta', {}))).code, 'AGENT_UNAVAILABLE');
      assert.equal((await busError(bus.invoke('released.echo-meta', {}))).code, 'NO_HANDLER');
      // A restart that fails (the server exits at once) keeps the targets held, also through the stop after it.
      await writeFile(marker, 'x');
      await assert.rejects(held.start(c1));
      await held.stop();
      assert.equal((await busError(bus.invoke('held.echo-meta', {}))).code, 'AGENT_UNAVAILABLE');
      // The next successful start takes the targets over.
      await rm(marker);
      await held.start(c1);
      const r = await bus.invoke<McpToolResult>('held.echo-meta', {});
      assert.equal(r.text, 'ok');
    } finally {
      await held.stop();
      await released.stop();
      await bus.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('mcp_tool bridge: configuration', () => {
  it('rejects unknown and missing keys with PermanentBridgeError naming the key', () => {
    const make = (config: Record<string, unknown>) => () => mcpToolBridgeFactory({ name: 'x', type: 'mcp_tool', config });
    assert.throws(make({ command: 'node', comand: 'typo' }), (e: Error) => e.name === 'PermanentBridgeError' && /"comand"/.test(e.message));
    assert.throws(make({}), (e: Error) => e.name === 'PermanentBridgeError' && /command|url/.test(e.message));
    assert.throws(make({ transport: 'stdio' }), /config\.command is required/);
    assert.throws(make({ transport: 'sse' }), /config\.url is required/);
    assert.throws(make({ transport: 'websocket', url: 'http://x' }), /config\.transport/);
    assert.throws(make({ url: 'ftp://x' }), /config\.url/);
    assert.throws(make({ command: 'node', timeout_ms: 'soon' }), /config\.timeout_ms/);
    assert.throws(make({ command: 'node', allow_tools: 'echo' }), /config\.allow_tools/);
    assert.throws(make({ command: 'node', target_prefix: 'a b' }), /config\.target_prefix/);
    const ok = mcpToolBridgeFactory({
      name: 'x',
      type: 'mcp_tool',
      config: { url: 'http://127.0.0.1:1/mcp', timeout_ms: '1500' },
    }) as McpToolBridge;
    assert.equal(ok.config.transport, 'streamable_http');
    assert.equal(ok.config.timeout_ms, 1500);
    assert.equal(ok.type, 'mcp_tool');
  });

  it('a command that does not exist is a PermanentBridgeError', async () => {
    const bus = await newBus(new MemoryBroker(), 'h');
    const b = new McpToolBridge('nope', { command: '/nonexistent/mcp-server-xyz' });
    try {
      await assert.rejects(b.start(bridgeContext(bus)), (e: Error) => e.name === 'PermanentBridgeError');
    } finally {
      await b.stop();
      await bus.close();
    }
  });
});
