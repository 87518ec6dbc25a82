/** The exponential part of a backoff: `initial · factor^step`, capped at `max` (all in ms). */
export interface BackoffCurve {
  initial: number;
  factor: number;
  max: number;
}

/**
 * The one backoff formula of both packages (bus retries, bridge restarts, upstream retries): the capped
 * exponential delay of `step` (0 = the first wait), scaled by a random factor between `spread[0]` and `spread[1]`
 * so that many waiters do not retry in step.
 */
export function backoffDelay(
  step: number,
  curve: BackoffCurve,
  spread: readonly [low: number, high: number],
  random: () => number = Math.random,
): number {
  const base = Math.min(curve.max, curve.initial * Math.pow(curve.factor, Math.max(0, step)));
  return Math.round(base * (spread[0] + random() * (spread[1] - spread[0])));
}
