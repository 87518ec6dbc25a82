import { randomUUID } from 'node:crypto';
import { jetstream, jetstreamManager, AckPolicy, DeliverPolicy } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { BusClient, NatsTransport, encodeEnvelope } from '@openagentio/nestjs';
import type { BenchConfig } from '../config.js';
import { closedLoop } from '../lib/measure.js';
import { startNatsServer } from '../lib/nats-server.js';
import type { Metrics } from '../lib/results.js';

const quiet = { log() {}, warn() {}, error() {}, debug() {} };
const IN_FLIGHT = 64;

/** Counts of the durable suite. */
export function durableCounts(cfg: BenchConfig): { publishMs: number; consume: number } {
  return cfg.quick ? { publishMs: 1500, consume: 5_000 } : { publishMs: 4000, consume: 20_000 };
}

/**
 * Durable events against raw JetStream doing the same, in one run on one nats-server with a store of its own.
 * Publish: `bus.publish(…, { durable: true })` with 64 in flight, against nats.js `js.publish` of the same
 * envelope JSON with a message id (the ack awaited by both). Consume: a backlog of N stored events handled by a
 * durable subscription with concurrency 64, against a raw durable pull consumer (`consume`, 64 buffered) that
 * parses each body and acks it. Metrics: durable.pub.ops, raw.pub.ops, durable.consume.ops, raw.consume.ops.
 */
export async function durableSuite(cfg: BenchConfig, metrics: Metrics, log: (s: string) => void): Promise<void> {
  const counts = durableCounts(cfg);
  const server = await startNatsServer({ jetstream: true });
  const bus = new BusClient(new NatsTransport({ servers: server.url, warnOpenAccount: false }), {
    agentId: 'bench-durable',
    logger: quiet,
    telemetry: false,
  });
  await bus.connect();
  const nc = await connect({ servers: server.url, noAsyncTraces: true });
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const payload = { order: 'x'.repeat(100) };
  try {
    // The bus makes the stream (ACP_EVENTS, acp.v1.events.> and acp.v1.dlq.>); the raw side uses it too.
    await bus.publish('bench.warm', payload, { durable: true });
    const template = await bus.publish('bench.raw', payload, { durable: true });
    // Two rounds each, alternating, so neither side always meets the bigger stream; the better round counts.
    const publishOurs = () => bus.publish('bench.durable', payload, { durable: true });
    const publishRaw = () =>
      js.publish('acp.v1.events.bench.raw', encodeEnvelope({ ...template, event_id: randomUUID() }), { msgID: randomUUID() });
    const loop = (fn: () => Promise<unknown>) =>
      closedLoop(fn, { concurrency: IN_FLIGHT, durationMs: counts.publishMs / 2, warmupMs: 200 }).then((r) => r.opsPerSec);
    const ours = { opsPerSec: 0 };
    const raw = { opsPerSec: 0 };
    for (let round = 0; round < 2; round++) {
      const first = round === 0 ? publishOurs : publishRaw;
      const a = await loop(first);
      const b = await loop(first === publishOurs ? publishRaw : publishOurs);
      ours.opsPerSec = Math.max(ours.opsPerSec, first === publishOurs ? a : b);
      raw.opsPerSec = Math.max(raw.opsPerSec, first === publishOurs ? b : a);
    }
    metrics.put('durable', 'pub.ops', ours.opsPerSec);
    metrics.put('durable.raw', 'pub.ops', raw.opsPerSec);
    log(`  durable publish: ours ${Math.round(ours.opsPerSec)}/s, raw js.publish ${Math.round(raw.opsPerSec)}/s (${IN_FLIGHT} in flight)`);

    // Backlogs of N on two subjects, then each side drains its own.
    const fill = async (type: string) => {
      let k = 0;
      await Promise.all(
        Array.from({ length: IN_FLIGHT }, async () => {
          while (k++ < counts.consume) await bus.publish(type, payload, { durable: true });
        }),
      );
    };
    await fill('bench.cq.ours');
    await fill('bench.cq.raw');

    let handled = 0;
    let start = performance.now();
    let oursDone!: () => void;
    const oursFinished = new Promise<void>((r) => (oursDone = r));
    const sub = bus.subscribe(
      'bench.cq.ours',
      () => {
        if (++handled === counts.consume) oursDone();
      },
      { durable: 'bench_ours', deliverFrom: 'beginning', concurrency: IN_FLIGHT },
    );
    await oursFinished;
    const oursConsume = counts.consume / ((performance.now() - start) / 1000);
    sub.unsubscribe();

    await jsm.consumers.add('ACP_EVENTS', {
      durable_name: 'bench_raw',
      ack_policy: AckPolicy.Explicit,
      filter_subject: 'acp.v1.events.bench.cq.raw',
      deliver_policy: DeliverPolicy.All,
      max_deliver: -1,
    });
    start = performance.now();
    const messages = await (await js.consumers.get('ACP_EVENTS', 'bench_raw')).consume({ max_messages: IN_FLIGHT });
    let rawHandled = 0;
    for await (const m of messages) {
      JSON.parse(m.string());
      m.ack();
      if (++rawHandled === counts.consume) break;
    }
    const rawConsume = counts.consume / ((performance.now() - start) / 1000);
    messages.stop();
    metrics.put('durable', 'consume.ops', oursConsume);
    metrics.put('durable.raw', 'consume.ops', rawConsume);
    log(`  durable consume of ${counts.consume}: ours ${Math.round(oursConsume)}/s, raw pull consumer ${Math.round(rawConsume)}/s`);
  } finally {
    await nc.close();
    await bus.close();
    await server.stop();
  }
}
