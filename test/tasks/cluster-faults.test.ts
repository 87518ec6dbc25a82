// Durable tasks on a real 3-node JetStream cluster (loopback): a stream leader killed, a node frozen, a node's disk
// lost, each under a task load. What must hold: no ghost (a submitted task that never runs), nothing lost, nothing
// failed by the infrastructure, every follower ends, submits succeed or fail retryably. Runs twice are reported.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import {
  BusClient,
  BusError,
  ErrorCodes,
  NatsTransport,
  TaskClient,
  type TaskContext,
  type TaskRecord,
  type TaskStore,
} from '@openagentio/nestjs';
import { TaskEngine } from '@openagentio/nestjs/internal/tasks/task-engine.js';
import { TaskWorker } from '@openagentio/nestjs/internal/tasks/task-worker.js';
import { createTaskStore } from '@openagentio/nestjs/internal/tasks/task-store.factory.js';
import { quietLogger, RecordingLogger } from '../nats/helpers.js';
import { startCluster, waitForMetaLeader, type NatsServer } from '../support/nats-server.js';

const TARGET = 'cluster.job';
/**
 * A run without a sign of life goes to another worker after this long. Longer than the outages here (as the 30 s
 * default is), so a run whose signs of life were lost in an election is not given to a second worker while the
 * first still runs: at 4 s, 5 to 9 tasks of 160–240 ran twice; at 10 s, 0 to 3. Short enough that a delivery lost
 * with a leader comes back within the test.
 */
const ACK_WAIT_MS = 10_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Participant {
  bus: BusClient;
  store: TaskStore;
  tasks: TaskClient;
  engine: TaskEngine;
}

async function participant(agentId: string, node: NatsServer, logger = quietLogger): Promise<Participant> {
  const bus = new BusClient(new NatsTransport({ servers: node.url, reconnectTimeWait: 100, reconnectJitter: 50, logger: quietLogger }), {
    agentId,
    logger,
  });
  await bus.connect();
  const store = await createTaskStore(bus, { store: 'jetstream', jetstream: { ackWaitMs: ACK_WAIT_MS } });
  const engine = new TaskEngine(store, bus);
  return { bus, store, engine, tasks: new TaskClient(engine) };
}

/** Which node leads a stream now (JetStream names it by server name). */
async function leaderOf(p: Participant, stream: string, nodes: NatsServer[]): Promise<NatsServer> {
  const jsm = await jetstreamManager(p.bus.transport instanceof NatsTransport ? p.bus.transport.connection! : (undefined as never));
  for (let i = 0; i < 100; i++) {
    const leader = (await jsm.streams.info(stream).catch(() => undefined))?.cluster?.leader;
    const node = nodes.find((n) => n.name === leader);
    if (node) return node;
    await sleep(100);
  }
  throw new Error(`stream ${stream} has no leader`);
}

/** A cluster, two workers (concurrency 4) on two nodes, a submitter on the third, and counts of every run. */
async function setUp(cleanup: Array<() => Promise<void>>) {
  const nodes = await startCluster(3, { jetstream: true });
  const parts: Participant[] = [];
  const workers: TaskWorker[] = [];
  cleanup.push(async () => {
    for (const w of workers) await w.stop().catch(() => undefined);
    for (const p of parts) {
      await p.store.close().catch(() => undefined);
      await p.bus.close().catch(() => undefined);
    }
    for (const n of nodes) n.thaw();
    await Promise.all(nodes.map((n) => n.stop()));
  });
  const submitter = await participant('submitter', nodes[2]);
  parts.push(submitter);
  const runs = new Map<string, number>();
  const handler = async (input: unknown, ctx: TaskContext) => {
    runs.set(ctx.task.id, (runs.get(ctx.task.id) ?? 0) + 1);
    await ctx.status('step 1');
    await sleep(100);
    await ctx.status('step 2');
    return input;
  };
  for (const [i, node] of [nodes[0], nodes[1]].entries()) {
    const p = await participant(`worker-${i}`, node);
    parts.push(p);
    const w = new TaskWorker(p.engine, p.bus, TARGET, handler, { concurrency: 4, maxAttempts: 5 });
    await w.start();
    workers.push(w);
  }
  return { nodes, submitter, runs };
}

/**
 * Submits `count` tasks at `perSecond`, calling `fault` once `faultAt` are submitted, following every fifth; then
 * waits for every accepted task to end and checks the invariants.
 */
