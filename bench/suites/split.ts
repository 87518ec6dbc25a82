import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BusClient, EventTypes, NatsTransport, type BusLogger } from '@openagentio/nestjs';
import type { BenchConfig } from '../config.js';
import { childMessage, markCpu, reportCpu } from '../lib/child-message.js';
import { closedLoop, payloadOfSize } from '../lib/measure.js';
import { oneStreamRate } from './stream.js';
import type { Metrics } from '../lib/results.js';
import { ECHO, STREAM } from '../stacks/bus.js';
import { NEST_ECHO } from '../stacks/bus-nest.js';
import { nestNatsCaller } from '../stacks/nest-nats.js';
import { RAW_SPLIT_SUBJECT, rawNatsCaller } from '../stacks/raw-nats.js';
import { RAW_ENV_SPLIT_SUBJECT, rawEnvelopeCaller } from '../stacks/raw-envelope.js';
import type { InvokeStack } from '../stacks/types.js';

const RESPONDER = fileURLToPath(new URL('../split-responder.js', import.meta.url));
const quiet: BusLogger = { log() {}, warn() {}, error() {} };

/** The stacks measured with each end in its own process: the responder kind and how to make the caller. */
const STACKS: Array<{ key: string; responder: string; caller: (url: string) => Promise<SplitCaller> }> = [
  { key: 'raw', responder: 'raw', caller: (url) => rawNatsCaller(url, RAW_SPLIT_SUBJECT) },
  // The floor: raw NATS carrying the same acp/1.0 request and reply bytes as ours (bench/stacks/raw-envelope.ts).
  { key: 'raw-env', responder: 'raw-env', caller: (url) => rawEnvelopeCaller(url, RAW_ENV_SPLIT_SUBJECT) },
  { key: 'nest', responder: 'nest', caller: (url) => nestNatsCaller(url) },
  { key: 'bus', responder: 'bus', caller: (url) => busCaller(url, ECHO) },
  { key: 'bus+nest', responder: 'bus+nest', caller: (url) => busCaller(url, NEST_ECHO) },
];

/** A caller stack that can also open streams (only the bus's responder serves them). */
type SplitCaller = InvokeStack & { stream?: (n: number) => Promise<number> };

async function busCaller(url: string, target: string): Promise<SplitCaller> {
  const bus = new BusClient(new NatsTransport({ servers: url, name: 'split-bus-caller', warnOpenAccount: false }), {
    agentId: 'bench-client',
    logger: quiet,
  });
  await bus.connect();
  const stream = async (n: number): Promise<number> => {
    let c = 0;
    for await (const f of bus.stream(STREAM, { n })) if (f.event_type === EventTypes.DELTA) c++;
    return c;
  };
  return { name: 'bus', invoke: (p) => bus.invoke(target, p), stream: target === ECHO ? stream : undefined, close: () => bus.close() };
}

/**
 * One stream with the handler in the child process, as a stream runs in production: deltas/s (median of
 * cfg.streamSamples streams, as in the one-process figure) and the CPU per delta of each process.
 * Metrics: split.stream1, split.stream.caller.cpu, split.stream.responder.cpu.
 */
async function splitStream(
  child: ChildProcess,
  stream: (n: number) => Promise<number>,
  key: string,
  cfg: BenchConfig,
  metrics: Metrics,
  log: (s: string) => void,
): Promise<void> {
  let c0 = process.cpuUsage();
  const { rate, deltas } = await oneStreamRate(stream, cfg, async () => {
    await markCpu(child);
    c0 = process.cpuUsage();
  });
  const c = process.cpuUsage(c0);
  const cpuUs = await reportCpu(child);
  const callerCpu = (c.user + c.system) / Math.max(1, deltas);
  const responderCpu = cpuUs / Math.max(1, deltas);
  metrics.put(key, 'split.stream1', rate);
  metrics.put(key, 'split.stream.caller.cpu', callerCpu);
  metrics.put(key, 'split.stream.responder.cpu', responderCpu);
  log(
    `  split ${key.padEnd(9)} one stream ${Math.round(rate)} deltas/s  CPU per delta: caller ${callerCpu.toFixed(1)} µs, responder ${responderCpu.toFixed(1)} µs`,
  );
}

/**
 * CPU per call with the caller and the responder in separate processes, as they run in production: the caller
 * loop (64 in flight) runs here, the responder in a forked child (bench/split-responder.ts), and each process's
 * CPU is divided by the calls completed. Metrics: split.ops, split.caller.cpu, split.responder.cpu, split.cpu (sum).
 */
export async function splitSuite(url: string, cfg: BenchConfig, metrics: Metrics, run: number, log: (s: string) => void): Promise<void> {
  const payload = payloadOfSize(100);
  for (let i = 0; i < STACKS.length; i++) {
    const stack = STACKS[(i + run) % STACKS.length];
    const child = fork(RESPONDER, [stack.responder, url], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let caller: SplitCaller | undefined;
    try {
      await childMessage(child, (m) => m === 'ready', 'ready');
      caller = await stack.caller(url);
      await closedLoop(() => caller!.invoke(payload), { concurrency: cfg.concurrency, durationMs: cfg.concWarmupMs });
      await markCpu(child);
      const r = await closedLoop(() => caller!.invoke(payload), { concurrency: cfg.concurrency, durationMs: cfg.concMs });
      const cpuUs = await reportCpu(child);
      const responderCpu = cpuUs / Math.max(1, r.ops);
      metrics.put(stack.key, 'split.ops', r.opsPerSec);
      metrics.put(stack.key, 'split.caller.cpu', r.cpuUsPerOp);
      metrics.put(stack.key, 'split.responder.cpu', responderCpu);
      metrics.put(stack.key, 'split.cpu', r.cpuUsPerOp + responderCpu);
      log(
        `  split ${stack.key.padEnd(9)} ${Math.round(r.opsPerSec)} ops/s  CPU per call: caller ${r.cpuUsPerOp.toFixed(1)} µs, responder ${responderCpu.toFixed(1)} µs`,
      );
      if (caller.stream) await splitStream(child, caller.stream, stack.key, cfg, metrics, log);
    } catch (err) {
      metrics.notes.push(`split-process ${stack.key}: ${(err as Error).message}`);
    } finally {
      await caller?.close().catch(() => undefined);
      child.kill('SIGKILL');
    }
  }
}
