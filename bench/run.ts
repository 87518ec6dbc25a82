/**
 * Benchmark suite (issue 7). `npm run bench` (full, a few minutes) or `npm run bench -- --quick` (under a minute).
 *
 *   node dist/bench/run.js [--quick] [--only=invoke,authz,split,stream,pubsub,memory,payload,scale,matrix,tasks,durable,python,go,startup,sse] [--runs=N] [--json=path]
 *
 * Every stack runs in this one process against nats-servers the bench starts itself on free ports (never the
 * system server on 4222); figures are medians of `runs` runs, stack order rotating between runs. Progress goes
 * to stderr, the result table (markdown) to stdout. The Matrix suite starts one Synapse (test/support/synapse.ts) and
 * is skipped, with a line saying why, when Synapse cannot start. The Python suite (bench/suites/python-peer.ts) runs the
 * upstream Python SDK as a peer and is skipped the same way when its venv cannot be installed; the Go suite
 * (bench/suites/go-peer.ts) runs the upstream Go runtime as a peer, skipped with a line when Go or its build is missing.
 * The start-up suite (bench/suites/startup.ts) and the gateway SSE fan-out (bench/suites/sse.ts) run once, after the
 * runs, in processes of their own.
 */
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { configFor } from './config.js';
import { startNatsServer, type BenchNatsServer } from './lib/nats-server.js';
import { buildRows, Metrics, renderTable, type RowDef } from './lib/results.js';
import { BusPair, ECHO, memoryTransports, natsTransports, type TransportFactory } from './stacks/bus.js';
import { busNestStack } from './stacks/bus-nest.js';
import { nestNatsStack, type NestNatsStack } from './stacks/nest-nats.js';
import { rawNatsInvokeStack, rawNatsPubSubStack } from './stacks/raw-nats.js';
import type { InvokeStack, PubSubStack } from './stacks/types.js';
import { authzStacks } from './suites/authz.js';
import { invokeSuite, payloadSuite } from './suites/invoke.js';
import { MatrixBench, matrixCounts } from './suites/matrix.js';
import { PythonPeerBench } from './suites/python-peer.js';
import { GoPeerBench } from './suites/go-peer.js';
import type { UpstreamPeerBench } from './suites/upstream-peer.js';
import { tasksSuite } from './suites/tasks.js';
import { durableSuite } from './suites/durable.js';
import { directStack, memorySuite } from './suites/memory.js';
import { pubsubSuite } from './suites/pubsub.js';
import { scaleSuite } from './suites/scale.js';
import { streamSuite } from './suites/stream.js';
import { splitSuite } from './suites/split.js';
import { startupSuite } from './suites/startup.js';
import { sseSuite } from './suites/sse.js';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const arg = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const cfg = configFor(quick);
if (arg('runs')) cfg.runs = Math.max(1, Number(arg('runs')));
const only = new Set(
  (arg('only') ?? 'invoke,authz,split,stream,pubsub,memory,payload,scale,matrix,tasks,durable,python,go,startup,sse').split(','),
);
const jsonPath = arg('json') ?? 'dist/bench-results.json';
const log = (s: string) => process.stderr.write(`${s}\n`);

/** `go version`, for the Go peer's note. */
function goVersion(): string {
  try {
    return execFileSync('go', ['version'], { encoding: 'utf8' }).trim();
  } catch {
    return 'go version unknown';
  }
}

