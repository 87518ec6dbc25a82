import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BusClient, BusError, DiscoveryClient, ErrorCodes, type DiscoveryEvent, type Transport } from '@openagentio/nestjs';
import { McpToolBridge } from '@openagentio/nestjs-bridges';
import { bridgeContext, EVERYTHING, quietLogger } from '../mcp/helpers.js';
import { memoryCopyFixture, memoryFixture, natsFixture, type TransportEnv, type TransportFixture } from '../support/transports.js';

/** Events a watch reported, and a way to wait for one. */
class Events {
  readonly seen: DiscoveryEvent[] = [];
  private waiters: Array<{ match: (e: DiscoveryEvent) => boolean; resolve: () => void }> = [];

  readonly listener = (e: DiscoveryEvent): void => {
    this.seen.push(e);
    this.waiters = this.waiters.filter((w) => {
      if (!w.match(e)) return true;
      w.resolve();
      return false;
    });
  };

  /** Resolves once an event matching has been reported (already, or later). */
  until(match: (e: DiscoveryEvent) => boolean): Promise<void> {
    if (this.seen.some(match)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ match, resolve }));
  }
}

// The same DiscoveryClient API on every transport: NATS (the Services API), memory with validated JSON text, and
// memory as apps run it by default (object copies, invokes as direct calls).
for (const fixture of [natsFixture, memoryFixture, memoryCopyFixture] satisfies TransportFixture[]) {
  describe(`DiscoveryClient on ${fixture.name}`, () => {
    let env: TransportEnv;
    const buses: BusClient[] = [];
    const newBus = async (agentId: string, discovery: boolean | object = true, transport?: Transport): Promise<BusClient> => {
      const bus = new BusClient(transport ?? env.newTransport(), { agentId, logger: quietLogger, discovery });
      await bus.connect();
      buses.push(bus);
      return bus;
    };
    let worker: BusClient;
    let caller: BusClient;
    let discovery: DiscoveryClient;

    before(async () => {
      env = await fixture.setup();
      worker = await newBus('lab.worker', { version: '2.0.0' });
      await worker.handleInvoke('lab.add', ({ a, b }: { a: number; b: number }) => a + b, {
        description: 'Adds two numbers',
        tags: ['math'],
        inputSchema: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } }, required: ['a', 'b'] },
      }).ready;
      await worker.handleInvoke('lab.check', (p: { fail?: boolean }) => {
        if (p?.fail) throw new BusError(ErrorCodes.INVALID_REQUEST, 'check failed on purpose');
        return 'ok';
      }).ready;
      await worker.handleStream('lab.story', async function* () {
        yield 'once';
      }).ready;
      caller = await newBus('lab.caller', false);
      discovery = new DiscoveryClient(caller, { gap: 100 });
    });

    after(async () => {
      for (const b of buses.splice(0).reverse()) await b.close().catch(() => undefined);
      await env?.teardown();
    });

    it('lists the agents with discovery on (a bus with it off is not listed), with their targets', async () => {
      const agents = await discovery.list();
      assert.deepEqual(
        agents.map((a) => [a.name, a.agentId, a.instances.length]),
        [['lab_worker', 'lab.worker', 1]],
      );
      const [info] = agents[0].instances;
      assert.equal(info.id, worker.service!.id);
      assert.equal(info.version, '2.0.0');
      const targets = await discovery.targets();
      assert.deepEqual(targets.map((t) => [t.target, t.kind, t.subject, t.queue]).sort(), [
        ['lab.add', 'invoke', 'acp.v1.invoke.lab.add', 'lab.add'],
        ['lab.check', 'invoke', 'acp.v1.invoke.lab.check', 'lab.check'],
        ['lab.story', 'stream', 'acp.v1.invoke.lab.story', 'lab.story'],
      ]);
      const add = targets.find((t) => t.target === 'lab.add')!;
      assert.equal(add.description, 'Adds two numbers');
      assert.deepEqual(add.tags, ['math']);
      assert.deepEqual(add.inputSchema?.required, ['a', 'b']);
      assert.deepEqual(add.instances, [worker.service!.id]);
      // By agent id or by service name, and one instance by id.
      assert.equal((await discovery.info('lab.worker')).length, 1);
      assert.equal((await discovery.ping('lab_worker', worker.service!.id)).length, 1);
      assert.deepEqual(await discovery.info('lab.nobody'), []);
    });

    it('STATS: 5 invokes with 1 failure are 5 requests, 1 error, the last error and a processing time above zero', async () => {
      const directBefore = caller.stats.directCalls;
      for (let i = 0; i < 4; i++) assert.equal(await caller.invoke('lab.check', {}), 'ok');
      await assert.rejects(caller.invoke('lab.check', { fail: true }), /on purpose/);
      if (fixture === memoryCopyFixture) assert.equal(caller.stats.directCalls - directBefore, 5, 'these took the direct path');
      const [stats] = await discovery.stats('lab.worker', worker.service!.id);
      const check = stats.endpoints.find((e) => e.name === 'lab_check')!;
      assert.equal(check.num_requests, 5);
      assert.equal(check.num_errors, 1);
      assert.equal(check.last_error, 'INVALID_REQUEST: check failed on purpose');
      assert.ok(check.processing_time > 0);
      assert.ok(Number.isInteger(check.processing_time) && Number.isInteger(check.average_processing_time));
      assert.equal(check.average_processing_time, Math.round(check.processing_time / 5));
      assert.ok(!Number.isNaN(Date.parse(stats.started)));
    });

    it("an MCP bridge's targets appear in INFO and vanish when it stops; watch reports both", async () => {
      const events = new Events();
      const watch = discovery.watch(events.listener, { refreshInterval: 0 });
      await watch.ready;
      // The first sweep reports what is there already.
      await events.until((e) => e.type === 'added' && e.endpoint.target === 'lab.add');
      const host = await newBus('lab.mcp');
      const bridge = new McpToolBridge('everything', { command: process.execPath, args: [EVERYTHING, 'stdio'], target_prefix: 'mcp.ev' });
      try {
        await bridge.start(bridgeContext(host));
        await events.until((e) => e.type === 'added' && e.endpoint.target === 'mcp.ev.echo');
        const [info] = await discovery.info('lab.mcp');
        const echo = info.endpoints.find((e) => e.metadata['acp.target'] === 'mcp.ev.echo');
        assert.ok(echo, 'INFO lists the bridged tool');
        assert.equal(echo.subject, 'acp.v1.invoke.mcp.ev.echo');
        assert.equal(echo.metadata['acp.kind'], 'stream');
        assert.match(echo.metadata['acp.description'] ?? '', /echo/i, 'the tool description');
        assert.equal(JSON.parse(echo.metadata['acp.input_schema']).type, 'object', "the tool's input schema");
        assert.equal(echo.metadata['acp.tags'], 'mcp,everything');
        const added = events.seen.filter((e) => e.type === 'added' && e.endpoint.agentId === 'lab.mcp').map((e) => e.endpoint.target);
        assert.deepEqual(added.sort(), [...bridge.targets].sort());
      } finally {
        await bridge.stop();
      }
      await events.until((e) => e.type === 'removed' && e.endpoint.target === 'mcp.ev.echo');
      const [after] = await discovery.info('lab.mcp');
      assert.deepEqual(after.endpoints, [], 'INFO no longer lists them');
      const removed = events.seen.filter((e) => e.type === 'removed').map((e) => e.endpoint.target);
      assert.ok(removed.includes('mcp.ev.get-sum'));
      assert.ok(!removed.includes('lab.add'), 'the other agent is untouched');
      // An instance that closes is gone from the list.
      await host.close();
      assert.deepEqual(
        (await discovery.list()).map((a) => a.agentId),
        ['lab.worker'],
      );
      watch.stop();
    });
  });
}
