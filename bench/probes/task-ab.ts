/**
 * A/B of two builds' tasks on JetStream in ONE process, interleaved round by round (host noise hits both alike),
 * with raw JetStream doing the minimum in the same rounds:
 *   node dist/bench/probes/task-ab.js <rootA> <rootB> [rounds] [tasks]
 * rootA/rootB are repository roots holding a built tree (libs/bus/dist). Each side has its own nats-server; per
 * round and side: tasks/s at 64 submissions in flight (4 workers × 16), submit → first `working` frame p50 (one at
 * a time), and CPU per task of this process and of the side's nats-server. Medians over the rounds.
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { median, nowUs, summarize } from '../lib/measure.js';
import { startNatsServer, type BenchNatsServer } from '../lib/nats-server.js';
import { rawJetStreamTasks } from '../suites/tasks-raw.js';

const quiet = { log() {}, warn() {}, error() {}, debug() {} };
const WORKERS = 4;
const LATENCY_SAMPLES = 40;

interface Side {
  name: string;
  server: BenchNatsServer;
  submit: (input: unknown) => Promise<{ id: string }>;
  wait: (id: string) => Promise<unknown>;
  firstWorking: Map<string, number>;
  onWorking?: (id: string) => void;
  completed: { n: number; done?: () => void };
  frames: NatsConnection;
}

function serverCpuUs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1e6) / 100;
}

async function side(root: string, name: string): Promise<Side> {
  const lib = (p: string) => import(pathToFileURL(`${root}/libs/bus/dist/${p}`).href);
  const { BusClient, NatsTransport, TaskClient } = await lib('index.js');
  const { createTaskStore } = await lib('tasks/task-store.factory.js');
  const { TaskEngine } = await lib('tasks/task-engine.js');
  const { TaskWorker } = await lib('tasks/task-worker.js');
  const server = await startNatsServer({ jetstream: true });
  const make = async (agentId: string) => {
    const bus = new BusClient(new NatsTransport({ servers: server.url }), { agentId, logger: quiet, discovery: false });
    await bus.connect();
    const store = await createTaskStore(bus, { store: 'jetstream' });
    return { bus, engine: new TaskEngine(store, bus) };
  };
  const tasks = new TaskClient((await make(`${name}-client`)).engine);
  for (let i = 0; i < WORKERS; i++) {
    const w = await make(`${name}-w${i}`);
    await new TaskWorker(w.engine, w.bus, 'ab.task', (x: unknown) => x, { concurrency: 16 }).start();
  }
  const frames = await connect({ servers: server.url });
  const s: Side = {
    name,
    server,
    frames,
    submit: (input) => tasks.submit('ab.task', input),
    wait: (id) => tasks.wait(id),
    firstWorking: new Map(),
    completed: { n: 0 },
  };
  frames.subscribe('acp.tasks.frames.*', {
    callback: (_e, m) => {
      const env = m.json<{ event_type: string; correlation_id: string; payload?: { state?: string } }>();
      if (env.event_type === 'agent.task.completed') {
        s.completed.n++;
        s.completed.done?.();
      } else if (env.event_type === 'agent.task.status' && env.payload?.state === 'working' && !s.firstWorking.has(env.correlation_id)) {
        s.firstWorking.set(env.correlation_id, nowUs());
        s.onWorking?.(env.correlation_id);
      }
    },
  });
  await frames.flush();
  return s;
}

async function measure(s: Side, tasks: number): Promise<{ ops: number; fs: number; cpu: number; srv: number }> {
  const lat: number[] = [];
  for (let i = 0; i < LATENCY_SAMPLES; i++) {
    const t0 = nowUs();
    const t = await s.submit({ i });
    // AB_SPIN=1: poll with setImmediate as bench/suites/tasks.ts does (a busy loop that competes with the server
    // for the CPU while it waits); else wait for the frame's arrival itself.
    if (process.env.AB_SPIN === '1') while (!s.firstWorking.has(t.id)) await new Promise((r) => setImmediate(r));
    else if (!s.firstWorking.has(t.id)) await new Promise<void>((r) => (s.onWorking = (id) => id === t.id && r()));
    lat.push(s.firstWorking.get(t.id)! - t0);
    await s.wait(t.id);
  }
  s.completed.n = 0;
  const all = new Promise<void>((r) => (s.completed.done = () => s.completed.n >= tasks && r()));
  const cpu0 = process.cpuUsage();
  const srv0 = serverCpuUs(s.server.pid);
  const t0 = nowUs();
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      while (next < tasks) {
        next++;
        await s.submit({ n: next });
      }
    }),
  );
  await all;
  const seconds = (nowUs() - t0) / 1e6;
  const c = process.cpuUsage(cpu0);
  return {
    ops: tasks / seconds,
    fs: summarize(lat).p50,
    cpu: (c.user + c.system) / tasks,
    srv: (serverCpuUs(s.server.pid) - srv0) / tasks,
  };
}

async function main(): Promise<void> {
  const [rootA, rootB, roundsArg = '5', tasksArg = '600'] = process.argv.slice(2);
  if (!rootA || !rootB) throw new Error('usage: task-ab.js <rootA> <rootB> [rounds] [tasks]');
  const rounds = Number(roundsArg);
  const tasks = Number(tasksArg);
  const sides = [await side(rootA, 'A'), await side(rootB, 'B')];
  const rawServer = await startNatsServer({ jetstream: true });
  const res: Record<string, number[]> = {};
  const put = (k: string, v: number) => (res[k] ??= []).push(v);
  for (let r = 0; r < rounds; r++) {
    const raw = await rawJetStreamTasks(rawServer.url, { tasks, latencySamples: LATENCY_SAMPLES }, WORKERS, 16);
    for (const i of r % 2 ? [1, 0] : [0, 1]) {
      const m = await measure(sides[i], tasks);
      const n = sides[i].name;
      put(`${n}.ops`, m.ops);
      put(`${n}.ratio`, m.ops / raw.ops);
      put(`${n}.fs`, m.fs);
      put(`${n}.fsVsRaw`, m.fs / raw.firstStatus.p50);
      put(`${n}.nodeCpuUsPerTask`, m.cpu);
      put(`${n}.serverCpuUsPerTask`, m.srv);
    }
    put('raw.ops', raw.ops);
    put('raw.fs', raw.firstStatus.p50);
  }
  for (const [k, v] of Object.entries(res)) {
    const f = (x: number) => (x < 20 ? x.toFixed(2) : String(Math.round(x)));
    console.log(`${k.padEnd(22)} median ${f(median(v)).padStart(7)}   ${v.map(f).join(' ')}`);
  }
  process.exit(0);
}

void main();