async function load(
  env: Awaited<ReturnType<typeof setUp>>,
  opts: { count: number; perSecond: number; faultAt: number; fault: () => Promise<void> },
): Promise<{ accepted: TaskRecord[]; refused: BusError[]; twice: number }> {
  const { submitter, runs } = env;
  const accepted: TaskRecord[] = [];
  const refused: BusError[] = [];
  const raw: string[] = [];
  const followers: Array<Promise<{ id: string; final: boolean; error?: string }>> = [];
  let fault: Promise<void> | undefined;
  const submits: Array<Promise<void>> = [];
  for (let i = 0; i < opts.count; i++) {
    if (i === opts.faultAt) fault = opts.fault();
    submits.push(
      submitter.tasks.submit(TARGET, { i }).then(
        (t) => {
          accepted.push(t);
          if (i % 5 === 0) followers.push(follow(submitter, t.id));
        },
        (err: unknown) => {
          if (err instanceof BusError) refused.push(err);
          else raw.push(`${(err as Error)?.name}: ${(err as Error)?.message}`);
        },
      ),
    );
    await sleep(1000 / opts.perSecond);
  }
  await Promise.all(submits);
  await fault;
  assert.deepEqual(raw, [], 'submits that threw a raw NATS error, not a BusError');
  for (const err of refused) {
    assert.equal(err.code, ErrorCodes.TRANSPORT_FAILURE, err.message);
    assert.equal(err.retryable, true, err.message);
  }
  // Every accepted task ends, completed (none failed by the infrastructure), within a bound.
  const deadline = Date.now() + 60_000;
  const ended = new Map<string, TaskRecord>();
  while (ended.size < accepted.length && Date.now() < deadline) {
    for (const t of accepted) {
      if (ended.has(t.id)) continue;
      const r = await submitter.tasks.get(t.id).catch(() => undefined);
      if (r && ['completed', 'failed', 'canceled', 'rejected'].includes(r.state)) ended.set(t.id, r);
    }
    if (ended.size < accepted.length) await sleep(250);
  }
  const notEnded = accepted.filter((t) => !ended.has(t.id));
  const states = notEnded.map((t) => `${t.id}`);
  assert.equal(notEnded.length, 0, `ghosts/lost: ${notEnded.length} accepted tasks never ended: ${states.slice(0, 5).join(', ')}`);
  const failed = [...ended.values()].filter((r) => r.state !== 'completed');
  assert.equal(
    failed.length,
    0,
    `tasks ended otherwise than completed: ${failed.map((r) => `${r.state} ${r.error?.message}`).join(' | ')}`,
  );
  for (const t of accepted) assert.ok((runs.get(t.id) ?? 0) >= 1, `task ${t.id} completed without a run`);
  // Followers all end: on the terminal frame, or with an error they can resume from.
  const results = await Promise.race([
    Promise.all(followers),
    sleep(30_000).then(() => {
      throw new Error('a follower hung');
    }),
  ]);
  const unended = results.filter((r) => !r.final);
  assert.equal(unended.length, 0, `followers that ended without the terminal frame: ${JSON.stringify(unended.slice(0, 3))}`);
  const twice = accepted.filter((t) => (runs.get(t.id) ?? 0) > 1).length;
  return { accepted, refused, twice };
}

/** Follows a task to its end; an error (retryable) is resumed from the last seq seen, as an SSE client would. */
async function follow(p: Participant, id: string): Promise<{ id: string; final: boolean; error?: string }> {
  let afterSeq = -1;
  let error: string | undefined;
  for (let attempt = 0; attempt < 20; attempt++) {
    try {
      for await (const f of p.tasks.follow(id, { afterSeq })) {
        afterSeq = f.seq ?? afterSeq;
        if (f.is_final) return { id, final: true };
      }
      return { id, final: false, error: 'ended without the terminal frame' };
    } catch (err) {
      error = (err as Error).message;
      await sleep(250);
    }
  }
  return { id, final: false, error };
}

