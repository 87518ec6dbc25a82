/**
 * Scale probe, run in its own process by bench/run.js (`node --expose-gc dist/bench/scale-child.js memory|<nats url> <n>`):
 * opens n concurrent streams (each handler has sent one delta and waits for cancellation; the caller has read it),
 * and prints JSON with the RSS and heap growth per stream. Both ends live in this process, so the figure covers
 * the caller and the responder of each stream.
 */
import { BusPair, memoryTransports, natsTransports, HOLD } from './stacks/bus.js';
import { EventTypes } from '@openagentio/nestjs';
import { sleep, withTimeout } from './lib/measure.js';

const [, , where = 'memory', nArg = '10000'] = process.argv;
const n = Number(nArg);
const gc = (globalThis as { gc?: () => void }).gc;

async function settle(): Promise<{ rss: number; heap: number; external: number }> {
  for (let i = 0; i < 3; i++) {
    gc?.();
    await sleep(50);
  }
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed, external: m.external + m.arrayBuffers };
}

async function open(pair: BusPair, count: number, controllers: AbortController[]): Promise<void> {
  const batch = 500;
  for (let i = 0; i < count; i += batch) {
    await Promise.all(
      Array.from({ length: Math.min(batch, count - i) }, async () => {
        const ac = new AbortController();
        controllers.push(ac);
        const it = pair.client.stream(HOLD, {}, { signal: ac.signal })[Symbol.asyncIterator]();
        for (;;) {
          const r = await it.next();
          if (r.done) throw new Error('hold stream ended early');
          if (r.value.event_type === EventTypes.DELTA) return;
        }
      }),
    );
  }
}

async function main(): Promise<void> {
  const make = where === 'memory' ? memoryTransports() : await natsTransports(where);
  if (!make) throw new Error('NATS transport not available');
  // Own subject prefix: the parent bench process serves the same targets on the same server.
  const pair = await BusPair.create(where === 'memory' ? 'memory' : 'nats', make, { subjectPrefix: `bench.scale${process.pid}` });
  try {
    // Warm-up: the same code paths once, so that compiled code and pools are not counted as per-stream memory.
    const warm: AbortController[] = [];
    await withTimeout(open(pair, 500, warm), 30_000, 'warm-up');
    for (const ac of warm) ac.abort();
    const until = Date.now() + 10_000;
    while (pair.holdOpen > 0 && Date.now() < until) await sleep(10);
    pair.holdAbortReasons.clear();
    const before = await settle();
    const controllers: AbortController[] = [];
    const t0 = Date.now();
    await withTimeout(open(pair, n, controllers), 120_000, `opening ${n} streams`);
    const openMs = Date.now() - t0;
    const after = await settle();
    const openCount = pair.holdOpen;
    const abortedBeforeCancel = Object.fromEntries(pair.holdAbortReasons);
    for (const ac of controllers) ac.abort();
    const until2 = Date.now() + 20_000;
    while (pair.holdOpen > 0 && Date.now() < until2) await sleep(10);
    const result = {
      where: where === 'memory' ? 'memory' : 'nats',
      streams: n,
      openAtMeasure: openCount,
      openMs,
      rssBeforeMB: before.rss / 2 ** 20,
      rssAfterMB: after.rss / 2 ** 20,
      rssPerStreamKB: (after.rss - before.rss) / n / 1024,
      heapPerStreamKB: (after.heap - before.heap) / n / 1024,
      externalPerStreamKB: (after.external - before.external) / n / 1024,
      leftOpenAfterCancel: pair.holdOpen,
      abortedBeforeCancel,
      stats: { client: pair.client.stats, server: pair.server.stats },
      gc: !!gc,
    };
    process.stdout.write(`SCALE ${JSON.stringify(result)}\n`);
  } finally {
    await pair.close();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`scale-child failed: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
