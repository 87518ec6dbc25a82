import type { BenchConfig } from '../config.js';
import { median, nowUs, payloadOfSize, summarize, withTimeout } from '../lib/measure.js';
import type { Metrics } from '../lib/results.js';
import type { BusPair } from '../stacks/bus.js';
import type { NestNatsStack } from '../stacks/nest-nats.js';

/**
 * Deltas per second of one stream: the median of `streamSamples` streams one after another, each sized from a
 * warm-up rate to last about streamSeconds / streamSamples (one 2-second stream moved by ±20 % from run to run on
 * a shared machine; the median of three shorter ones moves less). `beforeMeasured` runs after the warm-up, right
 * before the measured streams (the split suite marks CPU there); `deltas` is how many the measured streams carried.
 */
export async function oneStreamRate(
  stream: (n: number) => Promise<number>,
  cfg: BenchConfig,
  beforeMeasured?: () => Promise<void>,
): Promise<{ rate: number; deltas: number }> {
  const warmN = cfg.quick ? 2000 : 5000;
  const w0 = nowUs();
  await withTimeout(stream(warmN), 30_000, 'stream warm-up');
  const warmRate = warmN / ((nowUs() - w0) / 1e6);
  const n = Math.max(1000, Math.min(cfg.streamMaxDeltas, Math.round((warmRate * cfg.streamSeconds) / cfg.streamSamples)));
  await beforeMeasured?.();
  const rates: number[] = [];
  let deltas = 0;
  for (let i = 0; i < cfg.streamSamples; i++) {
    const t0 = nowUs();
    const got = await withTimeout(stream(n), 60_000, 'one stream');
    rates.push(got / ((nowUs() - t0) / 1e6));
    deltas += got;
  }
  return { rate: median(rates), deltas };
}

/**
 * Streams through the bus (`key` = bus stack key): one stream's deltas/s (flow control on, default window),
 * `streamsConcurrent` concurrent streams' total deltas/s, time to first delta interleaved with invokes on the same
 * pair, and cancel latency (abort() on the caller → the handler's AbortSignal). Peer: Nest built-in NATS
 * streaming an Observable (no flow control).
 */
export async function streamSuite(
  key: string,
  pair: BusPair,
  nest: NestNatsStack | undefined,
  cfg: BenchConfig,
  metrics: Metrics,
  log: (s: string) => void,
): Promise<void> {
  const rate1 = (await oneStreamRate((n) => pair.stream(n), cfg)).rate;
  metrics.put(key, 'stream1', rate1);
  log(`  stream ${key.padEnd(10)} one stream ${Math.round(rate1)} deltas/s`);
  if (nest) {
    try {
      const nestRate = (await oneStreamRate((n) => nest.stream(n), cfg)).rate;
      metrics.put('nest', 'stream1', nestRate);
      log(`  stream nest       one stream ${Math.round(nestRate)} deltas/s`);
    } catch (err) {
      metrics.notes.push(`nest stream: ${(err as Error).message}`);
    }
  }

  // Concurrent streams: per-stream count sized so that the whole batch takes about streamSeconds at rate1.
  const k = cfg.streamsConcurrent;
  const per = Math.max(50, Math.min(5000, Math.round((rate1 * cfg.streamSeconds) / k)));
  await withTimeout(Promise.all(Array.from({ length: k }, () => pair.stream(Math.min(per, 50)))), 30_000, 'concurrent warm-up');
  const t0 = nowUs();
  const counts = await withTimeout(Promise.all(Array.from({ length: k }, () => pair.stream(per))), 60_000, `${k} streams`);
  const total = counts.reduce((a, b) => a + b, 0);
  const rateK = total / ((nowUs() - t0) / 1e6);
  metrics.put(key, `stream${k}`, rateK);
  log(`  stream ${key.padEnd(10)} ${k} streams ${Math.round(rateK)} deltas/s total`);

  // Time to first delta vs an invoke, alternating one of each so both see the same conditions.
  const payload = payloadOfSize(100);
  const ttfd: number[] = [];
  const ttfdDeferred: number[] = [];
  const inv: number[] = [];
  for (let i = 0; i < Math.min(50, cfg.ttfdSamples); i++) {
    await pair.timeToFirstDelta();
    await pair.timeToFirstDelta(true);
    await pair.client.invoke('bench.echo', payload);
  }
  for (let i = 0; i < cfg.ttfdSamples; i++) {
    ttfd.push(await withTimeout(pair.timeToFirstDelta(), 10_000, 'ttfd'));
    ttfdDeferred.push(await withTimeout(pair.timeToFirstDelta(true), 10_000, 'ttfd (deferStarted)'));
    const s = nowUs();
    await pair.client.invoke('bench.echo', payload);
    inv.push(nowUs() - s);
  }
  const t = summarize(ttfd);
  const td = summarize(ttfdDeferred);
  const iv = summarize(inv);
  metrics.put(key, 'ttfd.p50', t.p50);
  metrics.put(key, 'ttfd.p99', t.p99);
  metrics.put(key, 'ttfd.deferred.p50', td.p50);
  metrics.put(key, 'ttfd.invoke.p50', iv.p50);
  metrics.put(key, 'ttfd.ratio', t.p50 / iv.p50);
  metrics.put(key, 'ttfd.deferred.ratio', td.p50 / iv.p50);
  log(
    `  stream ${key.padEnd(10)} time to first delta p50 ${t.p50.toFixed(0)} µs, with deferStarted ${td.p50.toFixed(0)} µs (invoke p50 ${iv.p50.toFixed(0)} µs)`,
  );

  const cancel: number[] = [];
  for (let i = 0; i < cfg.cancelSamples; i++) cancel.push(await pair.cancelLatency());
  const c = summarize(cancel);
  metrics.put(key, 'cancel.p50', c.p50);
  metrics.put(key, 'cancel.p99', c.p99);
  log(`  stream ${key.padEnd(10)} cancel latency p50 ${c.p50.toFixed(0)} µs p99 ${c.p99.toFixed(0)} µs`);
}