describe('tasks on a 3-node JetStream cluster', { timeout: 240_000 }, () => {
  const cleanup: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
  });

  it('streams and bucket are R3 by default on a cluster; an R1 store found at start-up is raised to R3, bucket included', async () => {
    const nodes = await startCluster(3, { jetstream: true });
    cleanup.push(() => Promise.all(nodes.map((n) => n.stop())).then(() => undefined));
    const bus = new BusClient(new NatsTransport({ servers: nodes[0].url, logger: quietLogger }), { agentId: 'r', logger: quietLogger });
    await bus.connect();
    cleanup.push(() => bus.close());
    const jsm = await jetstreamManager((bus.transport as NatsTransport).connection!);
    const replicas = async (names: string[]) => Promise.all(names.map(async (n) => (await jsm.streams.info(n)).config.num_replicas));

    const r1 = await createTaskStore(bus, {
      store: 'jetstream',
      jetstream: { replicas: 1, bucket: 'old', framesStream: 'OLD_F', queueStream: 'OLD_Q', subjectPrefix: 'old' },
    });
    await r1.close();
    assert.deepEqual(await replicas(['OLD_F', 'OLD_Q', 'KV_old']), [1, 1, 1]);
    // Started again without `replicas`: the store logs through its bus's logger what it raised.
    const logger = new RecordingLogger();
    const bus2 = new BusClient(new NatsTransport({ servers: nodes[1].url, logger: quietLogger }), { agentId: 'r2', logger });
    cleanup.push(() => bus2.close());
    const raised = await createTaskStore(bus2, {
      store: 'jetstream',
      jetstream: { bucket: 'old', framesStream: 'OLD_F', queueStream: 'OLD_Q', subjectPrefix: 'old' },
    });
    await raised.close();
    assert.deepEqual(await replicas(['OLD_F', 'OLD_Q', 'KV_old']), [3, 3, 3]);
    assert.ok(
      logger.lines.some((l) => /KV_old raised from 1 to 3/.test(l)),
      logger.lines.join('\n'),
    );

    const fresh = await createTaskStore(bus, { store: 'jetstream' });
    await fresh.close();
    assert.deepEqual(await replicas(['ACP_TASK_FRAMES', 'ACP_TASK_QUEUE', 'KV_acp_tasks']), [3, 3, 3]);
  });

  it('the leader of the bucket killed mid-load (back after 4 s), then the leader of the frames stream, then of the queue: no ghost, none lost or failed, followers end', async () => {
    const env = await setUp(cleanup);
    const killed: string[] = [];
    const { twice, refused, accepted } = await load(env, {
      count: 240,
      perSecond: 40,
      faultAt: 30,
      fault: async () => {
        for (const stream of ['KV_acp_tasks', 'ACP_TASK_FRAMES', 'ACP_TASK_QUEUE']) {
          const victim = await leaderOf(env.submitter, stream, env.nodes);
          killed.push(`${stream}@${victim.name}`);
          await victim.kill();
          await sleep(4000);
          await victim.startAgain();
          await waitForMetaLeader(env.nodes);
        }
      },
    });
    console.log(
      `# leader kills (${killed.join(', ')}): ${accepted.length} accepted, ${refused.length} refused (retryable), ${twice} ran twice`,
    );
  });

  it('a node frozen 8 s (SIGSTOP) mid-load, the submitter connected to it: no ghost, none lost or failed, followers end', async () => {
    const env = await setUp(cleanup);
    const { twice, refused, accepted } = await load(env, {
      count: 160,
      perSecond: 40,
      faultAt: 40,
      fault: async () => {
        env.nodes[2].freeze();
        await sleep(8000);
        env.nodes[2].thaw();
      },
    });
    console.log(`# freeze: ${accepted.length} accepted, ${refused.length} refused (retryable), ${twice} ran twice`);
  });

  it('a node that loses its disk (killed, store removed, restarted) mid-load: nothing lost, every record still there', async () => {
    const env = await setUp(cleanup);
    const victim = await leaderOf(env.submitter, 'ACP_TASK_FRAMES', env.nodes);
    const { twice, refused, accepted } = await load(env, {
      count: 120,
      perSecond: 40,
      faultAt: 30,
      fault: async () => {
        await victim.loseDisk();
        await sleep(2000);
        await victim.startAgain();
        // A node with an empty store rejoins the meta group more slowly than a restarted one (once over 20 s here).
        await waitForMetaLeader(env.nodes, 60_000);
      },
    });
    for (const t of accepted) assert.ok(await env.submitter.tasks.get(t.id), `record ${t.id} lost`);
    console.log(`# disk loss: ${accepted.length} accepted, ${refused.length} refused (retryable), ${twice} ran twice`);
  });
});
