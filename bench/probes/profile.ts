/**
 * One workload at a time, for CPU profiles:
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof dist/bench/probes/profile.js <workload> [seconds]
 *   node dist/bench/probes/profile.js top /tmp/prof/<file>.cpuprofile [rows]
 *   node dist/bench/probes/profile.js kinds /tmp/prof/<file>.cpuprofile   (busy time by kind: JSON, NATS client, ours…)
 * Workloads: mem-invoke, mem-nest-invoke, nats-invoke, nats-nest-invoke, nats-raw-invoke, nats-stream, nats-pubsub, mem-stream,
 * mem-ttfd, nats-ttfd (streams of one delta, one after another).
 * The NATS workloads start their own nats-server on a free port.
 */
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { closedLoop, payloadOfSize } from '../lib/measure.js';
import { startNatsServer, type BenchNatsServer } from '../lib/nats-server.js';
import { BusPair, memoryTransports, natsTransports } from '../stacks/bus.js';
import { busNestStack } from '../stacks/bus-nest.js';
import { rawNatsInvokeStack } from '../stacks/raw-nats.js';
import type { InvokeStack } from '../stacks/types.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

/** Self time per function (and per file) of a .cpuprofile, as percentages of all samples. */
function top(file: string, rows: number): void {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (let i = 0; i < prof.samples.length; i++) self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + (prof.timeDeltas[i] ?? 0));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const fnTime = new Map<string, number>();
  const fileTime = new Map<string, number>();
  for (const [id, t] of self) {
    const n = byId.get(id)!;
    const url = n.callFrame.url.replace(/^file:\/\/\/work\/main\//, '').replace(/^.*node_modules\//, 'nm/');
    const key = `${n.callFrame.functionName || '(anonymous)'}  ${url}:${n.callFrame.lineNumber + 1}`;
    fnTime.set(key, (fnTime.get(key) ?? 0) + t);
    const f = url || `(${n.callFrame.functionName})`;
    fileTime.set(f, (fileTime.get(f) ?? 0) + t);
  }
  const pct = (t: number) => `${((100 * t) / total).toFixed(1).padStart(5)}%`;
  console.log(`total ${(total / 1000).toFixed(0)} ms sampled\n-- self time by function`);
  for (const [k, t] of [...fnTime].sort((a, b) => b[1] - a[1]).slice(0, rows)) console.log(`${pct(t)}  ${k}`);
  console.log('-- self time by file');
  for (const [k, t] of [...fileTime].sort((a, b) => b[1] - a[1]).slice(0, rows)) console.log(`${pct(t)}  ${k}`);
}

/**
 * Busy time (idle and module loading left out) by kind of work: the envelopes' JSON and UTF-8 conversions, the NATS
 * client, socket writes, GC, our own code, and the rest (Node and V8 internals, the bench). The split BENCHMARKS.md
 * quotes to say what is the protocol's and what is ours.
 */
function kinds(file: string): void {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] };
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const time = new Map<string, number>();
  let busy = 0;
  for (let i = 0; i < prof.samples.length; i++) {
    const { functionName: f, url: u } = byId.get(prof.samples[i])!.callFrame;
    const t = prof.timeDeltas[i] ?? 0;
    let kind: string;
    if (
      f === '(idle)' ||
      /node:internal\/modules|node:internal\/bootstrap/.test(u) ||
      /^(compileFunction|internalModuleStat|readFileUtf8)$/.test(f)
    )
      continue;
    else if (f === '(garbage collector)') kind = 'GC';
    else if (!u && /^(writeBuffer|writev|writeUtf8String)$/.test(f)) kind = 'socket writes';
    else if (
      /envelope-codec|reply-encoder/.test(u) ||
      (/^node:internal\/(encoding|buffer)$|^$/.test(u) &&
        /^(encode|decode|encodeUtf8String|decodeUTF8|latin1Slice|FastBuffer|createUnsafeBuffer)$/.test(f))
    )
      kind = 'envelope JSON and UTF-8';
    else if (u.includes('@nats-io')) kind = 'NATS client';
    else if (/libs\/(bus|bridge|gateway)\//.test(u)) kind = 'ours (everything else in libs/)';
    else kind = 'other (Node and V8 internals, microtasks, the bench)';
    time.set(kind, (time.get(kind) ?? 0) + t);
    busy += t;
  }
  for (const [k, t] of [...time].sort((a, b) => b[1] - a[1])) console.log(`${((100 * t) / busy).toFixed(1).padStart(5)}%  ${k}`);
}

async function main(): Promise<void> {
  const [what = 'mem-invoke', arg2, arg3] = process.argv.slice(2);
  if (what === 'top') return top(arg2, Number(arg3 ?? 40));
  if (what === 'kinds') return kinds(arg2);
  const seconds = Number(arg2 ?? 5);
  const payload = payloadOfSize(100);
  let server: BenchNatsServer | undefined;
  const closers: Array<() => Promise<unknown>> = [];
  try {
    const needsNats = what.startsWith('nats');
    if (needsNats) server = await startNatsServer();
    const make = needsNats ? await natsTransports(server!.url) : memoryTransports();
    if (!make) throw new Error('NATS transport missing');
    let stack: InvokeStack | undefined;
    let pair: BusPair | undefined;
    if (what.endsWith('nest-invoke')) stack = await busNestStack('nest', make);
    else if (what === 'nats-raw-invoke') stack = await rawNatsInvokeStack(server!.url);
    else {
      pair = await BusPair.create(what, make);
      stack = pair.invokeStack(what);
    }
    if (!stack) throw new Error('stack not available');
    closers.push(() => stack!.close());
    if (what.endsWith('invoke')) {
      const r = await closedLoop(() => stack!.invoke(payload), { concurrency: 64, durationMs: seconds * 1000, warmupMs: 500 });
      console.log(`${what}: ${Math.round(r.opsPerSec)} ops/s, ${r.cpuUsPerOp.toFixed(1)} µs CPU/op`);
    } else if (what.endsWith('stream')) {
      const until = Date.now() + seconds * 1000;
      let n = 0;
      const t0 = Date.now();
      while (Date.now() < until) n += await pair!.stream(20_000);
      console.log(`${what}: ${Math.round(n / ((Date.now() - t0) / 1000))} deltas/s`);
    } else if (what.endsWith('ttfd')) {
      const until = Date.now() + seconds * 1000;
      let n = 0;
      let sum = 0;
      while (Date.now() < until) {
        sum += await pair!.timeToFirstDelta();
        n++;
      }
      console.log(`${what}: ${n} streams, mean time to first delta ${(sum / n).toFixed(1)} µs`);
    } else if (what.endsWith('pubsub')) {
      const ps = pair!.pubSubStack(what);
      const r = await ps.run(5_000_000, seconds * 1000, payload);
      console.log(`${what}: ${Math.round(r.received / r.seconds)} events/s`);
    } else throw new Error(`unknown workload ${what}`);
  } finally {
    for (const c of closers.reverse()) await c().catch(() => {});
    await server?.stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
