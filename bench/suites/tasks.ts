import { connect, type NatsConnection } from '@nats-io/transport-node';
import { BusClient, NatsTransport, TaskClient, type TaskStore } from '@openagentio/nestjs';
import { createTaskStore } from '@openagentio/nestjs/internal/tasks/task-store.factory.js';
import { TaskEngine } from '@openagentio/nestjs/internal/tasks/task-engine.js';
import { TaskWorker } from '@openagentio/nestjs/internal/tasks/task-worker.js';
import type { BenchConfig } from '../config.js';
import { closedLoop, countInFlight, nowUs, summarize } from '../lib/measure.js';
import { startNatsCluster, startNatsServer } from '../lib/nats-server.js';
import type { Metrics } from '../lib/results.js';
import { rawJetStreamTasks } from './tasks-raw.js';

const quiet = { log() {}, warn() {}, error() {}, debug() {} };
const WORKERS = 4;

/** Counts and caps of the tasks suite. */
export function tasksCounts(cfg: BenchConfig): { tasks: number; latencySamples: number; invokeMs: number } {
  return cfg.quick ? { tasks: 300, latencySamples: 40, invokeMs: 1000 } : { tasks: 2000, latencySamples: 200, invokeMs: 3000 };
}

/**
 * Async tasks on JetStream (one nats-server with a store of its own), beside a plain invoke in the same run:
 * tasks submitted → completed per second with 4 worker processes' worth of connections (each its own bus and
 * store), 64 submissions in flight; the latency from `submit` to the first `working` frame; and the same workers'
 * plain invoke. Metrics: tasks.ops, tasks.firstStatus.p50/p90, invoke.ops, invoke.p50. Then the same tasks on a
 * 3-node JetStream cluster (loopback), streams and bucket R3, the client and the workers spread over the nodes:
 * tasks.r3.ops, tasks.r3.firstStatus.p50/p90.
 */
export async function tasksSuite(cfg: BenchConfig, metrics: Metrics, log: (s: string) => void): Promise<void> {
  const counts = tasksCounts(cfg);
  const server = await startNatsServer({ jetstream: true });
  const people = participants(() => server.url);
  const frames = await connect({ servers: server.url });
  try {
    const { client, workers } = await measureTasks(people.make, frames, counts, metrics, log, { prefix: 'tasks', label: '' });
    await Promise.all(workers.map((w) => w.bus.handleInvoke('bench.invoke', (p: unknown) => p).ready));

    // The same workers, plain invoke.
    const seq: number[] = [];
    for (let i = 0; i < counts.latencySamples; i++) {
      const s = nowUs();
      await client.bus.invoke('bench.invoke', { i });
      seq.push(nowUs() - s);
    }
    metrics.put('tasks', 'invoke.p50', summarize(seq).p50);
    const r = await closedLoop(() => client.bus.invoke('bench.invoke', { i: 1 }), {
      concurrency: 64,
      durationMs: counts.invokeMs,
      warmupMs: 300,
    });
    metrics.put('tasks', 'invoke.ops', r.opsPerSec);
    log(`  plain invoke, same workers: p50 ${Math.round(summarize(seq).p50)} µs, ${Math.round(r.opsPerSec)} ops/s at 64 in flight`);
    for (const w of workers) await w.worker.stop();

    // The durable peer: raw JetStream doing the minimum per task, same server, same workers and runs at once.
    const raw = await rawJetStreamTasks(server.url, counts, WORKERS, 16);
    metrics.put('tasks', 'raw.ops', raw.ops);
    metrics.put('tasks', 'raw.firstStatus.p50', raw.firstStatus.p50);
    log(`  raw JetStream tasks: ${Math.round(raw.ops)} tasks/s, submit → working p50 ${Math.round(raw.firstStatus.p50)} µs`);
  } finally {
    await frames.close();
    await people.closeAll();
    await server.stop();
  }
  await tasksOnCluster(counts, metrics, log);
}

/** Task throughput and first-status latency on a 3-node cluster, R3 (the default there). */
async function tasksOnCluster(counts: ReturnType<typeof tasksCounts>, metrics: Metrics, log: (s: string) => void): Promise<void> {
  const nodes = await startNatsCluster(3);
  const people = participants((node) => nodes[node % nodes.length].url);
  const frames = await connect({ servers: nodes[0].url });
  try {
    const { workers } = await measureTasks(people.make, frames, counts, metrics, log, { prefix: 'tasks.r3', label: 'R3 cluster: ' });
    for (const w of workers) await w.worker.stop();
  } finally {
    await frames.close();
    await people.closeAll();
    await Promise.all(nodes.map((n) => n.stop()));
  }
}

