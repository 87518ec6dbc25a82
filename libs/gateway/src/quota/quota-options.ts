/** What a quota counts: bus invokes, stream opens, task submissions (docs/security.md, "Quotas"). */
export type QuotaKind = 'invoke' | 'stream' | 'task';

export const QUOTA_KINDS: readonly QuotaKind[] = ['invoke', 'stream', 'task'];

/** A token bucket: `burst` requests at once, then `perSecond` a second on average. */
export interface QuotaRate {
  /** Requests a second, sustained (> 0; fractions allowed: 0.1 is one every 10 s). */
  perSecond: number;
  /** Requests at once after an idle while (≥ 1). Default: `perSecond` rounded up, at least 1. */
  burst?: number;
}

/** One rate per kind; a kind left out is not limited at that scope. */
export type QuotaRates = Partial<Record<QuotaKind, QuotaRate>>;

/**
 * The gateway's request quotas (off unless given). Each request of a kind takes a token from its identity's bucket
 * and from its tenant's; when either is empty the request is refused with 429 and `Retry-After`.
 *
 * @example
 * quotas: { identity: { invoke: { perSecond: 10, burst: 20 }, stream: { perSecond: 1, burst: 5 } }, tenant: { invoke: { perSecond: 200 } } }
 */
export interface GatewayQuotaOptions {
  /** Per authenticated identity (tenant, user and subject together); anonymous callers share one bucket. */
  identity?: QuotaRates;
  /** Per tenant of an authenticated identity (requests without one are only limited per identity). */
  tenant?: QuotaRates;
  /** The clock in ms (default `performance.now`): for tests that move time on rather than sleep. */
  now?: () => number;
}

/** A rate as the buckets use it. */
export interface ResolvedRate {
  readonly burst: number;
  readonly perMs: number;
  readonly perSecond: number;
}

export function resolveRate(where: string, r: QuotaRate | undefined): ResolvedRate | undefined {
  if (r === undefined) return undefined;
  if (typeof r !== 'object' || r === null || !(typeof r.perSecond === 'number' && r.perSecond > 0 && Number.isFinite(r.perSecond))) {
    throw new Error(`GatewayModule: quotas.${where}.perSecond must be a number above 0`);
  }
  const burst = r.burst ?? Math.max(1, Math.ceil(r.perSecond));
  if (!(typeof burst === 'number' && burst >= 1 && Number.isFinite(burst))) {
    throw new Error(`GatewayModule: quotas.${where}.burst must be a number of at least 1`);
  }
  return { burst, perMs: r.perSecond / 1000, perSecond: r.perSecond };
}
