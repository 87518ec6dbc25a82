import type { BenchConfig } from '../config.js';
import { closedLoop, payloadOfSize, sequential, summarize } from '../lib/measure.js';
import type { Metrics } from '../lib/results.js';
import type { InvokeStack } from '../stacks/types.js';

/**
 * Request/reply, 100-byte JSON, every stack in this process: sequential latency interleaved block by block
 * (so host noise hits every stack alike), then `concurrency` closed-loop workers per stack, also interleaved in
 * `concRounds` blocks, with CPU per call.
 * Metrics per stack key: seq.p50, seq.p99, conc.ops, conc.cpu, conc.p50, conc.p99.
 */
export async function invokeSuite(
  stacks: Map<string, InvokeStack>,
  cfg: BenchConfig,
  metrics: Metrics,
  run: number,
  log: (s: string) => void,
): Promise<void> {
  const payload = payloadOfSize(100);
  const entries = [...stacks.entries()];
  const live = new Set(entries.map(([k]) => k));
  for (const [key, s] of entries) {
    try {
      await sequential(() => s.invoke(payload), cfg.seqWarmup, 5000);
    } catch (err) {
      live.delete(key);
      metrics.notes.push(`invoke ${key}: failed in warm-up: ${(err as Error).message}`);
    }
  }
  const samples = new Map<string, number[]>(entries.map(([k]) => [k, []]));
  for (let r = 0; r < cfg.seqRounds; r++) {
    for (let i = 0; i < entries.length; i++) {
      const [key, s] = entries[(i + run + r) % entries.length];
      if (!live.has(key)) continue;
      try {
        await sequential(() => s.invoke(payload), cfg.seqBlock, cfg.seqBlockCapMs, samples.get(key));
      } catch (err) {
        live.delete(key);
        metrics.notes.push(`invoke ${key}: sequential failed: ${(err as Error).message}`);
      }
    }
  }
  for (const [key] of entries) {
    const s = samples.get(key)!;
    if (!live.has(key) || s.length === 0) continue;
    const sum = summarize(s);
    metrics.put(key, 'seq.p50', sum.p50);
    metrics.put(key, 'seq.p99', sum.p99);
    log(`  invoke seq   ${key.padEnd(14)} p50 ${sum.p50.toFixed(0)} µs  p99 ${sum.p99.toFixed(0)} µs  (n=${sum.n})`);
  }
  // 64 in flight: each stack warmed up, then every stack's time cut into blocks interleaved round by round (the
  // order rotating), like the sequential figures: one 3-second stretch per stack let a drift of the shared host
  // between stretches move the ratios by 10-15 %.
  const conc = new Map<string, { ops: number; seconds: number; cpuUs: number; samples: number[] }>();
  for (const [key, s] of entries) {
    if (!live.has(key)) continue;
    try {
      await closedLoop(() => s.invoke(payload), { concurrency: cfg.concurrency, durationMs: cfg.concWarmupMs });
      conc.set(key, { ops: 0, seconds: 0, cpuUs: 0, samples: [] });
    } catch (err) {
      live.delete(key);
      metrics.notes.push(`invoke ${key}: ${cfg.concurrency}-in-flight warm-up failed: ${(err as Error).message}`);
    }
  }
  const blockMs = cfg.concMs / cfg.concRounds;
  for (let r = 0; r < cfg.concRounds; r++) {
    for (let i = 0; i < entries.length; i++) {
      const [key, s] = entries[(i + run + r) % entries.length];
      const acc = conc.get(key);
      if (!acc || !live.has(key)) continue;
      try {
        const res = await closedLoop(() => s.invoke(payload), { concurrency: cfg.concurrency, durationMs: blockMs, samples: acc.samples });
        acc.ops += res.ops;
        acc.seconds += res.seconds;
        acc.cpuUs += res.cpuUsPerOp * res.ops;
      } catch (err) {
        live.delete(key);
        metrics.notes.push(`invoke ${key}: ${cfg.concurrency}-in-flight failed: ${(err as Error).message}`);
      }
    }
  }
  for (const [key, acc] of conc) {
    if (!live.has(key) || acc.ops === 0) continue;
    const lat = summarize(acc.samples);
    const opsPerSec = acc.ops / acc.seconds;
    const cpu = acc.cpuUs / acc.ops;
    metrics.put(key, 'conc.ops', opsPerSec);
    metrics.put(key, 'conc.cpu', cpu);
    metrics.put(key, 'conc.p50', lat.p50);
    metrics.put(key, 'conc.p99', lat.p99);
    log(
      `  invoke ${cfg.concurrency}-in-flight ${key.padEnd(14)} ${Math.round(opsPerSec)} ops/s  cpu ${cpu.toFixed(1)} µs/call  p50 ${lat.p50.toFixed(0)} µs`,
    );
  }
}

/**
 * Invoke at one payload size: sequential p50/p99 (stacks interleaved in 5 blocks each, like the 100 B figures)
 * and `concurrency` in flight ops/s. Metrics: size.<label>.{p50,p99,ops}.
 */
export async function payloadSuite(
  stacks: Map<string, InvokeStack>,
  size: BenchConfig['payload'][number],
  metrics: Metrics,
  run: number,
  log: (s: string) => void,
): Promise<void> {
  const payload = payloadOfSize(size.bytes);
  const entries = [...stacks.entries()];
  const tag = `size.${size.label}`;
  const live = new Set<string>();
  for (const [key, s] of entries) {
    try {
      await sequential(() => s.invoke(payload), Math.max(2, Math.ceil(size.seq / 10)), size.capMs);
      live.add(key);
    } catch (err) {
      metrics.notes.push(`payload ${size.label} ${key}: ${(err as Error).message}`);
      log(`  payload ${size.label.padEnd(6)} ${key.padEnd(14)} FAILED: ${(err as Error).message}`);
    }
  }
  const blocks = 5;
  const samples = new Map<string, number[]>(entries.map(([k]) => [k, []]));
  for (let b = 0; b < blocks; b++) {
    for (let i = 0; i < entries.length; i++) {
      const [key, s] = entries[(i + run + b) % entries.length];
      if (!live.has(key)) continue;
      try {
        await sequential(() => s.invoke(payload), Math.ceil(size.seq / blocks), size.capMs / blocks, samples.get(key));
      } catch (err) {
        live.delete(key);
        metrics.notes.push(`payload ${size.label} ${key}: ${(err as Error).message}`);
      }
    }
  }
  for (let i = 0; i < entries.length; i++) {
    const [key, s] = entries[(i + run) % entries.length];
    if (!live.has(key)) continue;
    try {
      const sum = summarize(samples.get(key)!);
      const res = await closedLoop(() => s.invoke(payload), {
        concurrency: size.concurrency,
        durationMs: size.concMs,
        warmupMs: Math.min(300, size.concMs / 2),
      });
      metrics.put(key, `${tag}.p50`, sum.p50);
      metrics.put(key, `${tag}.p99`, sum.p99);
      metrics.put(key, `${tag}.ops`, res.opsPerSec);
      log(
        `  payload ${size.label.padEnd(6)} ${key.padEnd(14)} seq p50 ${sum.p50.toFixed(0)} µs (n=${sum.n})  ${size.concurrency}-in-flight ${Math.round(res.opsPerSec)} ops/s`,
      );
    } catch (err) {
      metrics.notes.push(`payload ${size.label} ${key}: ${(err as Error).message}`);
      log(`  payload ${size.label.padEnd(6)} ${key.padEnd(14)} FAILED: ${(err as Error).message}`);
    }
  }
}
