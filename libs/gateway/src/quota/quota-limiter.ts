import { TokenBucket } from './token-bucket.js';
import { QUOTA_KINDS, resolveRate, type GatewayQuotaOptions, type QuotaKind, type ResolvedRate } from './quota-options.js';

export type QuotaScope = 'identity' | 'tenant';

/** Why a request was refused: the scope whose bucket was empty (the longer wait when both were), and for how long. */
export interface QuotaRefusal {
  readonly scope: QuotaScope;
  readonly kind: QuotaKind;
  readonly rate: ResolvedRate;
  readonly retryAfterMs: number;
}

/** Buckets are swept of full ones (the same as absent) when the map reaches this size, then at twice what is left. */
const SWEEP_FLOOR = 1024;

/** The buckets of one scope and kind, by key. */
class BucketSet {
  readonly buckets = new Map<string, TokenBucket>();
  private sweepAt = SWEEP_FLOOR;

  constructor(readonly rate: ResolvedRate) {}

  /** The key's bucket, refilled to `now` (a new one is full). */
  get(key: string, now: number): TokenBucket {
    let b = this.buckets.get(key);
    if (b) {
      b.refill(now, this.rate.burst, this.rate.perMs);
      return b;
    }
    if (this.buckets.size >= this.sweepAt) this.sweep(now);
    b = new TokenBucket(this.rate.burst, now);
    this.buckets.set(key, b);
    return b;
  }

  /** Drops full buckets, so memory follows the callers active within one refill time, not all callers ever seen. */
  private sweep(now: number): void {
    const { burst, perMs } = this.rate;
    for (const [key, b] of this.buckets) if (b.refill(now, burst, perMs) >= burst) this.buckets.delete(key);
    this.sweepAt = Math.max(SWEEP_FLOOR, this.buckets.size * 2);
  }
}

/**
 * Token buckets per identity and per tenant, one set per kind. A request takes a token from both of its buckets or
 * from neither: a refusal by the tenant's bucket does not drain the identity's, and the other way round.
 */
export class QuotaLimiter {
  private readonly sets: Record<QuotaScope, Partial<Record<QuotaKind, BucketSet>>> = { identity: {}, tenant: {} };

  constructor(options: GatewayQuotaOptions) {
    for (const scope of ['identity', 'tenant'] as const) {
      const rates = options[scope] ?? {};
      for (const key of Object.keys(rates)) {
        if (!QUOTA_KINDS.includes(key as QuotaKind)) {
          throw new Error(`GatewayModule: quotas.${scope} has "${key}"; the kinds are ${QUOTA_KINDS.join(', ')}`);
        }
      }
      for (const kind of QUOTA_KINDS) {
        const rate = resolveRate(`${scope}.${kind}`, rates[kind]);
        if (rate) this.sets[scope][kind] = new BucketSet(rate);
      }
    }
  }

  /** Whether any kind is limited at all. */
  get limits(): boolean {
    return QUOTA_KINDS.some((k) => this.sets.identity[k] !== undefined || this.sets.tenant[k] !== undefined);
  }

  /** Takes one token for `kind`, or says why not. `tenant` undefined: no tenant bucket applies. */
  take(kind: QuotaKind, identity: string, tenant: string | undefined, now: number): QuotaRefusal | undefined {
    const ids = this.sets.identity[kind];
    const tenants = tenant === undefined ? undefined : this.sets.tenant[kind];
    const a = ids?.get(identity, now);
    const b = tenants?.get(tenant!, now);
    const waitA = a ? a.waitMs(ids!.rate.perMs) : 0;
    const waitB = b ? b.waitMs(tenants!.rate.perMs) : 0;
    if (waitA === 0 && waitB === 0) {
      if (a) a.tokens -= 1;
      if (b) b.tokens -= 1;
      return undefined;
    }
    return waitA >= waitB
      ? { scope: 'identity', kind, rate: ids!.rate, retryAfterMs: waitA }
      : { scope: 'tenant', kind, rate: tenants!.rate, retryAfterMs: waitB };
  }

  /** Buckets held now, per scope and kind (for the buckets gauge). */
  sizes(): Array<{ scope: QuotaScope; kind: QuotaKind; size: number }> {
    const out: Array<{ scope: QuotaScope; kind: QuotaKind; size: number }> = [];
    for (const scope of ['identity', 'tenant'] as const)
      for (const kind of QUOTA_KINDS) {
        const set = this.sets[scope][kind];
        if (set) out.push({ scope, kind, size: set.buckets.size });
      }
    return out;
  }
}
