import type { BenchConfig } from '../config.js';
import { closedLoop, payloadOfSize } from '../lib/measure.js';
import type { Metrics } from '../lib/results.js';
import type { InvokeStack } from '../stacks/types.js';

/** In-process invoke throughput, `concurrency` in flight, against a direct async call. Metric: mem.ops, mem.cpu. */
export async function memorySuite(
  stacks: Map<string, InvokeStack>,
  cfg: BenchConfig,
  metrics: Metrics,
  run: number,
  log: (s: string) => void,
): Promise<void> {
  const payload = payloadOfSize(100);
  const entries = [...stacks.entries()];
  for (let i = 0; i < entries.length; i++) {
    const [key, s] = entries[(i + run) % entries.length];
    try {
      const r = await closedLoop(() => s.invoke(payload), {
        concurrency: cfg.concurrency,
        durationMs: cfg.memMs,
        warmupMs: Math.min(300, cfg.memMs / 2),
      });
      metrics.put(key, 'mem.ops', r.opsPerSec);
      metrics.put(key, 'mem.cpu', r.cpuUsPerOp);
      const one = await closedLoop(() => s.invoke(payload), { concurrency: 1, durationMs: Math.max(200, cfg.memMs / 2) });
      metrics.put(key, 'mem.seq.ops', one.opsPerSec);
      log(
        `  in-memory ${key.padEnd(14)} ${Math.round(r.opsPerSec)} ops/s  cpu ${r.cpuUsPerOp.toFixed(2)} µs/call; one at a time ${Math.round(one.opsPerSec)} ops/s`,
      );
    } catch (err) {
      metrics.notes.push(`in-memory ${key}: ${(err as Error).message}`);
    }
  }
}

export function directStack(): InvokeStack {
  const fn = async (p: unknown): Promise<unknown> => p;
  return { name: 'direct async call', invoke: (p) => fn(p), close: async () => {} };
}
