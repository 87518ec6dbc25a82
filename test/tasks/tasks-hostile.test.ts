// Issue 23 (task store), probed as an attacker on the same NATS account, on a real nats-server with JetStream:
// each test states the number the issue measured before the fix and asserts the bound it has now.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import {
  BusClient,
  JetStreamTaskStore,
  MemoryBroker,
  MemoryTaskStore,
  MemoryTransport,
  NatsTransport,
  TaskClient,
  type BusError,
  type TaskContext,
  type TaskRecord,
} from '@openagentio/nestjs';
import { TaskEngine } from '@openagentio/nestjs/internal/tasks/task-engine.js';
import { TaskWorker } from '@openagentio/nestjs/internal/tasks/task-worker.js';
import { deferred, RecordingLogger, until } from '../support/bus-fixture.js';
import { NatsServer } from '../support/nats-server.js';
import { heapAfterGc } from '../support/heap.js';

const MB = 1024 * 1024;
const ACK_WAIT = 1500;

describe('tasks against a hostile peer on the same NATS account [JetStream]', () => {
  let dir: string;
  let server: NatsServer;
  let bus: BusClient;
  let logger: RecordingLogger;
  let store: JetStreamTaskStore;
  let engine: TaskEngine;
  let tasks: TaskClient;
  let raw: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  const workers: TaskWorker[] = [];
  const worker = async (target: string, handler: (input: any, ctx: TaskContext) => unknown, options = {}) => {
    const w = new TaskWorker(engine, bus, target, handler, options);
    await w.start();
    workers.push(w);
    return w;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tasks-hostile-'));
    server = await NatsServer.start({ extraConfig: `jetstream { store_dir: ${JSON.stringify(dir)} }` });
    logger = new RecordingLogger();
    bus = new BusClient(new NatsTransport({ servers: server.url }), { agentId: 'victim', logger });
    await bus.connect();
    store = new JetStreamTaskStore((bus.transport as NatsTransport).connection!, { ackWaitMs: ACK_WAIT });
    await store.init();
    engine = new TaskEngine(store, bus);
    tasks = new TaskClient(engine);
    raw = await connect({ servers: server.url });
    js = jetstream(raw);
    jsm = await jetstreamManager(raw);
  });
  after(async () => {
    for (const w of workers) await w.stop();
    await store?.close();
    await bus?.close();
    await raw?.close();
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('poison queue messages are terminated, counted, logged at most once a second, and 1,103 of them delay a real task by under 5 s (was: redelivered forever, the target starved)', async () => {
    const logsBefore = logger.lines.length;
    const ran: string[] = [];
    await worker('poison.job', (_i, ctx) => void ran.push(ctx.task.id));
    const t0 = Date.now();
    for (const body of ['', 'not a key!', '*']) await js.publish('acp.tasks.queue.poison.job', body);
    await Promise.all(
      Array.from({ length: 1_100 }, (_, i) => js.publish('acp.tasks.queue.poison.job', i % 2 ? `junk ${i}` : `0000-no-such-task-${i}`)),
    );
    const real = await tasks.submit('poison.job', { real: true });
    const done = await tasks.wait(real.id, { timeout: 10_000 });
    const delay = Date.now() - t0;
    assert.equal(done.state, 'completed');
    assert.ok(delay < 5_000, `the real task took ${delay} ms behind the poison`);
    assert.deepEqual(ran, [real.id]);
    // The 550 well-formed ids that name no record come back once, a second later (a lagging server may have
    // answered "absent"), and only then count as poison.
    await eventually(async () => bus.stats.poisonTaskMessages === 1_103, 'every poison message counted');
    // Terminated: nothing pending, nothing redelivered, even after the ack wait has passed.
    await new Promise((r) => setTimeout(r, ACK_WAIT + 500));
    const info = await jsm.consumers.info('ACP_TASK_QUEUE', 'tasks_poison_job');
    assert.equal(info.num_ack_pending, 0);
    assert.equal(info.num_redelivered, 0);
    assert.equal(bus.stats.poisonTaskMessages, 1_103, 'no poison message came back');
    const lines = logger.lines.slice(logsBefore).filter((l) => l.includes('task queue of poison.job'));
    const seconds = Math.ceil((Date.now() - t0) / 1000);
    assert.ok(lines.length >= 1 && lines.length <= seconds + 1, `${lines.length} log lines in ${seconds} s`);
    const counted = lines.reduce((n, l) => n + Number(/dropped (\d+) message/.exec(l)![1]), 0);
    assert.equal(counted, 1_103, 'the log lines count every poison message');
  });

  it('2,000 follow open/close cycles and abandoned waits leave no consumer behind within 5 s, and nats-server memory near its baseline (was: 2,000 consumers, RSS 13 → 96 MB)', async () => {
    await worker('follow.never', () => new Promise(() => undefined));
    const task = await tasks.submit('follow.never', {});
    const baseline = await store.followerConsumers();
    const memBefore = await serverMem(server);
    for (let round = 0; round < 100; round++) {
      await Promise.all(
        Array.from({ length: 20 }, async () => {
          for await (const _f of tasks.follow(task.id)) break; // the follower leaves after the first frame
        }),
      );
    }
    // Abandoned waits: a timeout, and a caller's signal.
    await assert.rejects(tasks.wait(task.id, { timeout: 200 }), (e: BusError) => e.code === 'AGENT_TIMEOUT');
    const ac = new AbortController();
    const waiting = tasks.wait(task.id, { signal: ac.signal });
    await eventually(async () => (await store.followerConsumers()) > baseline, 'the wait follows the task');
    ac.abort(new Error('caller left'));
    await assert.rejects(waiting, /caller left/);
    const t0 = Date.now();
    while ((await store.followerConsumers()) > baseline) {
      assert.ok(Date.now() - t0 < 5_000, `consumers still ${await store.followerConsumers()} (baseline ${baseline}) after 5 s`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const memAfter = await serverMem(server);
    assert.ok(memAfter - memBefore < 30 * MB, `nats-server RSS ${memBefore / MB} → ${memAfter / MB} MB`);
  });

  it('the timeout is a promise: a handler that ignores its signal, or never returns, ends failed AGENT_TIMEOUT within timeout + 1 s, the slot is free at once, a late result is dropped (was: working until the handler returned)', async () => {
    const late = deferred<string>();
    const startedAt = new Map<string, number>();
    await worker(
      'deaf.job',
      (input: { mode: string }, ctx) => {
        startedAt.set(ctx.task.id, Date.now());
        if (input.mode === 'late') return late.promise; // ignores its signal, returns later
        if (input.mode === 'never') return new Promise(() => undefined);
        return 'quick';
      },
      { timeout: 1_000, concurrency: 1 },
    );
    const lateBefore = bus.stats.lateTaskResults;
    const deaf = await tasks.submit('deaf.job', { mode: 'late' });
    const never = await tasks.submit('deaf.job', { mode: 'never' });
    const next = await tasks.submit('deaf.job', { mode: 'quick' });
    const ended = await tasks.wait(deaf.id, { timeout: 5_000 });
    const endedAt = Date.parse(ended.updated_at);
    assert.equal(ended.state, 'failed');
    assert.equal(ended.error?.code, 'AGENT_TIMEOUT');
    assert.ok(endedAt - startedAt.get(deaf.id)! <= 2_000, `ended ${endedAt - startedAt.get(deaf.id)!} ms after it started`);
    const stuck = await tasks.wait(never.id, { timeout: 5_000 });
    assert.equal(stuck.error?.code, 'AGENT_TIMEOUT');
    assert.ok(Date.parse(stuck.updated_at) - startedAt.get(never.id)! <= 2_000);
    // The slot was free the moment the previous run ended: each next run started right away.
    assert.ok(startedAt.get(never.id)! - endedAt < 1_000, 'the second run started when the first ended');
    const quick = await tasks.wait(next.id, { timeout: 5_000 });
    assert.equal(quick.result, 'quick');
    late.resolve('too late');
    await until(() => bus.stats.lateTaskResults > lateBefore, 2_000, 'the late result counted');
    assert.equal((await tasks.get(deaf.id))?.state, 'failed', 'the late result changed nothing');
    assert.ok(logger.lines.some((l) => l.includes(deaf.id) && l.includes('outcome was dropped')));
  });

  it('submit is atomic: an input too large for a record is refused before anything is written (was: a record stuck submitted with no frame and no queue entry)', async () => {
    const streams = async () => [
      (await jsm.streams.info('ACP_TASK_FRAMES')).state.messages,
      (await jsm.streams.info('ACP_TASK_QUEUE')).state.messages,
      (await jsm.streams.info('KV_acp_tasks')).state.messages,
    ];
    const before = await streams();
    const limit = raw.info!.max_payload;
    await assert.rejects(
      tasks.submit('big.job', 'x'.repeat(limit - 200), { tenant_id: 'big' }),
      (e: BusError) =>
        e.code === 'INVALID_REQUEST' &&
        new RegExp(`record would be \\d+ bytes, over the store's limit of ${store.maxRecordBytes} bytes`).test(e.message),
    );
    // A record that fits, whose created frame (the session fields twice) would not: refused the same way.
    await assert.rejects(
      tasks.submit('big.job', 'x'.repeat(600_000), { tenant_id: 'big', session_id: 's'.repeat(300_000) }),
      (e: BusError) => e.code === 'INVALID_REQUEST' && /its created frame/.test(e.message),
    );
    assert.deepEqual(await streams(), before, 'nothing was written');
    assert.deepEqual((await tasks.list({ tenant_id: 'big' })).tasks, []);
    // Just under the limit is accepted, with its frame and queue entry.
    const fits = await tasks.submit('big.job', 'x'.repeat(store.maxRecordBytes - 1_000), { tenant_id: 'big' });
    assert.equal((await tasks.get(fits.id))?.state, 'submitted');
  });

  it('a submit cut short by a process killed between its writes is finished by the sweeper at the next start', async () => {
    const child = spawn(process.execPath, [new URL('./fixtures/submit-dies.js', import.meta.url).pathname, server.url], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    const [code, signal] = await once(child, 'exit');
    assert.equal(signal, 'SIGKILL', `the child died by SIGKILL (exit ${code})`);
    const id = /DYING (\S+)/.exec(out)![1];
    const orphan = await tasks.get(id);
    assert.equal(orphan?.state, 'submitted', 'the record was written');
    // No queue entry: a worker would never see it. The next start's sweeper finishes it.
    const done = deferred<string>();
    await worker('orphan.job', (_i, ctx) => done.resolve(ctx.task.id));
    const next = new JetStreamTaskStore(raw, { ackWaitMs: ACK_WAIT, orphanAfterMs: 0 });
    await next.init();
    await next.sweepOrphans();
    assert.equal(await done.promise, id);
    assert.equal((await tasks.wait(id, { timeout: 5_000 })).state, 'completed');
    assert.equal(await next.sweepOrphans(), 0, 'nothing left to sweep');
    // Finished submits leave no marker subject behind (the sweeper lists them every orphanAfterMs).
    const markers = await jsm.streams.info('KV_acp_tasks', { subjects_filter: '$KV.acp_tasks.pending.>' });
    assert.deepEqual(Object.keys(markers.state.subjects ?? {}), []);
    await next.close();
  });

  it("pending marks: submits in turn reuse one slot (no removal written), a failed submit keeps its mark for the sweeper, and an earlier version's pending.<id> marker is still swept", async () => {
    const own = new JetStreamTaskStore(raw, { ackWaitMs: ACK_WAIT, orphanAfterMs: 60_000 });
    await own.init();
    const ownTasks = new TaskClient(new TaskEngine(own, bus));
    const marks = async () =>
      Object.keys((await jsm.streams.info('KV_acp_tasks', { subjects_filter: '$KV.acp_tasks.pending.>' })).state.subjects ?? {});
    const earlier = new Set(await marks());
    const fresh = async () => (await marks()).filter((m) => !earlier.has(m));
    for (let i = 0; i < 3; i++) await ownTasks.submit('slot.job', { i });
    assert.equal((await fresh()).length, 1, 'one mark for three submits in turn');
    // The queue refuses the entry after the record is stored: the submit fails, its mark stays, the next takes a new slot.
    const enqueue = own.enqueue.bind(own);
    own.enqueue = async () => {
      throw new Error('queue refused');
    };
    await assert.rejects(ownTasks.submit('slot.job', { failed: true }), /queue refused/);
    own.enqueue = enqueue;
    await ownTasks.submit('slot.job', { after: true });
    const two = await fresh();
    assert.equal(two.length, 2, 'the failed submit kept its slot');
    const marked = await Promise.all(
      two.map(async (subject) => (await jsm.streams.getMessage('KV_acp_tasks', { last_by_subj: subject }))!.json<{ id: string }>().id),
    );
    const failed = (await Promise.all(marked.map((id) => tasks.get(id)))).find((r) => (r?.input as { failed?: boolean })?.failed);
    assert.equal(failed?.state, 'submitted', 'its record was stored, with no queue entry');
    // A submit of an earlier version cut short: its `pending.<id>` marker and record, no frame, no queue entry.
    const now = new Date().toISOString();
    const old: TaskRecord = {
      id: randomUUID(),
      target: 'slot.job',
      state: 'submitted',
      input: { old: true },
      history: [],
      artifacts: [],
      attempts: 0,
      seq: 0,
      created_at: now,
      updated_at: now,
    };
    await store.create(old);
    await js.publish(`$KV.acp_tasks.pending.${old.id}`, 'slot.job');
    await worker('slot.job', (input) => input);
    const sweeper = new JetStreamTaskStore(raw, { ackWaitMs: ACK_WAIT, orphanAfterMs: 0 });
    await sweeper.init();
    await sweeper.sweepOrphans();
    assert.equal((await tasks.wait(failed!.id, { timeout: 5_000 })).state, 'completed', 'the failed submit was finished');
    assert.equal((await tasks.wait(old.id, { timeout: 5_000 })).state, 'completed', 'the earlier marker was finished');
    assert.deepEqual(await fresh(), [], 'every mark swept, the finished ones too');
    await sweeper.close();
    await own.close();
  });

  it('forged pending marks (not JSON, an id that is no task id, the id of an ended task) are swept away and change no task', async () => {
    await worker('rogue.job', (input) => input);
    const ended = await tasks.submit('rogue.job', { n: 1 });
    const before = await tasks.wait(ended.id, { timeout: 5_000 });
    assert.equal(before.state, 'completed');
    const forged = ['pending.rogue.0', 'pending.rogue.1', 'pending.rogue.2'];
    await js.publish(`$KV.acp_tasks.${forged[0]}`, 'not json {');
    await js.publish(`$KV.acp_tasks.${forged[1]}`, JSON.stringify({ id: '../../x', target: 'rogue.job' }));
    await js.publish(`$KV.acp_tasks.${forged[2]}`, JSON.stringify({ id: ended.id, target: 'rogue.job' }));
    const sweeper = new JetStreamTaskStore(raw, { ackWaitMs: ACK_WAIT, orphanAfterMs: 0 });
    await sweeper.init();
    assert.ok((await sweeper.sweepOrphans()) >= forged.length, 'each forged mark was handled');
    const left = Object.keys(
      (await jsm.streams.info('KV_acp_tasks', { subjects_filter: '$KV.acp_tasks.pending.rogue.>' })).state.subjects ?? {},
    );
    assert.deepEqual(left, [], 'no forged mark left');
    const after = await tasks.get(ended.id);
    assert.equal(after?.state, 'completed');
    assert.equal(after?.seq, before.seq, 'the ended task was not touched');
    assert.equal(after?.updated_at, before.updated_at);
    await sweeper.close();
  });

  it('3 core-NATS cancel notices do not abort a running task; a real cancel ends it canceled, never failed (was: each notice aborted the run, then failed with retryable: true)', async () => {
    const release = deferred<void>();
    const started = deferred<void>();
    let aborts = 0;
    await worker(
      'notice.job',
      (_i, ctx) =>
        new Promise((resolve, reject) => {
          started.resolve();
          ctx.signal.addEventListener('abort', () => (aborts++, reject(ctx.signal.reason)));
          void release.promise.then(() => resolve('finished'));
        }),
    );
    const task = await tasks.submit('notice.job', {});
    await started.promise;
    for (let i = 0; i < 3; i++) raw.publish('acp.tasks.cancel', task.id);
    await raw.flush();
    // The worker reads the record on each notice; give it the round trips, then check nothing happened.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(aborts, 0);
    assert.equal((await tasks.get(task.id))?.state, 'working');
    release.resolve();
    const done = await tasks.wait(task.id, { timeout: 5_000 });
    assert.equal(done.state, 'completed');
    assert.equal(done.attempts, 1);

    const second = deferred<void>();
    await worker(
      'notice.cancel',
      (_i, ctx) =>
        new Promise((_, reject) => {
          second.resolve();
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason));
        }),
    );
    const t2 = await tasks.submit('notice.cancel', {});
    await second.promise;
    await tasks.cancel(t2.id);
    const canceled = await tasks.wait(t2.id, { timeout: 5_000 });
    assert.equal(canceled.state, 'canceled');
    assert.equal(canceled.error, undefined);
  });

  it("a working task's id replayed 3 times on its queue never runs a second handler at once, and attempts counts every run (was: 4 runs at once, attempts 2)", async () => {
    let running = 0;
    let most = 0;
    let runs = 0;
    const release = deferred<void>();
    const first = deferred<void>();
    await worker(
      'replay.job',
      async () => {
        runs++;
        running++;
        most = Math.max(most, running);
        first.resolve();
        await release.promise;
        running--;
        return 'once';
      },
      { concurrency: 4 },
    );
    const task = await tasks.submit('replay.job', {});
    await first.promise;
    for (let i = 0; i < 3; i++) await js.publish('acp.tasks.queue.replay.job', task.id);
    // The replays are delivered and refused: the consumer has nothing pending but the first run.
    const t0 = Date.now();
    for (;;) {
      const info = await jsm.consumers.info('ACP_TASK_QUEUE', 'tasks_replay_job');
      if (info.num_pending === 0 && info.num_ack_pending === 1) break;
      assert.ok(Date.now() - t0 < 5_000, 'the replays were not handled');
      await new Promise((r) => setTimeout(r, 20));
    }
    release.resolve();
    const done = await tasks.wait(task.id, { timeout: 5_000 });
    assert.equal(done.result, 'once');
    assert.equal(most, 1);
    assert.equal(runs, 1);
    assert.equal(done.attempts, 1);
  });

  it('a result too large for the record fails the task with INVALID_REQUEST naming the size (was: failed "internal error", the result lost)', async () => {
    await worker('huge.result', () => 'y'.repeat(raw.info!.max_payload));
    const task = await tasks.submit('huge.result', {});
    const done = await tasks.wait(task.id, { timeout: 5_000 });
    assert.equal(done.state, 'failed');
    assert.equal(done.error?.code, 'INVALID_REQUEST');
    assert.match(done.error!.message, /record would be \d+ bytes, over the store's limit of \d+ bytes/);
  });

  it("list reads only the asking tenant's records: a page of a small tenant beside 2,000 of another's moves a few KB (was: every record of every tenant per page)", async () => {
    const bulk = 'x'.repeat(1_000);
    for (let i = 0; i < 2_000; i += 100) {
      await Promise.all(
        Array.from({ length: 100 }, () => store.create({ ...stubRecord(), tenant_id: 'bulk', input: bulk, id: newTaskId() })),
      );
    }
    const mine = [];
    for (let i = 0; i < 5; i++) mine.push(await tasks.submit('list.job', { i }, { tenant_id: 'small' }));
    const inBefore = (bus.transport as NatsTransport).connection!.stats().inBytes;
    const page = await tasks.list({ tenant_id: 'small', limit: 3 });
    const rest = await tasks.list({ tenant_id: 'small', limit: 3, cursor: page.next_cursor });
    const moved = (bus.transport as NatsTransport).connection!.stats().inBytes - inBefore;
    assert.deepEqual(
      [...page.tasks, ...rest.tasks].map((t) => t.id),
      mine.map((t) => t.id).reverse(),
    );
    assert.equal(rest.next_cursor, undefined);
    assert.ok(moved < 64 * 1024, `list moved ${moved} bytes`);
    // Listing in a loop leaves nothing on the server either (no consumer per call on the bucket's stream).
    const kvConsumers = async () => (await jsm.streams.info('KV_acp_tasks')).state.consumer_count;
    const consumersBefore = await kvConsumers();
    await Promise.all(Array.from({ length: 500 }, (_, i) => tasks.list({ tenant_id: i % 2 ? 'small' : 'nobody' })));
    assert.equal(await kvConsumers(), consumersBefore);
    const bulkPage = await tasks.list({ tenant_id: 'bulk', limit: 100 });
    assert.equal(bulkPage.tasks.length, 100);
    assert.ok(bulkPage.tasks.every((t) => t.tenant_id === 'bulk'));
  });

  it('states its retention: records, frames and queued runs expire after maxAgeMs, read back from the server', async () => {
    const week = 7 * 24 * 3600 * 1000 * 1_000_000;
    assert.equal((await jsm.streams.info('ACP_TASK_FRAMES')).config.max_age, week);
    assert.equal((await jsm.streams.info('ACP_TASK_QUEUE')).config.max_age, week);
    assert.equal((await jsm.streams.info('KV_acp_tasks')).config.max_age, week);
  });
});

describe('the memory task store is bounded', () => {
  it('1,000 × 90 KB tasks: the heap returns near its baseline once they ended and their TTL passed; caps refuse what cannot fit (was: 25 → 204 MB, never released)', async () => {
    const bus = new BusClient(new MemoryTransport({ broker: new MemoryBroker() }), { agentId: 'mem', logger: new RecordingLogger() });
    await bus.connect();
    const store = new MemoryTaskStore({ ttlMs: 300 });
    const engine = new TaskEngine(store, bus);
    const tasks = new TaskClient(engine);
    const baseline = heapAfterGc();
    const ids: string[] = [];
    for (let i = 0; i < 1_000; i++) ids.push((await tasks.submit('mem.job', 'z'.repeat(90 * 1024) + i)).id);
    const peak = heapAfterGc();
    assert.ok(peak - baseline > 50 * MB, `the tasks are held while they live (${(peak - baseline) / MB} MB)`);
    assert.equal(store.usage.tasks, 1_000, 'a task that has not ended never expires');
    const w = new TaskWorker(engine, bus, 'mem.job', () => 'ok', { concurrency: 8 });
    await w.start();
    for (const id of ids) await tasks.wait(id, { timeout: 10_000 });
    await until(() => store.usage.tasks === 0, 5_000, 'ended tasks expired');
    const end = heapAfterGc();
    assert.ok(end - baseline < 10 * MB, `heap ${baseline / MB} → ${peak / MB} → ${end / MB} MB`);
    await w.stop();

    const capped = new MemoryTaskStore({ maxTasks: 3, maxTaskBytes: 64 * 1024 });
    const c = new TaskClient(new TaskEngine(capped, bus));
    await assert.rejects(c.submit('cap.job', 'q'.repeat(60 * 1024)), /record would be \d+ bytes, over the store's limit of \d+ bytes/);
    const held = [await c.submit('cap.job', 1), await c.submit('cap.job', 2), await c.submit('cap.job', 3)];
    await assert.rejects(c.submit('cap.job', 4), (e: BusError) => e.code === 'BACKPRESSURE_DROP' && /3 tasks/.test(e.message));
    await c.cancel(held[0].id);
    assert.equal((await c.submit('cap.job', 5)).state, 'submitted', 'an ended task makes room');
    assert.equal(await c.get(held[0].id), undefined, 'the oldest ended task went first');
    await capped.close();
    await store.close();
    await bus.close();
  });
});

function stubRecord(): TaskRecord {
  const now = new Date().toISOString();
  return {
    id: '',
    target: 'bulk.job',
    state: 'completed',
    input: null,
    history: [],
    artifacts: [],
    attempts: 1,
    seq: 0,
    created_at: now,
    updated_at: now,
  };
}

let counter = 0;
function newTaskId(): string {
  return `0bulk-${String(counter++).padStart(6, '0')}`;
}

/** nats-server's resident memory, from its monitoring endpoint. */
async function serverMem(server: NatsServer): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${server.monitorPort}/varz`);
  return ((await res.json()) as { mem: number }).mem;
}

/** Polls an async condition (a server-side state no event announces) for up to 5 s. */
async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  const end = Date.now() + 5_000;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
