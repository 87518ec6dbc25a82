import type { BenchConfig } from '../config.js';
import { payloadOfSize } from '../lib/measure.js';
import type { Metrics } from '../lib/results.js';
import type { PubSubStack } from '../stacks/types.js';

/** Events per second received, one publisher and one subscriber connection, 100-byte JSON. Metric: pubsub. */
export async function pubsubSuite(
  stacks: Map<string, PubSubStack>,
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
      await s.run(Math.min(20_000, cfg.pubsubCount), 500, payload);
      const r = await s.run(cfg.pubsubCount, cfg.pubsubCapMs, payload);
      const rate = r.received / r.seconds;
      metrics.put(key, 'pubsub', rate);
      log(`  pubsub ${key.padEnd(14)} ${Math.round(rate)} events/s (${r.received} received)`);
    } catch (err) {
      metrics.notes.push(`pubsub ${key}: ${(err as Error).message}`);
    }
  }
}
