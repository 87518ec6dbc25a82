/**
 * Latency buckets of the per-target counters (`$SRV.STATS` endpoint `data.acp_latency`): four per doubling from
 * 1 µs, so a percentile read from them is within 19% of the real one, and 104 buckets reach 67 s (longer is the
 * last). Bucket 0 holds everything up to 1 µs.
 */
export const LATENCY_BUCKETS = 104;

/** The bucket of a handler time in ms: floor(4 · log2(µs)), clamped to 0…103. */
export function latencyBucket(ms: number): number {
  if (!(ms > 0.001)) return 0;
  const b = Math.floor(4 * Math.log2(ms * 1000));
  return b < LATENCY_BUCKETS ? b : LATENCY_BUCKETS - 1;
}

/** The largest handler time (ms) bucket `i` holds: its upper bound. */
export function latencyBucketUpperMs(i: number): number {
  return 2 ** ((i + 1) / 4) / 1000;
}
