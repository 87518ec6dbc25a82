/**
 * Cost of one `TaskClient.list` page on JetStream at 30,000 tasks (issue 23): `node dist/bench/task-list.js [n]`.
 * 29,900 tasks of tenant `bulk`, 100 of tenant `small` (records of about 1 KB, stored directly); then the median
 * of 21 pages (limit 20) for each tenant and for every tenant, and of 3 full reads of every record (what each page
 * cost before the per-tenant index).
 */
import { BusClient, JetStreamTaskStore, NatsTransport, TaskClient, TaskEngine, type TaskRecord } from '@openagentio/nestjs';
import { startNatsServer } from './lib/nats-server.js';

const quiet = { log() {}, warn() {}, error() {}, debug() {} };
const total = Number(process.argv[2] ?? 30_000);
const server = await startNatsServer({ jetstream: true });
const bus = new BusClient(new NatsTransport({ servers: server.url }), { agentId: 'bench-list', logger: quiet, discovery: false });
await bus.connect();
const store = new JetStreamTaskStore((bus.transport as NatsTransport).connection!);
await store.init();
const tasks = new TaskClient(new TaskEngine(store, bus));
const input = 'x'.repeat(900);
const now = Date.now();
let made = 0;
while (made < total) {
  await Promise.all(
    Array.from({ length: Math.min(500, total - made) }, () => {
      const i = made++;
      const at = new Date(now + i).toISOString();
      const record: TaskRecord = {
        id: `0${String(i).padStart(7, '0')}`,
        target: 'bench.job',
        state: 'completed',
        tenant_id: i % 300 === 0 ? 'small' : 'bulk',
        input,
        history: [],
        artifacts: [],
        attempts: 1,
        seq: 2,
        created_at: at,
        updated_at: at,
      };
      return store.create(record);
    }),
  );
}
const median = async (runs: number, fn: () => Promise<unknown>): Promise<number> => {
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  return ms[Math.floor(ms.length / 2)];
};
const rows: Array<[string, number]> = [
  ['page of tenant small (100 tasks)', await median(21, () => tasks.list({ tenant_id: 'small' }))],
  ['page of tenant bulk (29,900 tasks)', await median(21, () => tasks.list({ tenant_id: 'bulk' }))],
  ['page of every tenant', await median(21, () => tasks.list({}))],
  [
    'every record read (each page before)',
    await median(3, async () => {
      const ids = Array.from({ length: total }, (_, i) => `0${String(i).padStart(7, '0')}`);
      for (let i = 0; i < ids.length; i += 500) await Promise.all(ids.slice(i, i + 500).map((id) => store.get(id)));
    }),
  ],
];
for (const [what, ms] of rows) console.log(`${what}: ${ms.toFixed(1)} ms`);
await store.close();
await bus.close();
await server.stop();
