import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BusClient, DiscoveryClient, TaskClient } from '@openagentio/nestjs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NatsTransport } from '@openagentio/nestjs';
import { MemoryTaskStore } from '@openagentio/nestjs/internal/tasks/memory-task-store.js';
import { createTaskStore } from '@openagentio/nestjs/internal/tasks/task-store.factory.js';
import { NatsServer } from '../support/nats-server.js';
import { TaskEngine } from '@openagentio/nestjs/internal/tasks/task-engine.js';
import { TaskWorker } from '@openagentio/nestjs/internal/tasks/task-worker.js';
import { quietLogger } from '../mcp/helpers.js';
import { memoryFixture, natsFixture, type TransportEnv } from '../support/transports.js';

// Drain (docs/discovery.md "Drain"): bus.drain()/resume(), and DRAIN/RESUME over the Services API subjects.
for (const fixture of [natsFixture, memoryFixture]) {
  describe(`drain and resume on ${fixture.name}`, () => {
    let env: TransportEnv;
    const buses: BusClient[] = [];
    let a: BusClient;
    let b: BusClient;
    let caller: BusClient;
    let discovery: DiscoveryClient;
    const release: Array<() => void> = [];

    const newBus = async (agentId: string, discovery: boolean | object): Promise<BusClient> => {
      const bus = new BusClient(env.newTransport(), { agentId, logger: quietLogger, discovery });
      await bus.connect();
      buses.push(bus);
      return bus;
    };

    before(async () => {
      env = await fixture.setup();
      a = await newBus('lab.pool', { control: true });
      b = await newBus('lab.pool', true);
      for (const [bus, name] of [
        [a, 'a'],
        [b, 'b'],
      ] as const)
        await bus.handleInvoke('pool.who', () => name).ready;
      await a.handleInvoke('pool.slow', () => new Promise((r) => release.push(() => r('finished')))).ready;
      caller = await newBus('lab.caller', false);
      discovery = new DiscoveryClient(caller, { gap: 100, timeout: 500 });
    });
    after(async () => {
      for (const bus of buses) await bus.close();
      await env.teardown();
    });

    it('a drained instance takes no new calls, finishes the one it has, leaves discovery; resumed, it is back', async () => {
      const idA = a.service!.id;
      const slow = caller.invoke('pool.slow', {}, { timeout: 5000 });
      await waitFor(() => release.length === 1, 'the slow call running on a');
      const answer = await discovery.drain('lab.pool', idA);
      assert.deepEqual(answer, { type: 'io.openagentio.drain_response', name: 'lab_pool', id: idA, drained: true, inflight: 1 });
      assert.equal(a.drained, true);
      const who = await Promise.all(Array.from({ length: 20 }, () => caller.invoke<string>('pool.who', {})));
      assert.deepEqual(new Set(who), new Set(['b']), 'every call to the other instance');
      await assert.rejects(caller.invoke('pool.slow', {}, { timeout: 300 }), 'nobody takes a target only the drained one serves');
      const listed = (await discovery.list()).find((s) => s.name === 'lab_pool');
      assert.deepEqual(
        listed?.instances.map((i) => i.id),
        [b.service!.id],
        'out of discovery',
      );
      release[0]();
      assert.equal(await slow, 'finished', 'the call in flight ran to its end');

      assert.equal((await discovery.resume('lab.pool', idA))?.drained, false);
      assert.equal(a.drained, false);
      const ids = ((await discovery.list()).find((s) => s.name === 'lab_pool')?.instances ?? []).map((i) => i.id).sort();
      assert.deepEqual(ids, [idA, b.service!.id].sort(), 'listed again');
      const after = new Set<string>();
      for (let i = 0; i < 200 && after.size < 2; i++) after.add(await caller.invoke<string>('pool.who', {}));
      assert.ok(after.has('a'), 'a takes calls again');
    });

    it('an instance without discovery.control does not answer DRAIN, nor does an unknown instance id', async () => {
      assert.equal(await discovery.drain('lab.pool', b.service!.id), undefined);
      assert.equal(b.drained, false);
      assert.equal(await discovery.drain('lab.pool', 'no-such-instance'), undefined);
      assert.equal(a.drained, false);
    });
  });
}

describe('drain pauses the task workers of the bus (memory store)', () => {
  it('a task submitted while drained waits; resumed, the worker runs it', async () => {
    const { MemoryBroker, MemoryTransport } = await import('@openagentio/nestjs');
    const broker = new MemoryBroker();
    const bus = new BusClient(new MemoryTransport({ broker }), { agentId: 'tasks', logger: quietLogger });
    await bus.connect();
    const engine = new TaskEngine(new MemoryTaskStore(), bus);
    const worker = new TaskWorker(engine, bus, 'job.run', (input) => ({ done: input }));
    await worker.start();
    const tasks = new TaskClient(engine);
    try {
      bus.drain();
      const t = await tasks.submit('job.run', 1);
      // Nothing takes it: it stays submitted (a bounded wait for an absence).
      await new Promise((r) => setTimeout(r, 300));
      assert.equal((await tasks.get(t.id))?.state, 'submitted');
      bus.resume();
      const done = await tasks.wait(t.id, { timeout: 5000 });
      assert.equal(done.state, 'completed');
      assert.deepEqual(done.result, { done: 1 });
    } finally {
      await worker.stop();
      await bus.close();
    }
  });
});

describe('drain pauses the task workers of the bus (JetStream store)', () => {
  it('the run in progress finishes and is acknowledged, a task submitted while drained waits, resumed it runs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'drain-js-'));
    const server = await NatsServer.start({ extraConfig: `jetstream { store_dir: ${JSON.stringify(dir)} }` });
    const bus = new BusClient(new NatsTransport({ servers: server.url }), { agentId: 'tasks', logger: quietLogger });
    await bus.connect();
    const engine = new TaskEngine(await createTaskStore(bus, { store: 'jetstream', jetstream: { ackWaitMs: 2000 } }), bus);
    const gates: Array<() => void> = [];
    const worker = new TaskWorker(engine, bus, 'job.run', (input) => new Promise((r) => gates.push(() => r({ done: input }))), {
      concurrency: 2,
    });
    await worker.start();
    const tasks = new TaskClient(engine);
    try {
      const first = await tasks.submit('job.run', 1);
      await waitFor(() => gates.length === 1, 'the first task running');
      bus.drain();
      const second = await tasks.submit('job.run', 2);
      gates[0]();
      const done = await tasks.wait(first.id, { timeout: 5000 });
      assert.deepEqual([done.state, done.attempts], ['completed', 1], 'the run in progress finished, once');
      // Past the ack wait: the first is not delivered again (it was acknowledged), the second is not taken.
      await new Promise((r) => setTimeout(r, 2500));
      assert.equal(gates.length, 1, 'no run started while drained');
      assert.equal((await tasks.get(second.id))?.state, 'submitted');
      bus.resume();
      await waitFor(() => gates.length === 2, 'the second task running after resume');
      gates[1]();
      assert.equal((await tasks.wait(second.id, { timeout: 5000 })).state, 'completed');
    } finally {
      await worker.stop();
      await bus.close();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

async function waitFor(ok: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 5000;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`no ${what} after 5 s`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