interface Participant {
  bus: BusClient;
  store: TaskStore;
  engine: TaskEngine;
}

/**
 * The measurement both set-ups share: a client and WORKERS workers (participants 0, 1…), the completed and first
 * working frames counted from a core subscription (not by polling), submit → first working frame one at a time, then
 * submitted → completed with 64 submissions in flight. Metrics `<prefix>.firstStatus.p50/p90` and `<prefix>.ops`.
 */
async function measureTasks(
  participant: (agentId: string, index: number) => Promise<Participant>,
  frames: NatsConnection,
  counts: ReturnType<typeof tasksCounts>,
  metrics: Metrics,
  log: (s: string) => void,
  { prefix, label }: { prefix: string; label: string },
): Promise<{ client: Participant; workers: Array<Participant & { worker: TaskWorker }> }> {
  const client = await participant('bench-client', 0);
  const tasks = new TaskClient(client.engine);
  const workers: Array<Participant & { worker: TaskWorker }> = [];
  for (let i = 0; i < WORKERS; i++) {
    const w = await participant(`bench-worker-${i}`, i + 1);
    const worker = new TaskWorker(w.engine, w.bus, 'bench.task', (input) => input, { concurrency: 16 });
    await worker.start();
    workers.push({ ...w, worker });
  }
  const firstWorking = new Map<string, number>();
  let completed = 0;
  let allDone: (() => void) | undefined;
  frames.subscribe('acp.tasks.frames.*', {
    callback: (_e, m) => {
      const env = m.json<{ event_type: string; correlation_id: string; payload?: { state?: string } }>();
      if (env.event_type === 'agent.task.completed') {
        if (++completed >= counts.tasks) allDone?.();
      } else if (env.event_type === 'agent.task.status' && env.payload?.state === 'working' && !firstWorking.has(env.correlation_id)) {
        firstWorking.set(env.correlation_id, nowUs());
      }
    },
  });
  await frames.flush();

  // Latency, one at a time: submit → the first working frame.
  const lat: number[] = [];
  for (let i = 0; i < counts.latencySamples; i++) {
    const t0 = nowUs();
    const task = await tasks.submit('bench.task', { i });
    while (!firstWorking.has(task.id)) await new Promise((r) => setImmediate(r));
    lat.push(firstWorking.get(task.id)! - t0);
    await tasks.wait(task.id);
  }
  const l = summarize(lat);
  metrics.put('tasks', `${prefix}.firstStatus.p50`, l.p50);
  metrics.put('tasks', `${prefix}.firstStatus.p90`, l.p90);
  log(`  ${label}tasks submit → first status: p50 ${Math.round(l.p50)} µs, p90 ${Math.round(l.p90)} µs`);

  // Throughput: 64 submissions in flight, until every task's completed frame has been seen.
  completed = 0;
  const done = new Promise<void>((r) => (allDone = r));
  const t0 = nowUs();
  await countInFlight(counts.tasks, 64, (n) => tasks.submit('bench.task', { n }));
  await done;
  const seconds = (nowUs() - t0) / 1e6;
  metrics.put('tasks', `${prefix}.ops`, counts.tasks / seconds);
  log(`  ${label}tasks submitted → completed: ${Math.round(counts.tasks / seconds)} tasks/s (${counts.tasks} tasks, ${WORKERS} workers)`);
  return { client, workers };
}

/** Participants (each its own bus and JetStream store) on the server `urlOf(index)` names; closeAll() ends them. */
function participants(urlOf: (index: number) => string): {
  make: (agentId: string, index: number) => Promise<Participant>;
  closeAll: () => Promise<void>;
} {
  const made: Participant[] = [];
  return {
    async make(agentId, index) {
      const bus = new BusClient(new NatsTransport({ servers: urlOf(index) }), { agentId, logger: quiet, discovery: false });
      await bus.connect();
      const store = await createTaskStore(bus, { store: 'jetstream' });
      const p = { bus, store, engine: new TaskEngine(store, bus) };
      made.push(p);
      return p;
    },
    async closeAll() {
      for (const m of made) {
        await m.store.close().catch(() => undefined);
        await m.bus.close().catch(() => undefined);
      }
    },
  };
}
