import { connect } from '@nats-io/transport-node';
import { BusClient, NatsTransport, TaskClient } from '@openagentio/nestjs';
import { createTaskStore } from '@openagentio/nestjs/internal/tasks/task-store.factory.js';
import { TaskEngine } from '@openagentio/nestjs/internal/tasks/task-engine.js';
import { TaskWorker } from '@openagentio/nestjs/internal/tasks/task-worker.js';
import { startNatsServer } from '../lib/nats-server.js';
import { rawJetStreamTasks } from '../suites/tasks-raw.js';

const quiet = { log() {}, warn() {}, error() {}, debug() {} };

/**
 * Lists every message one task puts on the wire from submit to completed (a spy connection subscribed to `>`):
 * JetStream API requests, KV and stream publishes, acks and frames, in order, with the submit and worker phases
 * marked. The evidence behind "writes per task" in BENCHMARKS.md. Run: node dist/bench/probes/task-ops.js
 */
async function main(): Promise<void> {
  const server = await startNatsServer({ jetstream: true });
  const spy = await connect({ servers: server.url });
  const seen: string[] = [];
  let on = false;
  let completed: (() => void) | undefined;
  spy.subscribe('>', {
    callback: (_e, m) => {
      if (!on || m.subject.startsWith('_INBOX')) return;
      seen.push(m.subject);
      if (m.subject.startsWith('acp.tasks.frames.') && m.string().includes('"agent.task.completed"')) completed?.();
    },
  });
  await spy.flush();
  const mk = async (id: string) => {
    const bus = new BusClient(new NatsTransport({ servers: server.url }), { agentId: id, logger: quiet, discovery: false });
    await bus.connect();
    const store = await createTaskStore(bus, { store: 'jetstream' });
    return { bus, store, engine: new TaskEngine(store, bus) };
  };
  const c = await mk('ops-client');
  const w = await mk('ops-worker');
  const worker = new TaskWorker(w.engine, w.bus, 'ops.task', (x) => x, { concurrency: 4 });
  await worker.start();
  const tasks = new TaskClient(c.engine);
  await tasks.wait((await tasks.submit('ops.task', { warm: 1 })).id);
  for (let i = 0; i < 3; i++) {
    await spy.flush();
    await new Promise((r) => setTimeout(r, 200));
    seen.length = 0;
    on = true;
    const done = new Promise<void>((r) => (completed = r));
    await tasks.submit('ops.task', { i });
    seen.push('--- submit returned');
    await done;
    await new Promise((r) => setTimeout(r, 300));
    on = false;
  }
  console.log(seen.map(shorten).join('\n'));
  // Under load: 300 tasks, 64 submissions in flight, messages per task by kind (pull requests are shared).
  const burst = 300;
  let ended = 0;
  const allEnded = new Promise<void>((r) => (completed = () => ++ended >= burst && r()));
  seen.length = 0;
  on = true;
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < burst) {
        next++;
        await tasks.submit('ops.task', { next });
      }
    }),
  );
  await allEnded;
  await new Promise((r) => setTimeout(r, 300));
  on = false;
  const kinds = new Map<string, number>();
  for (const s of seen) kinds.set(shorten(s), (kinds.get(shorten(s)) ?? 0) + 1);
  console.log(`--- per task, ${burst} tasks at 64 in flight:`);
  for (const [k, n] of kinds) console.log(`${(n / burst).toFixed(2).padStart(6)}  ${k}`);
  // The raw JetStream peer of the tasks suite on the same server, counted the same way.
  seen.length = 0;
  on = true;
  await rawJetStreamTasks(server.url, { tasks: burst, latencySamples: 1 }, 4, 16);
  await new Promise((r) => setTimeout(r, 300));
  on = false;
  kinds.clear();
  for (const s of seen) kinds.set(shorten(s), (kinds.get(shorten(s)) ?? 0) + 1);
  console.log(`--- raw JetStream peer, per task (${burst + 1} tasks, ${burst} at 64 in flight):`);
  for (const [k, n] of kinds) console.log(`${(n / (burst + 1)).toFixed(2).padStart(6)}  ${k}`);
  await worker.stop();
  for (const p of [c, w]) {
    await p.store.close();
    await p.bus.close();
  }
  await spy.close();
  await server.stop();
}

/** A subject with its task id (and an ack's delivery numbers) taken out, so subjects of one kind read alike. */
function shorten(subject: string): string {
  return subject
    .replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, '<id>')
    .replace(/\.pending\.[0-9a-f]{32}\.\d+$/, '.pending.<store>.<slot>')
    .replace(/^(\$JS\.ACK\.[^.]+\.[^.]+)\..*$/, '$1.<delivery>');
}

void main().then(() => process.exit(0));
