// The JetStream task store when its server fails under it (one server here; the cluster runs are in
// cluster-faults.test.ts): errors callers see, and followers of a record whose log lacks its terminal frame.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BusClient, BusError, ErrorCodes, NatsTransport, TaskClient, type Envelope, type TaskStore } from '@openagentio/nestjs';
import { TaskEngine } from '@openagentio/nestjs/internal/tasks/task-engine.js';
import { createTaskStore } from '@openagentio/nestjs/internal/tasks/task-store.factory.js';
import { Kvm } from '@nats-io/kv';
import { quietLogger } from '../nats/helpers.js';
import { NatsServer } from '../support/nats-server.js';

describe('JetStream task store under failures', () => {
  let server: NatsServer;
  let dir: string;
  let bus: BusClient;
  let store: TaskStore;
  let tasks: TaskClient;
  let engine: TaskEngine;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tasks-fail-'));
    server = await NatsServer.start({ extraConfig: `jetstream { store_dir: ${JSON.stringify(dir)} }` });
    bus = new BusClient(new NatsTransport({ servers: server.url, reconnectTimeWait: 100, logger: quietLogger }), {
      agentId: 'failures',
      logger: quietLogger,
    });
    await bus.connect();
    store = await createTaskStore(bus, { store: 'jetstream', jetstream: { retryWindowMs: 1500 } });
    engine = new TaskEngine(store, bus);
    tasks = new TaskClient(engine);
  });
  after(async () => {
    await store.close().catch(() => undefined);
    await bus.close().catch(() => undefined);
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a record that ended without its terminal frame in the log (the append failed): follow() writes it from the record and ends', async () => {
    const task = await tasks.submit('never.run', { x: 1 });
    // What a failed append after a successful record write leaves: the record says completed at seq 1, the log
    // holds only the created frame.
    const v = (await store.get(task.id))!;
    const ended = { ...v.record, state: 'completed' as const, result: { ok: true }, seq: 1 };
    assert.notEqual(await store.update(ended, v.revision), false);
    const frames: Envelope[] = [];
    const t0 = Date.now();
    for await (const f of tasks.follow(task.id, { signal: AbortSignal.timeout(15_000) })) frames.push(f);
    assert.deepEqual(
      frames.map((f) => [f.event_type, f.seq, f.is_final ?? false]),
      [
        ['agent.task.created', 0, false],
        ['agent.task.completed', 1, true],
      ],
    );
    assert.deepEqual((frames[1].payload as { result?: unknown }).result, { ok: true });
    assert.ok(Date.now() - t0 < 10_000);
    // Written to the log, once: a second follower gets it straight away.
    const again: Envelope[] = [];
    for await (const f of tasks.follow(task.id, { signal: AbortSignal.timeout(3_000) })) again.push(f);
    assert.deepEqual(
      again.map((f) => f.seq),
      [0, 1],
    );
  });

  it('frames the log lacks while the task goes on (their appends failed): the follower gets one status frame with the state and an error naming the gap, then the frames that come', async () => {
    const task = await tasks.submit('never.run', {});
    const v = (await store.get(task.id))!;
    // seq 1 and 2 happened on the record, their frames never reached the log
    assert.notEqual(await store.update({ ...v.record, state: 'working', status_message: 'half way', seq: 2 }, v.revision), false);
    const got: Envelope[] = [];
    const follower = (async () => {
      for await (const f of tasks.follow(task.id, { signal: AbortSignal.timeout(30_000) })) {
        got.push(f);
        if (got.length === 2) {
          // The gap is reported: the task goes on, its next frames reach the follower.
          await engine.change(task.id, (r) => ({
            record: r,
            frame: { eventType: 'agent.task.status', payload: { task_id: r.id, state: 'working', message: 'three' } },
          }));
          await engine.change(task.id, TaskEngine.ending('completed', { result: 1 }));
        }
      }
    })();
    await follower;
    assert.deepEqual(
      got.map((f) => [f.event_type, f.seq]),
      [
        ['agent.task.created', 0],
        ['agent.task.status', 0],
        ['agent.task.status', 3],
        ['agent.task.completed', 4],
      ],
    );
    const gap = got[1].payload as { state: string; message?: string; error?: { code: string; message: string; retryable: boolean } };
    assert.equal(gap.state, 'working');
    assert.equal(gap.message, 'half way');
    assert.equal(gap.error?.code, ErrorCodes.TRANSPORT_FAILURE);
    assert.match(gap.error?.message ?? '', /frames 1 to 2 .* missing/);
  });

  it('a task whose record is gone under its follower: follow() ends with NO_HANDLER, not a hang', async () => {
    const task = await tasks.submit('never.run', {});
    const kv = await new Kvm((bus.transport as NatsTransport).connection!).open('acp_tasks');
    const frames: Envelope[] = [];
    const ended = (async () => {
      for await (const f of tasks.follow(task.id, { signal: AbortSignal.timeout(20_000) })) {
        frames.push(f);
        await kv.purge(task.id);
      }
    })();
    await assert.rejects(ended, (e: BusError) => e.code === ErrorCodes.NO_HANDLER && /no longer exists/.test(e.message));
    assert.deepEqual(
      frames.map((f) => f.seq),
      [0],
    );
  });

  it('with the server gone, submit fails after retryWindowMs with a retryable TRANSPORT_FAILURE, not a raw NATS error; after it, submits work', async () => {
    await server.kill();
    const t0 = Date.now();
    const err = await tasks.submit('any.job', {}).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(err instanceof BusError, `a BusError, not ${(err as Error)?.name}: ${(err as Error)?.message}`);
    assert.equal(err.code, ErrorCodes.TRANSPORT_FAILURE);
    assert.equal(err.retryable, true);
    assert.match(err.message, /task store unavailable/);
    assert.ok(Date.now() - t0 < 10_000, `gave up after ${Date.now() - t0} ms`);
    await server.startAgain();
    let ok = false;
    for (let i = 0; i < 20 && !ok; i++) {
      ok = await tasks.submit('any.job', {}).then(
        () => true,
        () => false,
      );
    }
    assert.ok(ok, 'a submit after the restart stored the task');
  });
});
