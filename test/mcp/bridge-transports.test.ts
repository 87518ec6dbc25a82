import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BusClient, BusError, type Envelope } from '@openagentio/nestjs';
import { McpToolBridge, type McpToolResult } from '@openagentio/nestjs-bridges';
import { BusCluster } from '../support/bus-fixture.js';
import { transportFixtures } from '../support/transports.js';
import { bridgeContext, EVERYTHING, quietLogger, waitFor } from './helpers.js';

// The bridge over every bus transport of the shared suite (memory, and a real nats-server).
for (const fixture of transportFixtures) {
  describe(`mcp_tool bridge over the ${fixture.name} transport`, () => {
    let cluster: BusCluster;
    let host: BusClient;
    let caller: BusClient;
    let bridge: McpToolBridge;
    let ctx: ReturnType<typeof bridgeContext>;

    before(async () => {
      cluster = await BusCluster.start(fixture);
      host = await cluster.bus('mcp-host', { logger: quietLogger });
      caller = await cluster.bus('caller', { logger: quietLogger });
      ctx = bridgeContext(host);
      bridge = new McpToolBridge('ev', { command: process.execPath, args: [EVERYTHING, 'stdio'], target_prefix: 'mcp.ev' });
      await bridge.start(ctx);
    });

    after(async () => {
      await bridge?.stop();
      await cluster?.close();
    });

    it('invoke, stream with progress, and cancellation', async () => {
      const echo = await caller.invoke<McpToolResult>('mcp.ev.echo', { message: fixture.name });
      assert.equal(echo.text, `Echo: ${fixture.name}`);
      const frames: Envelope[] = [];
      for await (const f of caller.stream('mcp.ev.trigger-long-running-operation', { duration: 0.4, steps: 4 })) frames.push(f);
      assert.ok(frames.filter((f) => f.event_type === 'agent.response.delta').length >= 3);
      const before = bridge.stats.cancellationsSent;
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 200);
      const t0 = Date.now();
      await assert.rejects(
        caller.invoke('mcp.ev.trigger-long-running-operation', { duration: 5, steps: 5 }, { signal: ac.signal }),
        BusError,
      );
      assert.ok(Date.now() - t0 < 1500);
      await waitFor(() => bridge.stats.cancellationsSent > before, 3000, 'notifications/cancelled');
    });

    it('a killed server answers AGENT_UNAVAILABLE (retryable) at once, also after stop', async () => {
      process.kill(bridge.pid!, 'SIGKILL');
      await ctx.failed;
      await bridge.stop();
      const t0 = Date.now();
      const err = (await caller.invoke('mcp.ev.echo', { message: 'x' }, { timeout: 5000 }).catch((e) => e)) as BusError;
      assert.equal(err.code, 'AGENT_UNAVAILABLE');
      assert.equal(err.retryable, true);
      assert.ok(Date.now() - t0 < 1000, `took ${Date.now() - t0} ms`);
      await bridge.start(ctx);
      const echo = await caller.invoke<McpToolResult>('mcp.ev.echo', { message: 'again' });
      assert.equal(echo.text, 'Echo: again');
    });
  });
}
