import { latencyBucketUpperMs } from '@openagentio/nestjs/internal/discovery/latency-buckets.js';

/** What one target did in one sweep: differences of its counters, summed over its instances. */
export interface TrafficTick {
  /** When the sweep ended (ms since the epoch). */
  at: number;
  /** The sweep's length in ms (the time between this sweep and the one before). */
  ms: number;
  requests: number;
  errors: number;
  /** Timed requests per latency bucket. */
  latency: Map<number, number>;
}

/** One point of a target's series, as the page draws it. */
export interface TrafficPoint {
  at: number;
  rate: number;
  error_rate: number;
  p50?: number;
  p99?: number;
}

/** The percentile `q` (0…1) of a bucket histogram, as the bucket's upper bound in ms; undefined when empty. */
export function percentile(latency: Map<number, number>, q: number): number | undefined {
  let total = 0;
  for (const n of latency.values()) total += n;
  if (total === 0) return undefined;
  const want = Math.max(1, Math.ceil(total * q));
  let seen = 0;
  for (const b of [...latency.keys()].sort((x, y) => x - y)) {
    seen += latency.get(b)!;
    if (seen >= want) return latencyBucketUpperMs(b);
  }
  return undefined;
}

/** A target's last ticks, as many as fit in the window (bounded by windowMs / refreshMs). */
export class TrafficWindow {
  private readonly ticks: TrafficTick[] = [];

  constructor(private readonly max: number) {}

  push(t: TrafficTick): void {
    this.ticks.push(t);
    if (this.ticks.length > this.max) this.ticks.shift();
  }

  /**
   * Calls/s, error rate and p50/p99 over the ticks of the last `ms`; `collecting` is how long the console has been
   * sweeping (the rate of a target seen for the first time is still over the whole past it could have been seen).
   */
  summary(now: number, ms: number, collecting: number): TrafficPoint & { requests: number } {
    let requests = 0;
    let errors = 0;
    const span = Math.min(ms, collecting);
    const latency = new Map<number, number>();
    for (const t of this.ticks) {
      if (t.at <= now - ms) continue;
      requests += t.requests;
      errors += t.errors;
      for (const [b, n] of t.latency) latency.set(b, (latency.get(b) ?? 0) + n);
    }
    return {
      at: now,
      requests,
      rate: span > 0 ? (requests * 1000) / span : 0,
      error_rate: requests > 0 ? errors / requests : 0,
      p50: percentile(latency, 0.5),
      p99: percentile(latency, 0.99),
    };
  }

  /**
   * The window as at most `points` points (consecutive ticks merged), none when nothing was called in it: what
   * every snapshot carries per target, so its size does not grow with the window or the sweep rate.
   */
  series(points = 60): TrafficPoint[] {
    if (this.empty) return [];
    const per = Math.ceil(this.ticks.length / points);
    const out: TrafficPoint[] = [];
    for (let i = 0; i < this.ticks.length; i += per) {
      let requests = 0;
      let errors = 0;
      let ms = 0;
      const latency = new Map<number, number>();
      const group = this.ticks.slice(i, i + per);
      for (const t of group) {
        requests += t.requests;
        errors += t.errors;
        ms += t.ms;
        for (const [b, n] of t.latency) latency.set(b, (latency.get(b) ?? 0) + n);
      }
      out.push({
        at: group[group.length - 1].at,
        rate: ms > 0 ? (requests * 1000) / ms : 0,
        error_rate: requests > 0 ? errors / requests : 0,
        p50: percentile(latency, 0.5),
        p99: percentile(latency, 0.99),
      });
    }
    return out;
  }

  get empty(): boolean {
    return this.ticks.every((t) => t.requests === 0);
  }
}
