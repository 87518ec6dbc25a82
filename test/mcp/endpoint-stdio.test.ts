import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { type BusClient, BusError, MemoryBroker } from '@openagentio/nestjs';
import { McpToolBridge, type McpToolResult } from '@openagentio/nestjs-bridges';
import { bridgeContext, newBus, ROOT } from './helpers.js';

const BUS_STDIO = join(ROOT, 'dist/test/mcp/fixtures/bus-stdio-server.js');

describe('MCP endpoint over stdio (a bus-only process), driven by an mcp_tool bridge', () => {
  const broker = new MemoryBroker();
  let bus: BusClient;
  let bridge: McpToolBridge;

  before(async () => {
    bus = await newBus(broker, 'outer');
    bridge = new McpToolBridge('inner', { command: process.execPath, args: [BUS_STDIO] });
    await bridge.start(bridgeContext(bus));
  });

  after(async () => {
    await bridge?.stop();
    await bus?.close();
  });

  it('lists the exposed targets and calls one (stdio session id as bus session_id)', async () => {
    const target = bridge.targetOf('greet.hello');
    assert.ok(bridge.targets.includes(target));
    const r = await bus.invoke<McpToolResult>(target, { name: 'bus' });
    assert.deepEqual(r.structuredContent, { greeting: 'hello bus', session_id: 'stdio-session-1' });
    const bad = await bus.invoke(target, {}).catch((e: BusError) => e);
    assert.equal((bad as BusError).code, 'INVALID_REQUEST');
  });

  it('forwards cancellation through both hops to the bus handler', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 150);
    await assert.rejects(bus.invoke(bridge.targetOf('slow.wait'), {}, { signal: ac.signal }), BusError);
    let aborted = 0;
    for (let i = 0; i < 40 && aborted === 0; i++) {
      const r = await bus.invoke<McpToolResult>(bridge.targetOf('stats.aborted'), {});
      aborted = (r.structuredContent as { aborted: number }).aborted;
      if (aborted === 0) await new Promise((res) => setTimeout(res, 50));
    }
    assert.equal(aborted, 1);
  });
});
