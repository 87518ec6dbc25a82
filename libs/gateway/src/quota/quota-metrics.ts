import { metrics, type Attributes, type Counter, type ObservableCallback, type ObservableGauge } from '@opentelemetry/api';
import { QUOTA_KINDS, type QuotaKind } from './quota-options.js';
import type { QuotaLimiter, QuotaScope } from './quota-limiter.js';

/** Metric names of the gateway's quotas (docs/observability.md, docs/security.md "Quotas"). */
export const QuotaMetricNames = {
  allowed: 'acp.gateway.quota.allowed',
  refused: 'acp.gateway.quota.refused',
  buckets: 'acp.gateway.quota.buckets',
} as const;

/**
 * The quota counters through the OpenTelemetry metrics API (meter `openagentio-gateway`; no-ops without an SDK).
 * Attribute sets are made once per kind and scope, so counting a request allocates nothing.
 */
export class QuotaMetrics {
  private readonly allowed: Counter;
  private readonly refused: Counter;
  private readonly enabled: boolean;
  private readonly kindAttrs = new Map<QuotaKind, Attributes>();
  private readonly refusedAttrs = new Map<string, Attributes>();
  private gauge?: [ObservableGauge, ObservableCallback];

  constructor(limiter: QuotaLimiter) {
    // As the bus's metrics: instruments come from the provider registered when the gateway starts.
    this.enabled = metrics.getMeterProvider().constructor.name !== 'NoopMeterProvider';
    const meter = metrics.getMeter('openagentio-gateway');
    this.allowed = meter.createCounter(QuotaMetricNames.allowed, { description: 'Gateway requests a quota let through, by kind' });
    this.refused = meter.createCounter(QuotaMetricNames.refused, {
      description: 'Gateway requests refused with 429 by a quota, by kind and scope (identity or tenant)',
    });
    for (const kind of QUOTA_KINDS) {
      this.kindAttrs.set(kind, { 'acp.kind': kind });
      for (const scope of ['identity', 'tenant'] as const)
        this.refusedAttrs.set(`${scope}/${kind}`, { 'acp.kind': kind, 'acp.quota.scope': scope });
    }
    if (!this.enabled) return;
    const gauge = meter.createObservableGauge(QuotaMetricNames.buckets, { description: 'Token buckets held, by scope and kind' });
    const callback: ObservableCallback = (r) => {
      for (const s of limiter.sizes()) r.observe(s.size, this.refusedAttrs.get(`${s.scope}/${s.kind}`));
    };
    gauge.addCallback(callback);
    this.gauge = [gauge, callback];
  }

  recordAllowed(kind: QuotaKind): void {
    if (this.enabled) this.allowed.add(1, this.kindAttrs.get(kind));
  }

  recordRefused(kind: QuotaKind, scope: QuotaScope): void {
    if (this.enabled) this.refused.add(1, this.refusedAttrs.get(`${scope}/${kind}`));
  }

  /** Stops observing the buckets (the gateway is shutting down). */
  close(): void {
    if (this.gauge) this.gauge[0].removeCallback(this.gauge[1]);
    this.gauge = undefined;
  }
}
