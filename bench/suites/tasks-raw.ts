import { randomUUID } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType, type JsMsg } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { countInFlight, nowUs, summarize } from '../lib/measure.js';

const STREAM = 'BENCH_RAW_TASKQ';
const QUEUE = 'benchraw.taskq';
const STATUS = 'benchraw.status';
const BUCKET = 'bench_raw_tasks';

/**
 * The durable peer of the tasks suite: raw JetStream doing the minimum a durable task needs, on the same server
 * and with the same shape as ours (one client, `workers` worker connections with `perWorker` runs at once each):
 * the client creates the task's KV record and queues a work-queue message; a worker's pull consumer takes it,
 * stores the `working` status in the record and says so on a core subject, stores the result and says
 * `completed`, then acks. Four JetStream writes and two core messages per task. Returns the submit → `working`
 * latency (one task at a time) and tasks submitted → completed per second at 64 submissions in flight.
 */
export async function rawJetStreamTasks(
  url: string,
  counts: { tasks: number; latencySamples: number },
  workers: number,
  perWorker: number,
): Promise<{ ops: number; firstStatus: { p50: number; p90: number } }> {
  const conns: NatsConnection[] = [];
  const open = async (name: string) => {
    const nc = await connect({ servers: url, name });
    conns.push(nc);
    return nc;
  };
  try {
    const client = await open('bench-raw-task-client');
    const jsm = await jetstreamManager(client);
    await jsm.streams.add({ name: STREAM, subjects: [QUEUE], retention: RetentionPolicy.Workqueue, storage: StorageType.File });
    await jsm.consumers.add(STREAM, { durable_name: 'workers', ack_policy: AckPolicy.Explicit, max_ack_pending: 10_000 });
    const js = jetstream(client);
    const kv = await new Kvm(js).create(BUCKET);

    const stoppers: Array<() => void> = [];
    for (let w = 0; w < workers; w++) {
      const nc = await open(`bench-raw-task-worker-${w}`);
      const wjs = jetstream(nc);
      const wkv = await new Kvm(wjs).open(BUCKET);
      const consumer = await wjs.consumers.get(STREAM, 'workers');
      const messages = await consumer.consume({ max_messages: perWorker });
      stoppers.push(() => void messages.stop());
      let active = 0;
      let freed: (() => void) | undefined;
      const run = async (m: JsMsg) => {
        const id = m.string();
        const entry = await wkv.get(id);
        const record = JSON.parse(entry!.string()) as Record<string, unknown>;
        await wkv.put(id, JSON.stringify({ ...record, state: 'working' }));
        nc.publish(`${STATUS}.${id}`, 'working');
        await wkv.put(id, JSON.stringify({ ...record, state: 'completed', result: record.input }));
        nc.publish(`${STATUS}.${id}`, 'completed');
        m.ack();
      };
      void (async () => {
        for await (const m of messages) {
          while (active >= perWorker) await new Promise<void>((r) => (freed = r));
          active++;
          void run(m).finally(() => {
            active--;
            const f = freed;
            freed = undefined;
            f?.();
          });
        }
      })();
    }

    const working = new Map<string, number>();
    let completed = 0;
    let allDone: (() => void) | undefined;
    let target = Infinity;
    client.subscribe(`${STATUS}.*`, {
      callback: (_e, m) => {
        const state = m.string();
        if (state === 'completed') {
          if (++completed >= target) allDone?.();
        } else if (state === 'working') {
          const id = m.subject.slice(STATUS.length + 1);
          if (!working.has(id)) working.set(id, nowUs());
        }
      },
    });
    await client.flush();
    const submit = async (input: unknown): Promise<string> => {
      const id = randomUUID();
      await kv.create(id, JSON.stringify({ id, state: 'submitted', input }));
      await js.publish(QUEUE, id);
      return id;
    };

    const lat: number[] = [];
    for (let i = 0; i < counts.latencySamples; i++) {
      const before = completed;
      const t0 = nowUs();
      const id = await submit({ i });
      while (!working.has(id)) await new Promise((r) => setImmediate(r));
      lat.push(working.get(id)! - t0);
      while (completed === before) await new Promise((r) => setImmediate(r));
    }

    completed = 0;
    target = counts.tasks;
    const done = new Promise<void>((r) => (allDone = r));
    const t0 = nowUs();
    await countInFlight(counts.tasks, 64, (n) => submit({ n }));
    await done;
    const seconds = (nowUs() - t0) / 1e6;
    for (const s of stoppers) s();
    const l = summarize(lat);
    return { ops: counts.tasks / seconds, firstStatus: { p50: l.p50, p90: l.p90 } };
  } finally {
    for (const nc of conns) await nc.close().catch(() => undefined);
  }
}
