import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type BusClient, MemoryBroker } from '@openagentio/nestjs';
import { McpToolBridge } from '@openagentio/nestjs-bridges';
import { busError, newBus, waitFor, type SpawnedServer } from './helpers.js';
import { assertBounded, assertHealthy, assertSiblingAnswers, MiB, recordingContext, spawnHostileHttp, watch } from './hostile-helpers.js';

// Issue 30 (MCP): a hostile MCP server over Streamable HTTP cannot block the agent's event loop, fill its heap, or
// take the other tools of the server down. Each test fails against the code before the fix.

describe('mcp_tool bridge against a hostile MCP server (Streamable HTTP)', () => {
  const broker = new MemoryBroker();
  let bus: BusClient;
  let caller: BusClient;
  const servers: SpawnedServer[] = [];
  const bridges: McpToolBridge[] = [];

  before(async () => {
    bus = await newBus(broker, 'host');
    caller = await newBus(broker, 'caller');
  });

  after(async () => {
    for (const b of bridges) await b.stop();
    for (const s of servers) await s.kill();
    await caller?.close();
    await bus?.close();
  });

  async function startBridge(name: string, env: Record<string, string>, config: Record<string, unknown> = {}) {
    const server = await spawnHostileHttp(env);
    servers.push(server);
    const bridge = new McpToolBridge(name, { url: `http://127.0.0.1:${server.port}/mcp`, ...config });
    bridges.push(bridge);
    const ctx = recordingContext(bus);
    return { bridge, ctx };
  }

  // Finding: an error text or JSON-RPC error message of 8,000 chars of key-key-… blocked the event loop 15–16 s.
  it('1 MiB of redaction bait in an isError text and a JSON-RPC error message: no blocked loop, callers get ≤ 1,001 chars', async () => {
    const { bridge, ctx } = await startBridge('hbait', {});
    await bridge.start(ctx);
    const w = await watch(async () => [
      await busError(caller.invoke('hbait.redos-error', {})),
      await busError(caller.invoke('hbait.redos-rpc-error', {})),
    ]);
    assertBounded(w, 'redaction bait (HTTP)');
    for (const e of w.value) {
      assert.equal(e.code, 'AGENT_UNAVAILABLE');
      assert.ok(e.message.length <= 1_001 + 40, `message of ${e.message.length} chars`);
    }
    await assertSiblingAnswers(caller, 'hbait');
    assertHealthy(bridge, ctx);
  });

  // Finding: a flooding tool answer reached 2.37 GB of heap before its timeout.
  it('an endless SSE answer and a JSON answer past max_message_bytes fail their call at once, naming the limit', async () => {
    const { bridge, ctx } = await startBridge('hbig', {}, { max_message_bytes: MiB, timeout_ms: 30_000 });
    await bridge.start(ctx);
    const small = await caller.invoke<{ text: string }>('hbig.big-answer', { bytes: 100_000 });
    assert.equal(small.text.length, 100_000);
    const t0 = Date.now();
    const w = await watch(async () => [
      await busError(caller.invoke('hbig.flood-answer', {})),
      await busError(caller.invoke('hbig.big-answer', { bytes: 4 * MiB })),
    ]);
    const ms = Date.now() - t0;
    assertBounded(w, 'flooding answers (HTTP)');
    for (const e of w.value) {
      assert.equal(e.code, 'AGENT_UNAVAILABLE');
      assert.equal(e.retryable, false);
      assert.match(e.message, /exceeds max_message_bytes \(1048576\)/);
      assert.equal(e.details?.limit, 'max_message_bytes');
    }
    assert.ok(ms < 10_000, `failed after ${ms} ms, not at the 30 s timeout`);
    await assertSiblingAnswers(caller, 'hbig');
    assertHealthy(bridge, ctx);
  });

  // Finding: a server flooding its standalone GET SSE stream (no call made) grew RSS to 2.8 GB in 30 s.
  it('a flooded background GET stream is closed past max_background_event_bytes; calls go on, the heap stays small', async () => {
    const { bridge, ctx } = await startBridge('hget', { HOSTILE_GET_FLOOD: '1' }, { max_background_event_bytes: 256 * 1024 });
    const w = await watch(async () => {
      await bridge.start(ctx);
      await waitFor(() => bridge.stats.oversizeAnswers > 0, 10_000, 'the background stream to go past its limit');
      for (let i = 0; i < 20; i++) await assertSiblingAnswers(caller, 'hget');
    });
    assertBounded(w, 'background flood (HTTP)');
    const warning = ctx.logger.lines.find((l) => l.includes('max_background_event_bytes'));
    assert.ok(warning?.startsWith('warn'), ctx.logger.lines.join('\n'));
    assert.match(warning!, /exceeds max_background_event_bytes \(262144\).*background stream is closed/);
    assertHealthy(bridge, ctx);
  });

  // Finding: one inputSchema nested 10,000 deep failed start(): every tool of that server gone.
  it('a tool whose schema nests 10,000 deep is skipped; the others are served', async () => {
    const { bridge, ctx } = await startBridge('hdeep', { HOSTILE_LIST: 'deep' });
    const w = await watch(() => bridge.start(ctx));
    assertBounded(w, 'deep schema (HTTP)');
    assert.ok(!bridge.targets.includes('hdeep.deep'));
    assert.equal(bridge.targets.length, 10);
    await assertSiblingAnswers(caller, 'hdeep');
    assertHealthy(bridge, ctx);
  });

  // Finding: a new nextCursor on every page: start() never settled.
  it('a tools/list that never ends fails start at max_tool_pages', async () => {
    const { bridge, ctx } = await startBridge('hendless', { HOSTILE_LIST: 'endless-cursor' }, { max_tool_pages: 30 });
    const w = await watch(() =>
      bridge.start(ctx).then(
        () => assert.fail('start should fail'),
        (e: Error) => e,
      ),
    );
    assertBounded(w, 'endless cursor (HTTP)');
    assert.match(w.value.message, /exceeds max_tool_pages \(30\)/);
    assert.equal(bridge.status, 'stopped');
  });
});
