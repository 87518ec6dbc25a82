/**
 * One token bucket: holds up to `burst` tokens, refills `perMs` tokens a millisecond. Refill is computed when the
 * bucket is read (no timers), so an idle bucket costs nothing but its entry.
 */
export class TokenBucket {
  constructor(
    public tokens: number,
    public at: number,
  ) {}

  /** Refills up to `now`; the tokens there are then. */
  refill(now: number, burst: number, perMs: number): number {
    if (now > this.at) {
      this.tokens = Math.min(burst, this.tokens + (now - this.at) * perMs);
      this.at = now;
    }
    return this.tokens;
  }

  /** Milliseconds until a whole token is there (0 when one is). Call after refill(). */
  waitMs(perMs: number): number {
    // Less a hair, so that float error (1 - 0.999) / 0.001 = 1.0000000000000009 does not round up a whole ms.
    return this.tokens >= 1 ? 0 : Math.max(1, Math.ceil((1 - this.tokens) / perMs - 1e-9));
  }
}