export function machineInfo(): Record<string, string> {
  const safe = (f: () => string) => {
    try {
      return f().trim();
    } catch {
      return 'unknown';
    }
  };
  return {
    nproc: String(cpus().length),
    cpu: safe(() => /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown'),
    node: process.version,
    natsServer: safe(() => execFileSync(process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server', ['--version'], { encoding: 'utf8' })),
    natsClient: safe(() => JSON.parse(readFileSync('node_modules/@nats-io/transport-node/package.json', 'utf8')).version),
    nestMicroservices: safe(() => JSON.parse(readFileSync('node_modules/@nestjs/microservices/package.json', 'utf8')).version),
    loadavg: safe(() => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')),
  };
}

const ROWS: RowDef[] = [
  // Invoke over NATS, 100 B
  {
    figure: 'NATS invoke, sequential p50',
    unit: 'µs',
    ours: ['bus', 'seq.p50'],
    peer: ['raw', 'seq.p50'],
    peerLabel: 'raw request()',
    target: { on: 'ratio', op: '<=', value: 1.1 },
  },
  {
    figure: 'NATS invoke, sequential p50',
    unit: 'µs',
    ours: ['bus', 'seq.p50'],
    peer: ['nest', 'seq.p50'],
    peerLabel: 'Nest Transport.NATS',
  },
  { figure: 'NATS invoke, sequential p99', unit: 'µs', ours: ['bus', 'seq.p99'], peer: ['raw', 'seq.p99'], peerLabel: 'raw request()' },
  {
    figure: 'NATS invoke, 64 in flight',
    unit: 'ops/s',
    ours: ['bus', 'conc.ops'],
    peer: ['nest', 'conc.ops'],
    peerLabel: 'Nest Transport.NATS',
    target: { on: 'ratio', op: '>=', value: 2 },
  },
  {
    figure: 'NATS invoke, 64 in flight',
    unit: 'ops/s',
    ours: ['bus', 'conc.ops'],
    peer: ['raw', 'conc.ops'],
    peerLabel: 'raw request()',
    target: { on: 'ratio', op: '>=', value: 1.5 },
  },
  {
    figure: 'NATS invoke, 64 in flight (vs leanest raw)',
    unit: 'ops/s',
    ours: ['bus', 'conc.ops'],
    peer: ['raw-nt', 'conc.ops'],
    peerLabel: 'raw request() noAsyncTraces',
  },
  {
    figure: 'NATS invoke, sequential p50 (vs leanest raw)',
    unit: 'µs',
    ours: ['bus', 'seq.p50'],
    peer: ['raw-nt', 'seq.p50'],
    peerLabel: 'raw request() noAsyncTraces',
  },
  {
    figure: 'NATS invoke, 64 in flight, p99 latency',
    unit: 'µs',
    ours: ['bus', 'conc.p99'],
    peer: ['raw', 'conc.p99'],
    peerLabel: 'raw request()',
  },
  {
    figure: 'NATS invoke, CPU per call (both ends)',
    unit: 'µs CPU',
    ours: ['bus', 'conc.cpu'],
    peer: ['raw', 'conc.cpu'],
    peerLabel: 'raw request()',
    target: { on: 'ours', op: '<=', value: 20 },
  },
  {
    figure: 'NATS invoke → decorated Nest handler, seq p50',
    unit: 'µs',
    ours: ['bus+nest', 'seq.p50'],
    peer: ['raw', 'seq.p50'],
    peerLabel: 'raw request()',
    target: { on: 'ratio', op: '<=', value: 1.1 },
  },
  {
    figure: 'NATS invoke → decorated Nest handler, 64 in flight',
    unit: 'ops/s',
    ours: ['bus+nest', 'conc.ops'],
    peer: ['nest', 'conc.ops'],
    peerLabel: 'Nest Transport.NATS',
    target: { on: 'ratio', op: '>=', value: 1.5 },
  },
  {
    figure: 'NATS invoke → decorated Nest handler, 64 in flight',
    unit: 'ops/s',
    ours: ['bus+nest', 'conc.ops'],
    peer: ['raw', 'conc.ops'],
    peerLabel: 'raw request()',
    target: { on: 'ratio', op: '>=', value: 1.2 },
  },
  {
    figure: 'NATS invoke, CPU per call (both ends)',
    unit: 'µs CPU',
    ours: ['bus', 'conc.cpu'],
    peer: ['nest', 'conc.cpu'],
    peerLabel: 'Nest Transport.NATS',
  },
  {
    figure: 'NATS invoke → decorated Nest handler, CPU per call (both ends)',
    unit: 'µs CPU',
    ours: ['bus+nest', 'conc.cpu'],
    peer: ['nest', 'conc.cpu'],
    peerLabel: 'Nest Transport.NATS',
    target: { on: 'ours', op: '<=', value: 20 },
  },
  // The same calls with caller and responder in separate processes (bench/suites/split.ts): the CPU each process pays.
  {
    figure: 'NATS invoke, separate processes, CPU per call: caller',
    unit: 'µs CPU',
    ours: ['bus', 'split.caller.cpu'],
    peer: ['raw', 'split.caller.cpu'],
    peerLabel: 'raw request()',
    target: { on: 'ours', op: '<=', value: 8 },
  },
  {
    figure: 'NATS invoke, separate processes, CPU per call: responder',
    unit: 'µs CPU',
    ours: ['bus', 'split.responder.cpu'],
    peer: ['raw', 'split.responder.cpu'],
    peerLabel: 'raw msg.respond()',
    target: { on: 'ours', op: '<=', value: 8 },
  },
  {
    figure: 'NATS invoke, separate processes, CPU per call: caller (vs raw with the envelope bytes)',
    unit: 'µs CPU',
    ours: ['bus', 'split.caller.cpu'],
    peer: ['raw-env', 'split.caller.cpu'],
    peerLabel: 'raw request() of the same acp/1.0 request, reply parsed',
  },
  {
    figure: 'NATS invoke, separate processes, CPU per call: responder (vs raw with the envelope bytes)',
    unit: 'µs CPU',
    ours: ['bus', 'split.responder.cpu'],
    peer: ['raw-env', 'split.responder.cpu'],
    peerLabel: 'raw msg.respond() of the same acp/1.0 reply',
  },
  {
    figure: 'NATS invoke, separate processes, 64 in flight (vs raw with the envelope bytes)',
    unit: 'ops/s',
    ours: ['bus', 'split.ops'],
    peer: ['raw-env', 'split.ops'],
    peerLabel: 'raw request()/msg.respond() of the same acp/1.0 bytes',
  },
  {
    figure: 'NATS invoke, separate processes, CPU per call: caller',
    unit: 'µs CPU',
    ours: ['bus', 'split.caller.cpu'],
    peer: ['nest', 'split.caller.cpu'],
    peerLabel: 'Nest ClientProxy',
  },
  {
    figure: 'NATS invoke, separate processes, CPU per call: responder',
    unit: 'µs CPU',
    ours: ['bus', 'split.responder.cpu'],
    peer: ['nest', 'split.responder.cpu'],
    peerLabel: 'Nest @MessagePattern',
  },
  {
    figure: 'NATS invoke → decorated Nest handler, separate processes, CPU per call: responder',
    unit: 'µs CPU',
    ours: ['bus+nest', 'split.responder.cpu'],
    peer: ['nest', 'split.responder.cpu'],
    peerLabel: 'Nest @MessagePattern',
    target: { on: 'ours', op: '<=', value: 10 },
  },
  // Throughput in this setup is shown for context; the throughput targets are judged on the one-process method above.
  {
    figure: 'NATS invoke, separate processes, 64 in flight',
    unit: 'ops/s',
    ours: ['bus', 'split.ops'],
    peer: ['nest', 'split.ops'],
    peerLabel: 'Nest Transport.NATS',
    target: { on: 'ratio', op: '>=', value: 2.2 },
  },
  {
    figure: 'NATS invoke, separate processes, 64 in flight',
    unit: 'ops/s',
    ours: ['bus', 'split.ops'],
    peer: ['raw', 'split.ops'],
    peerLabel: 'raw request()',
    target: { on: 'ratio', op: '>=', value: 1.7 },
  },
  {
    figure: 'NATS invoke → decorated Nest handler, separate processes, 64 in flight',
    unit: 'ops/s',
    ours: ['bus+nest', 'split.ops'],
    peer: ['nest', 'split.ops'],
    peerLabel: 'Nest Transport.NATS',
  },
  // Streams over NATS
  {
    figure: 'NATS stream, one stream (flow control on)',
    unit: 'deltas/s',
    ours: ['bus', 'stream1'],
    peer: ['nest', 'stream1'],
    peerLabel: 'Nest Observable reply (no flow ctl)',
    target: { on: 'ours', op: '>=', value: 150_000 },
  },
  { figure: 'NATS stream, one stream, separate processes (handler in its own process)', unit: 'deltas/s', ours: ['bus', 'split.stream1'] },
  { figure: 'NATS stream, separate processes, CPU per delta: caller', unit: 'µs CPU', ours: ['bus', 'split.stream.caller.cpu'] },
  { figure: 'NATS stream, separate processes, CPU per delta: handler', unit: 'µs CPU', ours: ['bus', 'split.stream.responder.cpu'] },
  { figure: 'NATS stream, 100 concurrent streams (total)', unit: 'deltas/s', ours: ['bus', 'stream100'] },
  {
    figure: 'NATS stream, time to first delta p50',
    unit: 'µs',
    ours: ['bus', 'ttfd.p50'],
    peer: ['bus', 'ttfd.invoke.p50'],
    peerLabel: 'our invoke p50 (same loop)',
    ratioOf: ['bus', 'ttfd.ratio'],
    target: { on: 'ratio', op: '<=', value: 1.1 },
  },
  {
    figure: 'NATS stream, time to first delta p50, handler with deferStarted',
    unit: 'µs',
    ours: ['bus', 'ttfd.deferred.p50'],
    peer: ['bus', 'ttfd.invoke.p50'],
    peerLabel: 'our invoke p50 (same loop)',
    ratioOf: ['bus', 'ttfd.deferred.ratio'],
    target: { on: 'ratio', op: '<=', value: 1.2 },
  },
  { figure: 'NATS stream, cancel latency p50 (abort → handler signal)', unit: 'µs', ours: ['bus', 'cancel.p50'] },
  { figure: 'NATS stream, cancel latency p99', unit: 'µs', ours: ['bus', 'cancel.p99'] },
  // Pub/sub over NATS
  {
    figure: 'NATS publish/subscribe',
    unit: 'events/s',
    ours: ['bus', 'pubsub'],
    peer: ['raw', 'pubsub'],
    peerLabel: 'raw publish/subscribe',
    target: { on: 'ratio', op: '>=', value: 0.8 },
  },
  {
    figure: 'NATS publish/subscribe (vs raw with the envelope bytes)',
    unit: 'events/s',
    ours: ['bus', 'pubsub'],
    peer: ['raw-env', 'pubsub'],
    peerLabel: 'raw publish/subscribe of the same acp/1.0 event JSON',
  },
  {
    figure: 'NATS publish/subscribe, raw: the envelope bytes against the bare payload',
    unit: 'events/s',
    ours: ['raw-env', 'pubsub'],
    peer: ['raw', 'pubsub'],
    peerLabel: 'raw publish/subscribe (bare 100-byte payload)',
  },
  // The server's permission checks (bench/suites/authz.ts): generated permissions against a user without any
  {
    figure: 'NATS invoke, 64 in flight, generated NATS permissions',
    unit: 'ops/s',
    ours: ['authz.perm', 'conc.ops'],
    peer: ['authz.open', 'conc.ops'],
    peerLabel: 'same server, user without permissions',
  },
  {
    figure: 'NATS invoke, sequential p50, generated NATS permissions',
    unit: 'µs',
    ours: ['authz.perm', 'seq.p50'],
    peer: ['authz.open', 'seq.p50'],
    peerLabel: 'same server, user without permissions',
  },
  // In-memory
  {
    figure: 'In-memory invoke, 64 in flight',
    unit: 'ops/s',
    ours: ['mem.bus', 'mem.ops'],
    peer: ['direct', 'mem.ops'],
    peerLabel: 'direct async call',
    target: { on: 'ours', op: '>=', value: 1_000_000 },
  },
  {
    figure: 'In-memory invoke → decorated Nest handler',
    unit: 'ops/s',
    ours: ['mem.bus+nest', 'mem.ops'],
    peer: ['direct', 'mem.ops'],
    peerLabel: 'direct async call',
    target: { on: 'ours', op: '>=', value: 300_000 },
  },
  {
    figure: 'In-memory invoke, one at a time',
    unit: 'ops/s',
    ours: ['mem.bus', 'mem.seq.ops'],
    peer: ['direct', 'mem.seq.ops'],
    peerLabel: 'direct async call',
  },
  {
    figure: 'In-memory invoke → decorated Nest handler, one at a time',
    unit: 'ops/s',
    ours: ['mem.bus+nest', 'mem.seq.ops'],
    peer: ['direct', 'mem.seq.ops'],
    peerLabel: 'direct async call',
  },
  {
    figure: 'In-memory invoke, CPU per call',
    unit: 'µs CPU',
    ours: ['mem.bus', 'mem.cpu'],
    peer: ['direct', 'mem.cpu'],
    peerLabel: 'direct async call',
  },
  { figure: 'In-memory stream, one stream', unit: 'deltas/s', ours: ['mem.bus', 'stream1'] },
  {
    figure: 'In-memory stream, time to first delta p50 (line ours; the issue sets it for NATS)',
    unit: 'µs',
    ours: ['mem.bus', 'ttfd.p50'],
    peer: ['mem.bus', 'ttfd.invoke.p50'],
    peerLabel: 'our invoke p50 (same loop)',
    ratioOf: ['mem.bus', 'ttfd.ratio'],
    target: { on: 'ratio', op: '<=', value: 1.2 },
  },
  {
    figure: 'In-memory stream, time to first delta p50, deferStarted (line ours)',
    unit: 'µs',
    ours: ['mem.bus', 'ttfd.deferred.p50'],
    peer: ['mem.bus', 'ttfd.invoke.p50'],
    peerLabel: 'our invoke p50 (same loop)',
    ratioOf: ['mem.bus', 'ttfd.deferred.ratio'],
    target: { on: 'ratio', op: '<=', value: 1.2 },
  },
  { figure: 'In-memory stream, cancel latency p50', unit: 'µs', ours: ['mem.bus', 'cancel.p50'] },
  // Scale
  {
    figure: '10,000 open streams, in-memory: RSS per stream',
    unit: 'KB',
    ours: ['mem.bus', 'scale.rssKB'],
    target: { on: 'ours', op: '<=', value: 20 },
  },
  { figure: '10,000 open streams, in-memory: heap per stream', unit: 'KB', ours: ['mem.bus', 'scale.heapKB'] },
  {
    figure: '10,000 open streams, NATS: RSS per stream',
    unit: 'KB',
    ours: ['bus', 'scale.rssKB'],
    target: { on: 'ours', op: '<=', value: 12 },
  },
  { figure: '10,000 open streams, NATS: heap per stream', unit: 'KB', ours: ['bus', 'scale.heapKB'] },
  {
    figure: '10,000 open streams, NATS: RSS per stream, node --max-semi-space-size=16',
    unit: 'KB',
    ours: ['bus.semi16', 'scale.rssKB'],
    peer: ['bus', 'scale.rssKB'],
    peerLabel: "Node 24's default young generation",
    target: { on: 'ours', op: '<=', value: 12 },
  },
  // Async tasks on JetStream, beside a plain invoke to the same workers (bench/suites/tasks.ts)
  {
    figure: 'Tasks submitted → completed, JetStream, 4 workers, 64 submissions in flight',
    unit: 'ops/s',
    ours: ['tasks', 'tasks.ops'],
    peer: ['tasks', 'invoke.ops'],
    peerLabel: 'plain invoke, same workers, 64 in flight',
  },
  {
    figure: 'Task submit → first status (working), JetStream, p50',
    unit: 'µs',
    ours: ['tasks', 'tasks.firstStatus.p50'],
    peer: ['tasks', 'invoke.p50'],
    peerLabel: 'plain invoke round trip, same workers, p50',
    target: { on: 'ratio', op: '<=', value: 3 },
  },
  { figure: 'Task submit → first status (working), JetStream, p90', unit: 'µs', ours: ['tasks', 'tasks.firstStatus.p90'] },
  {
    figure: 'Tasks submitted → completed, JetStream, 4 workers, 64 submissions in flight (vs raw JetStream)',
    unit: 'ops/s',
    ours: ['tasks', 'tasks.ops'],
    peer: ['tasks', 'raw.ops'],
    peerLabel: 'raw JetStream: KV record, work-queue message, pull consumer with ack, status update',
    target: { on: 'ratio', op: '>=', value: 0.5 },
  },
  {
    figure: 'Task submit → first status (working), JetStream, p50 (vs raw JetStream)',
    unit: 'µs',
    ours: ['tasks', 'tasks.firstStatus.p50'],
    peer: ['tasks', 'raw.firstStatus.p50'],
    peerLabel: 'raw JetStream, the same minimum',
  },
  {
    figure: 'Tasks submitted → completed, 3-node JetStream cluster, R3, 4 workers, 64 in flight',
    unit: 'ops/s',
    ours: ['tasks', 'tasks.r3.ops'],
    peer: ['tasks', 'tasks.ops'],
    peerLabel: 'the same on one server, R1',
  },
  {
    figure: 'Task submit → first status (working), 3-node JetStream cluster, R3, p50',
    unit: 'µs',
    ours: ['tasks', 'tasks.r3.firstStatus.p50'],
    peer: ['tasks', 'tasks.firstStatus.p50'],
    peerLabel: 'the same on one server, R1, p50',
  },
  // Durable events on JetStream against raw JetStream doing the same (bench/suites/durable.ts)
  {
    figure: 'Durable publish (JetStream ack awaited), 64 in flight',
    unit: 'ops/s',
    ours: ['durable', 'pub.ops'],
    peer: ['durable.raw', 'pub.ops'],
    peerLabel: 'raw js.publish (noAsyncTraces) of the same envelope with a msgID, 64 in flight',
  },
  {
    figure: 'Durable consume of a stored backlog, concurrency 64',
    unit: 'events/s',
    ours: ['durable', 'consume.ops'],
    peer: ['durable.raw', 'consume.ops'],
    peerLabel: 'raw durable pull consumer, 64 buffered, JSON.parse + ack',
  },
  // Matrix bridge against a local Synapse (bench/suites/matrix.ts)
  {
    figure: 'Matrix room message → bus event at an agent, p50',
    unit: 'µs',
    ours: ['matrix.bridge', 'lat.p50'],
    peer: ['matrix.raw', 'lat.p50'],
    peerLabel: "raw client's own /sync long-poll, same messages",
    ratioOf: ['matrix.bridge', 'lat.ratio'],
  },
  {
    figure: 'Matrix room message → bus event at an agent, p90',
    unit: 'µs',
    ours: ['matrix.bridge', 'lat.p90'],
    peer: ['matrix.raw', 'lat.p90'],
    peerLabel: "raw client's own /sync long-poll, same messages",
    ratioOf: ['matrix.bridge', 'lat.p90.ratio'],
  },
  {
    figure: "Matrix room message → bus event at an agent, p50 (peer with the bridge's sync filter)",
    unit: 'µs',
    ours: ['matrix.bridge', 'latf.p50'],
    peer: ['matrix.raw.filtered', 'latf.p50'],
    peerLabel: 'raw /sync long-poll with the same filter, same messages',
    ratioOf: ['matrix.bridge', 'latf.ratio'],
  },
  {
    figure: "Matrix room message → bus event at an agent, p90 (peer with the bridge's sync filter)",
    unit: 'µs',
    ours: ['matrix.bridge', 'latf.p90'],
    peer: ['matrix.raw.filtered', 'latf.p90'],
    peerLabel: 'raw /sync long-poll with the same filter, same messages',
    ratioOf: ['matrix.bridge', 'latf.p90.ratio'],
  },
  {
    figure: 'Matrix matrix.message.send → one room, rate limit raised (sends/s)',
    unit: 'ops/s',
    ours: ['matrix.bridge', 'send.ops'],
    peer: ['matrix.raw', 'send.ops'],
    peerLabel: 'sequential raw PUT /send (same user, room)',
  },
  // The upstream Python SDK as a peer on the same nats-server, routes interleaved (bench/suites/python-peer.ts)
  {
    figure: 'Python SDK 0.3.0 peer: invoke sequential p50',
    unit: 'µs',
    ours: ['pypeer.ours', 'seq.p50'],
    peer: ['pypeer.python', 'seq.p50'],
    peerLabel: 'Python SDK caller → Python SDK server',
  },
  {
    figure: 'Python SDK 0.3.0 peer: invoke 64 in flight',
    unit: 'ops/s',
    ours: ['pypeer.ours', 'conc.ops'],
    peer: ['pypeer.python', 'conc.ops'],
    peerLabel: 'Python SDK caller → Python SDK server',
  },
  {
    figure: 'Python SDK 0.3.0 peer: one stream deltas/s',
    unit: 'deltas/s',
    ours: ['pypeer.ours', 'stream1'],
    peer: ['pypeer.python', 'stream1'],
    peerLabel: 'Python SDK caller → Python SDK server',
  },
  {
    figure: 'Python SDK 0.3.0 peer: invoke sequential p50, our caller → Python server',
    unit: 'µs',
    ours: ['pypeer.ours→python', 'seq.p50'],
    peer: ['pypeer.python', 'seq.p50'],
    peerLabel: 'Python caller → Python server',
  },
  {
    figure: 'Python SDK 0.3.0 peer: invoke sequential p50, Python caller → our responder',
    unit: 'µs',
    ours: ['pypeer.python→ours', 'seq.p50'],
    peer: ['pypeer.python', 'seq.p50'],
    peerLabel: 'Python caller → Python server',
  },
  {
    figure: 'Python SDK 0.3.0 peer: invoke 64 in flight, our caller → Python server',
    unit: 'ops/s',
    ours: ['pypeer.ours→python', 'conc.ops'],
    peer: ['pypeer.python', 'conc.ops'],
    peerLabel: 'Python caller → Python server',
  },
  {
    figure: 'Python SDK 0.3.0 peer: invoke 64 in flight, Python caller → our responder',
    unit: 'ops/s',
    ours: ['pypeer.python→ours', 'conc.ops'],
    peer: ['pypeer.python', 'conc.ops'],
    peerLabel: 'Python caller → Python server',
  },
  {
    figure: 'Python SDK 0.3.0 peer: one stream deltas/s, our caller → Python server',
    unit: 'deltas/s',
    ours: ['pypeer.ours→python', 'stream1'],
    peer: ['pypeer.python', 'stream1'],
    peerLabel: 'Python caller → Python server',
  },
  {
    figure: 'Python SDK 0.3.0 peer: one stream deltas/s, Python caller → our responder',
    unit: 'deltas/s',
    ours: ['pypeer.python→ours', 'stream1'],
    peer: ['pypeer.python', 'stream1'],
    peerLabel: 'Python caller → Python server',
  },
  // The upstream Go runtime as a peer on the same nats-server, routes interleaved (bench/suites/go-peer.ts)
  {
    figure: 'Go runtime v0.3.0 peer: invoke sequential p50',
    unit: 'µs',
    ours: ['gopeer.ours', 'seq.p50'],
    peer: ['gopeer.go', 'seq.p50'],
    peerLabel: 'Go caller → Go responder',
  },
  {
    figure: 'Go runtime v0.3.0 peer: invoke 64 in flight',
    unit: 'ops/s',
    ours: ['gopeer.ours', 'conc.ops'],
    peer: ['gopeer.go', 'conc.ops'],
    peerLabel: 'Go caller → Go responder',
    target: { on: 'ratio', op: '>=', value: 2 },
  },
  {
    figure: 'Go runtime v0.3.0 peer: one stream deltas/s',
    unit: 'deltas/s',
    ours: ['gopeer.ours', 'stream1'],
    peer: ['gopeer.go', 'stream1'],
    peerLabel: 'Go caller → Go responder',
  },
  {
    figure: 'Go runtime v0.3.0 peer: invoke 64 in flight, ours → ours in two processes',
    unit: 'ops/s',
    ours: ['gopeer.ours-2p', 'conc.ops'],
    peer: ['gopeer.go', 'conc.ops'],
    peerLabel: 'Go caller → Go responder (two processes)',
    target: { on: 'ratio', op: '>=', value: 2 },
  },
  {
    figure: 'Go runtime v0.3.0 peer: one stream deltas/s, ours → ours in two processes',
    unit: 'deltas/s',
    ours: ['gopeer.ours-2p', 'stream1'],
    peer: ['gopeer.go', 'stream1'],
    peerLabel: 'Go caller → Go responder (two processes)',
    target: { on: 'ratio', op: '>=', value: 1.2 },
  },
  {
    figure: 'Go runtime v0.3.0 peer: invoke sequential p50, our caller → Go responder',
    unit: 'µs',
    ours: ['gopeer.ours→go', 'seq.p50'],
    peer: ['gopeer.go', 'seq.p50'],
    peerLabel: 'Go caller → Go responder',
  },
  {
    figure: 'Go runtime v0.3.0 peer: invoke 64 in flight, our caller → Go responder',
    unit: 'ops/s',
    ours: ['gopeer.ours→go', 'conc.ops'],
    peer: ['gopeer.go', 'conc.ops'],
    peerLabel: 'Go caller → Go responder',
  },
  {
    figure: 'Go runtime v0.3.0 peer: one stream deltas/s, our caller → Go responder',
    unit: 'deltas/s',
    ours: ['gopeer.ours→go', 'stream1'],
    peer: ['gopeer.go', 'stream1'],
    peerLabel: 'Go caller → Go responder',
  },
  {
    figure: 'Go runtime v0.3.0 peer: invoke sequential p50, Go caller → our responder',
    unit: 'µs',
    ours: ['gopeer.go→ours', 'seq.p50'],
    peer: ['gopeer.go', 'seq.p50'],
    peerLabel: 'Go caller → Go responder',
  },
  {
    figure: 'Go runtime v0.3.0 peer: invoke 64 in flight, Go caller → our responder',
    unit: 'ops/s',
    ours: ['gopeer.go→ours', 'conc.ops'],
    peer: ['gopeer.go', 'conc.ops'],
    peerLabel: 'Go caller → Go responder',
    target: { on: 'ratio', op: '>=', value: 1 },
  },
  {
    figure: 'Go runtime v0.3.0 peer: one stream deltas/s, Go caller → our responder',
    unit: 'deltas/s',
    ours: ['gopeer.go→ours', 'stream1'],
    peer: ['gopeer.go', 'stream1'],
    peerLabel: 'Go caller → Go responder',
  },
  // Gateway SSE fan-out over NATS against plain Express (bench/suites/sse.ts)
  {
    figure: 'Gateway SSE fan-out over NATS, p99 handler write → client read',
    unit: 'µs',
    ours: ['sse', 'p99'],
    peer: ['sse', 'express.p99'],
    peerLabel: 'plain Express SSE endpoint, same frames',
    target: { on: 'ours', op: '<=', value: 25_000 },
  },
  {
    figure: 'Gateway SSE fan-out over NATS, p50 handler write → client read',
    unit: 'µs',
    ours: ['sse', 'p50'],
    peer: ['sse', 'express.p50'],
    peerLabel: 'plain Express SSE endpoint, same frames',
  },
  {
    figure: 'Gateway SSE fan-out over NATS, RSS per client (gateway process)',
    unit: 'KB',
    ours: ['sse', 'rssKB'],
    peer: ['sse', 'express.rssKB'],
    peerLabel: 'plain Express SSE endpoint (its process)',
    target: { on: 'ours', op: '<=', value: 30 },
  },
  {
    figure: 'Gateway SSE fan-out over NATS, frames delivered',
    unit: 'frames',
    ours: ['sse', 'frames'],
    peer: ['sse', 'express.frames'],
    peerLabel: 'plain Express SSE endpoint, same frames',
    target: { on: 'ratio', op: '>=', value: 0.8 },
  },
  // Added rows (issue 26): the latencies above include time spent waiting for a CPU on a shared machine; these
  // say what a frame costs in CPU, and how long the serving process was ready to run but not running.
  {
    figure: 'Gateway SSE fan-out over NATS, CPU per delivered frame (gateway process, all threads)',
    unit: 'µs CPU',
    ours: ['sse', 'cpuUs'],
    peer: ['sse', 'express.cpuUs'],
    peerLabel: 'plain Express SSE endpoint (its process)',
  },
  {
    figure: 'Gateway SSE fan-out over NATS, CPU per delivered frame (handler process, all threads)',
    unit: 'µs CPU',
    ours: ['sse', 'handlerCpuUs'],
    peer: ['sse', 'express.cpuUs'],
    peerLabel: 'plain Express SSE endpoint (its process)',
  },
  {
    figure: 'Gateway SSE fan-out over NATS, serving main thread waiting for a CPU (share of the run)',
    unit: '%',
    ours: ['sse', 'runQueuePct'],
    peer: ['sse', 'express.runQueuePct'],
    peerLabel: 'plain Express SSE endpoint (its process)',
  },
  // Start-up in fresh processes (bench/suites/startup.ts)
  {
    figure: '`npm start` to first answer (built tree)',
    unit: 'ms',
    ours: ['startup', 'npmStart'],
    peer: ['startup', 'node'],
    peerLabel: 'node dist/src/main.js alone (no tsc -b check)',
    target: { on: 'ours', op: '<=', value: 3000 },
  },
  {
    figure: 'Nest microservice start-up with BusModule (spawn → listening)',
    unit: 'ms',
    ours: ['startup', 'bus'],
    peer: ['startup', 'nest'],
    peerLabel: 'bare Nest Transport.NATS microservice',
  },
  {
    figure: 'Nest microservice start-up with BusModule (createMicroservice → listen)',
    unit: 'ms',
    ours: ['startup', 'bus.listen'],
    peer: ['startup', 'nest.listen'],
    peerLabel: 'bare Nest Transport.NATS microservice',
  },
];
for (const size of cfg.payload) {
  if (size.bytes >= 1 << 20) {
    ROWS.push(
      {
        figure: `NATS invoke ${size.label} chunked into 64 KB (max_payload 64 KB server), sequential p50`,
        unit: 'µs',
        ours: ['bus-64k', `size.${size.label}.p50`],
        peer: ['bus', `size.${size.label}.p50`],
        peerLabel: 'ours on the 1 MB max_payload server',
      },
      {
        figure: `NATS invoke ${size.label} chunked into 64 KB, ${size.concurrency} in flight`,
        unit: 'ops/s',
        ours: ['bus-64k', `size.${size.label}.ops`],
        peer: ['bus', `size.${size.label}.ops`],
        peerLabel: 'ours on the 1 MB max_payload server',
      },
    );
  }
  ROWS.push(
    {
      figure: `NATS invoke ${size.label}, sequential p50`,
      unit: 'µs',
      ours: ['bus', `size.${size.label}.p50`],
      peer: ['raw', `size.${size.label}.p50`],
      peerLabel: size.bytes >= 1 << 20 ? 'raw request() (8 MB max_payload server)' : 'raw request()',
    },
    {
      figure: `NATS invoke ${size.label}, ${size.concurrency} in flight`,
      unit: 'ops/s',
      ours: ['bus', `size.${size.label}.ops`],
      peer: ['raw', `size.${size.label}.ops`],
      peerLabel: size.bytes >= 1 << 20 ? 'raw request() (8 MB max_payload server)' : 'raw request()',
      // Issue 26: ours chunked on the default 1 MB server against raw on an 8 MB one.
      target: size.bytes >= 1 << 20 ? { on: 'ratio', op: '>=', value: 0.9 } : undefined,
    },
  );
}

/** A full collection when the bench runs with --expose-gc (npm run bench does). */
function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

async function main(): Promise<number> {
  const t0 = Date.now();
  const info = machineInfo();
  log(
    `bench ${quick ? '--quick' : 'full'}: ${cfg.runs} runs; ${info.nproc} CPUs (${info.cpu}), node ${info.node}, ${info.natsServer}, load ${info.loadavg}`,
  );
  const metrics = new Metrics();
  const closers: Array<() => Promise<unknown>> = [];
  const servers: BenchNatsServer[] = [];
  const attempt = async <T>(what: string, f: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await f();
    } catch (err) {
      metrics.notes.push(`${what}: ${(err as Error).message}`);
      log(`  ${what} FAILED: ${(err as Error).stack ?? err}`);
      return undefined;
    }
  };
  try {
    const nats = await startNatsServer();
    servers.push(nats);
    log(`nats-server ${nats.url} (pid ${nats.pid}, max_payload ${nats.maxPayload})`);
    const natsMake: TransportFactory | undefined = await natsTransports(nats.url);

    // ---- stacks
    const invokeStacks = new Map<string, InvokeStack>();
    const raw = await rawNatsInvokeStack(nats.url);
    closers.push(() => raw.close());
    invokeStacks.set('raw', raw);
    // Extra peer: raw request() with noAsyncTraces (no Error captured per request), the leanest raw variant.
    const rawNt = await rawNatsInvokeStack(nats.url, { name: 'raw request() noAsyncTraces', noAsyncTraces: true });
    closers.push(() => rawNt.close());
    invokeStacks.set('raw-nt', rawNt);
    const nest: NestNatsStack | undefined = await attempt('Nest built-in NATS stack', () => nestNatsStack(nats.url));
    if (nest) {
      closers.push(() => nest.close());
      invokeStacks.set('nest', nest);
    }
    let busPair: BusPair | undefined;
    if (natsMake) {
      busPair = await attempt('bus over NATS', () => BusPair.create('nats', natsMake));
      if (busPair) {
        const p = busPair;
        closers.push(() => p.close());
        invokeStacks.set('bus', p.invokeStack('bus → plain handler'));
      }
      const bn = await attempt('bus over NATS → decorated Nest handler', () => busNestStack('bus → decorated Nest handler', natsMake));
      if (bn) {
        closers.push(() => bn.close());
        invokeStacks.set('bus+nest', bn);
      } else metrics.notes.push('decorated Nest handler over NATS: Nest integration not available');
    }
    const memStacks = new Map<string, InvokeStack>([['direct', directStack()]]);
    const memPair = await BusPair.create('memory', memoryTransports());
    closers.push(() => memPair.close());
    memStacks.set('mem.bus', memPair.invokeStack('bus (memory)'));
    const memNest = await attempt('in-memory decorated Nest handler', () =>
      busNestStack('bus (memory) → decorated Nest handler', memoryTransports()),
    );
    if (memNest) {
      closers.push(() => memNest.close());
      memStacks.set('mem.bus+nest', memNest);
    }
    const pubsubStacks = new Map<string, PubSubStack>();
    const rawPs = await rawNatsPubSubStack(nats.url);
    closers.push(() => rawPs.close());
    pubsubStacks.set('raw', rawPs);
    const rawEnvPs = await rawNatsPubSubStack(nats.url, { envelope: true });
    closers.push(() => rawEnvPs.close());
    pubsubStacks.set('raw-env', rawEnvPs);
    if (busPair) pubsubStacks.set('bus', busPair.pubSubStack('bus publish/subscribe'));

    let authz: Awaited<ReturnType<typeof authzStacks>> | undefined;
    if (only.has('authz') && natsMake) {
      authz = await attempt('NATS invoke with generated permissions', () => authzStacks());
      if (authz) closers.push(authz.close);
    }

    // The split-process figures use a server of their own: their responders (forked children) serve the same
    // subjects as this process's stacks, and must not share queue groups with them.
    let splitUrl: string | undefined;
    if (only.has('split') && natsMake) {
      const splitNats = await startNatsServer();
      servers.push(splitNats);
      splitUrl = splitNats.url;
    }

    let rawBig: InvokeStack | undefined;
    let busSmall: InvokeStack | undefined;
    if (only.has('payload')) {
      // Raw request() cannot send 1 MB to a default server (max_payload 1 MB): its 1 MB peer runs on a server
      // with max_payload 8 MB. Ours sends 1 MB chunked on the default server, and on a 64 KB server (17 chunks).
      const big = await startNatsServer({ maxPayload: 8 * 1024 * 1024 });
      servers.push(big);
      const rb = await rawNatsInvokeStack(big.url, { name: 'raw request() (8 MB max_payload)' });
      rawBig = rb;
      closers.push(() => rb.close());
      if (natsMake) {
        const small = await startNatsServer({ maxPayload: 64 * 1024 });
        servers.push(small);
        const smallMake = await natsTransports(small.url);
        const sp = smallMake
          ? await attempt('bus over NATS with max_payload 64 KB', () => BusPair.create('nats-64k', smallMake))
          : undefined;
        if (sp) {
          closers.push(() => sp.close());
          // A caller sends chunked requests only to targets whose replies have shown the `chunk` extension: this
          // pair runs only the 1 MB figures, so one small call first (without it every 1 MB call is refused).
          await sp.client.invoke(ECHO, {});
          busSmall = sp.invokeStack('bus, max_payload 64 KB');
        }
      }
    }

    let matrix: MatrixBench | undefined;
    if (only.has('matrix')) {
      const n = matrixCounts(cfg);
      log(`matrix: starting Synapse (${n.messages} latency messages and ${n.sends} sends per stack per run)`);
      try {
        matrix = await MatrixBench.start(log);
        const m = matrix;
        closers.push(() => m.close());
        metrics.notes.push(
          `Matrix: Synapse ${m.version} (SQLite) on 127.0.0.1, started by the bench; ${n.messages} messages one at a time and ${n.sends} sends per stack per run`,
        );
      } catch (err) {
        const why = (err as Error).message.split('\n')[0].replace(/:\s*$/, '');
        log(`matrix: SKIPPED, Synapse or the bridge could not start: ${why}`);
        metrics.notes.push(`Matrix suite skipped: Synapse or the bridge could not start (${why})`);
      }
    }

    let pyPeer: UpstreamPeerBench | undefined;
    if (only.has('python') && busPair) {
      try {
        const p = await PythonPeerBench.start(nats.url, busPair, log);
        pyPeer = p.bench;
        closers.push(() => p.bench.close());
        metrics.notes.push(
          `Python peer: openagentio 0.3.0 (PyPI) with nats-py, ${p.python}, two processes (server, caller) on the bench's main nats-server`,
        );
      } catch (err) {
        const why = (err as Error).message.split('\n')[0].replace(/:\s*$/, '');
        log(`python: SKIPPED, the Python SDK peer could not start: ${why}`);
        metrics.notes.push(`Python SDK peer suite skipped: the venv or the peer could not start (${why})`);
      }
    }

    let goPeer: UpstreamPeerBench | undefined;
    if (only.has('go') && busPair) {
      try {
        const g = await GoPeerBench.start(nats.url, busPair, log);
        goPeer = g.bench;
        closers.push(() => g.bench.close());
        metrics.notes.push(
          `Go peer: github.com/ModulationAI/openagentio v0.3.0 (../shared/peers/openagentio-go) through test/interop/go/bench, ${goVersion()}, two processes (server, caller) on the bench's main nats-server`,
        );
      } catch (err) {
        const why = (err as Error).message.split('\n')[0].replace(/:\s*$/, '');
        log(`go: SKIPPED, the Go peer could not be built or started: ${why}`);
        metrics.notes.push(`Go peer suite skipped: Go or the peer build is missing, or the peer could not start (${why})`);
      }
    }

    // ---- runs
    for (let run = 0; run < cfg.runs; run++) {
      log(`-- run ${run + 1}/${cfg.runs} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
      // Each suite starts on a collected heap, so that one suite's garbage is not collected on another's time.
      collectGarbage();
      if (only.has('invoke')) await invokeSuite(invokeStacks, cfg, metrics, run, log);
      collectGarbage();
      if (authz) await invokeSuite(authz.stacks, cfg, metrics, run, log);
      collectGarbage();
      // Quick mode measures the split-process figures once (forking four responders takes seconds).
      if (splitUrl && (!quick || run === 0)) await attempt('split-process suite', () => splitSuite(splitUrl!, cfg, metrics, run, log));
      collectGarbage();
      if (only.has('stream')) {
        if (busPair) await attempt('NATS stream suite', () => streamSuite('bus', busPair!, nest, cfg, metrics, log));
        await attempt('in-memory stream suite', () => streamSuite('mem.bus', memPair, undefined, cfg, metrics, log));
      }
      collectGarbage();
      if (only.has('pubsub')) await pubsubSuite(pubsubStacks, cfg, metrics, run, log);
      collectGarbage();
      if (only.has('memory')) await memorySuite(memStacks, cfg, metrics, run, log);
      collectGarbage();
      if (only.has('payload')) {
        for (const size of cfg.payload) {
          const m = new Map<string, InvokeStack>();
          m.set('raw', size.bytes >= 1 << 20 ? rawBig! : raw);
          if (busPair) m.set('bus', invokeStacks.get('bus')!);
          if (busSmall && size.bytes >= 1 << 20) m.set('bus-64k', busSmall);
          await payloadSuite(m, size, metrics, run, log);
        }
      }
      collectGarbage();
      if (matrix) await attempt('Matrix suite', () => matrix!.run(cfg, metrics, run, log));
      collectGarbage();
      if (only.has('tasks') && natsMake) await attempt('tasks suite', () => tasksSuite(cfg, metrics, log));
      collectGarbage();
      if (only.has('durable') && natsMake) await attempt('durable events suite', () => durableSuite(cfg, metrics, log));
      collectGarbage();
      if (pyPeer) await attempt('Python SDK peer suite', () => pyPeer!.run(cfg, metrics, run, log));
      collectGarbage();
      if (goPeer) await attempt('Go peer suite', () => goPeer!.run(cfg, metrics, run, log));
    }
    // Gateway SSE fan-out: its own processes, measured once, after the runs.
    if (only.has('sse')) await attempt('SSE fan-out suite', () => sseSuite(nats.url, cfg, metrics, log));
    // Start-up: fresh processes, measured once (medians of their own samples), after the runs.
    if (only.has('startup')) {
      // The demo's TasksModule needs JetStream over NATS.
      const js = await startNatsServer({ jetstream: true });
      servers.push(js);
      await attempt('start-up suite', () => startupSuite(js.url, cfg, metrics, log));
    }
    if (only.has('scale')) {
      const scaleRuns = quick ? 1 : Math.min(cfg.runs, 3);
      for (let i = 0; i < scaleRuns; i++) {
        await attempt('scale in-memory', () => scaleSuite('mem.bus', 'memory', cfg.scaleStreams, metrics, log));
        if (natsMake) await attempt('scale NATS', () => scaleSuite('bus', nats.url, cfg.scaleStreams, metrics, log));
        // The same with V8's young generation capped at Node 20's size: on Node 24 it grows to 128 MB while thousands of
        // streams open at once and keeps its pages, whatever each stream holds (BENCHMARKS.md, memory per open stream).
        if (natsMake)
          await attempt('scale NATS, 16 MB semi-spaces', () =>
            scaleSuite('bus.semi16', nats.url, cfg.scaleStreams, metrics, log, ['--max-semi-space-size=16']),
          );
      }
    }
  } finally {
    for (const c of closers.reverse()) await c().catch((e) => log(`close: ${(e as Error).message}`));
    for (const s of servers) await s.stop();
  }

  const rows = buildRows(metrics, ROWS).filter((r) => r.ours !== undefined || r.target);
  const seconds = (Date.now() - t0) / 1000;
  const cmd = `node dist/bench/run.js ${argv.join(' ')}`.trim();
  const out = [
    `Machine: ${info.nproc} vCPU ${info.cpu}, node ${info.node}, ${info.natsServer}, @nats-io/transport-node ${info.natsClient}, @nestjs/microservices ${info.nestMicroservices}; load average at start ${info.loadavg}`,
    `Command: ${cmd} (${cfg.runs} runs, medians; ${seconds.toFixed(0)} s)`,
    '',
    renderTable(rows),
  ];
  if (metrics.notes.length) out.push('', 'Notes:', ...[...new Set(metrics.notes)].map((n) => `- ${n}`));
  process.stdout.write(`${out.join('\n')}\n`);
  writeFileSync(
    jsonPath,
    JSON.stringify(
      { machine: info, command: cmd, quick, runs: cfg.runs, seconds, rows, metrics: metrics.toJSON(), notes: metrics.notes },
      null,
      2,
    ),
  );
  log(`results written to ${jsonPath}`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    log(`bench failed: ${(err as Error).stack ?? err}`);
    process.exit(1);
  },
);
